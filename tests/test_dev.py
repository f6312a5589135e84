"""`perftrack dev` (what `make run` starts): web, an embedded Redis, a worker and the scheduler,
all stopped within two seconds on Ctrl-C or SIGTERM; the scheduler lets go of its lock on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import psutil
import pytest
from redis import Redis
from redis.exceptions import RedisError

from workers.schedule import LEADER_KEY

from .conftest import ROOT, _free_port

pytestmark = [pytest.mark.processes, pytest.mark.xdist_group("dev")]  # the runs share one instance
STOP_SECONDS = 2.0


@pytest.fixture(scope="module")
def dev_instance(tmp_path_factory):
    """One instance for both runs: the first loads the sample year and the demo, the second reuses them."""
    return tmp_path_factory.mktemp("dev") / "instance"


def _lines(stream) -> queue.Queue:
    """The process's output, line by line, read on a thread so waiting for a line can time out."""
    lines: queue.Queue = queue.Queue()

    def read():
        for line in stream:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, seen: list[str], *needles: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not all(any(needle in line for line in seen) for needle in needles):
        try:
            seen.append(lines.get(timeout=max(deadline - time.monotonic(), 0.01)))
        except queue.Empty:
            raise AssertionError(f"waited for {needles}; output so far:\n{''.join(seen)}") from None


def _still_running(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of PROCESSES still running after TIMEOUT seconds; one that has exited but is not reaped
    yet (a zombie, until its parent or init collects it) has stopped."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_dev_starts_every_role_and_stops_them_within_two_seconds(dev_instance, stop):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PERFTRACK_TODAY")}
    env["PERFTRACK_INSTANCE"] = str(dev_instance)
    # Its own session and process group, like a job in a terminal: Ctrl-C is SIGINT to the whole group.
    dev = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "dev", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    redis_url = None
    try:
        lines = _lines(dev.stdout)
        _wait_for(lines, seen, "后台：Redis")
        output = "".join(seen)
        assert f"perftrack 已启动：http://127.0.0.1:{port}/" in output and "caiwu" in output, output
        # Stopping is only worth timing once both roles are really up, not still importing.
        _wait_for(lines, seen, "*** Listening on", "scheduler leads (")
        for _ in range(100):
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).status == 200
                break
            except OSError:
                time.sleep(0.1)
        processes = [psutil.Process(dev.pid), *psutil.Process(dev.pid).children(recursive=True)]
        commands = [" ".join(p.cmdline()) for p in processes]
        assert any("service.cli worker" in c for c in commands) and any("service.cli scheduler" in c for c in commands)
        redis_url = "".join(seen).split("后台：Redis ")[1].split("，")[0]
        assert Redis.from_url(redis_url).ping()

        started = time.monotonic()
        if stop == "ctrl-c":
            os.killpg(dev.pid, signal.SIGINT)
        else:
            dev.send_signal(signal.SIGTERM)
        alive = _still_running(processes, timeout=STOP_SECONDS)
        elapsed = time.monotonic() - started
        assert alive == [], f"still running after {elapsed:.1f} s: {[commands[processes.index(p)] for p in alive]}"
        assert elapsed <= STOP_SECONDS
    finally:
        if dev.poll() is None:  # failed: leave nothing behind (the embedded Redis is not in the group)
            os.killpg(dev.pid, signal.SIGKILL)
            if redis_url:
                with contextlib.suppress(RedisError, OSError):
                    Redis.from_url(redis_url, retry=None).shutdown(nosave=True)
        dev.wait(timeout=30)
    try:
        Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        raise AssertionError("the embedded Redis is still running")
    except (RedisError, OSError):
        pass


def _scheduler(redis_url: str, tmp_path, **output) -> subprocess.Popen:
    """`perftrack scheduler` on REDIS_URL, its output as OUTPUT says (Popen's keywords)."""
    env = dict(os.environ, REDIS_URL=redis_url, PERFTRACK_INSTANCE=str(tmp_path / "instance"), SECRET_KEY="test")
    return subprocess.Popen([sys.executable, "-m", "service.cli", "scheduler"], cwd=ROOT, env=env, **output)


@pytest.mark.processes
def test_the_scheduler_releases_its_lock_on_sigterm(redis_url, tmp_path):
    """systemd and docker stop with SIGTERM: a restarted scheduler must not wait out the lock's TTL."""
    scheduler = _scheduler(redis_url, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        _wait_for(_lines(scheduler.stdout), seen, "scheduler leads (", timeout=60)
        assert Redis.from_url(redis_url).get(LEADER_KEY) is not None
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=STOP_SECONDS + 3) == 0
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
    assert Redis.from_url(redis_url).get(LEADER_KEY) is None


@pytest.mark.processes
def test_the_scheduler_releases_a_lock_it_has_only_just_taken(redis_url, tmp_path):
    """SIGTERM the instant the lock exists, before the scheduler is even built: still released."""
    redis = Redis.from_url(redis_url)
    scheduler = _scheduler(redis_url, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while redis.get(LEADER_KEY) is None:
            assert time.monotonic() < deadline, "the scheduler never took the lock"
            assert scheduler.poll() is None, "the scheduler exited before taking the lock"
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=STOP_SECONDS + 3) == 0
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
    assert redis.get(LEADER_KEY) is None
