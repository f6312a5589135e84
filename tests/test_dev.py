"""`perftrack dev` (what `make run` starts): web, an embedded Redis, a worker and the scheduler,
all stopped on Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
from redis import Redis
from redis.exceptions import RedisError

from .conftest import ROOT, _free_port


def test_dev_starts_every_role_and_stops_them_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PERFTRACK_TODAY")}
    env["PERFTRACK_INSTANCE"] = str(tmp_path / "instance")
    dev = subprocess.Popen([sys.executable, "-m", "service.cli", "dev", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            line = dev.stdout.readline()
            lines.append(line)
            if "后台：Redis" in line:
                break
        output = "".join(lines)
        assert f"perftrack 已启动：http://127.0.0.1:{port}/" in output and "caiwu" in output, output
        for _ in range(100):
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).status == 200
                break
            except OSError:
                time.sleep(0.1)
        children = psutil.Process(dev.pid).children(recursive=True)
        commands = [" ".join(c.cmdline()) for c in children]
        assert any("service.cli worker" in c for c in commands) and any("service.cli scheduler" in c for c in commands)
        redis_url = output.split("后台：Redis ")[1].split("，")[0]
        assert Redis.from_url(redis_url).ping()
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(timeout=60)
    _gone, alive = psutil.wait_procs(children, timeout=20)
    assert alive == []
    try:
        Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        raise AssertionError("the embedded Redis is still running")
    except (RedisError, OSError):
        pass
