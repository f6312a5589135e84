"""Faults: Redis down while a report is submitted; a worker killed in the middle of a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from rq.registry import StartedJobRegistry
from sqlmodel import func, select

from service.clock import clock
from service.db import make_engine, session_scope
from service.models import Alert, OutboxItem, ProjectStatusRow, Report, User
from service.queueing import queue
from service.reporting.reports import load_scope, save
from workers import jobs
from workers.queues import make_worker

from .conftest import ROOT, _free_port, embedded_redis, login, make_app, sqlite_write_lock
from .reporting_helpers import complete_rows

pytestmark = pytest.mark.processes  # Redis servers and worker processes


@pytest.fixture
def tcp_redis(tmp_path):
    """A real redis-server on a TCP port that the test can stop and start again (same URL)."""
    port = _free_port()
    config = {"port": str(port), "bind": "127.0.0.1"}
    state = {"server": embedded_redis(tmp_path / "redis.db", **config)}

    def stop():
        state["server"].shutdown()

    def start():
        state["server"] = embedded_redis(tmp_path / "redis.db", **config)

    yield f"redis://127.0.0.1:{port}/0", stop, start
    state["server"].shutdown()


def test_redis_down_while_submitting_keeps_the_wish_and_recomputes_when_back(
    seeded_url, tmp_path, tcp_redis, monkeypatch, tokens
):
    url, stop, start = tcp_redis
    clock.set_today(date(2025, 4, 8))
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        scope = load_scope(session, 2025, "XXH", 1)
        actuals, spend = complete_rows(scope, date(2025, 3, 31))
        save(session, scope, session.exec(select(User).where(User.username == "xxh")).one(), actuals, spend, "web")
    app = make_app(seeded_url, tmp_path / "instance", {"REDIS_URL": url}, WTF_CSRF_ENABLED=False)
    stop()
    page = login(app, "xxh").post("/reports/XXH/2025Q1/action", data={"action": "submit"}, follow_redirects=True)
    assert "已提交财务处审核" in page.get_data(as_text=True)
    with session_scope(engine) as session:
        assert session.exec(select(Report.state).where(Report.quarter == 1)).one() == "submitted"
        waiting = session.exec(select(OutboxItem).where(OutboxItem.enqueued_at.is_(None))).all()
        assert {item.function for item in waiting} == {"workers.jobs.recompute_project"} and len(waiting) == 8
    start()
    for key, value in {"DATABASE_URL": seeded_url, "REDIS_URL": url, "PERFTRACK_INSTANCE": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    jobs.reset()
    assert jobs.drain_outbox() == 8
    make_worker(url, forking=False).work(burst=True, logging_level="WARNING")
    with session_scope(engine) as session:
        assert (
            session.exec(
                select(func.count()).select_from(ProjectStatusRow).where(ProjectStatusRow.as_of == date(2025, 4, 8))
            ).one()
            == 8
        )
        assert session.exec(select(OutboxItem).where(OutboxItem.enqueued_at.is_(None))).all() == []
    app.extensions["perftrack.engine"].dispose()
    engine.dispose()
    jobs.reset()


def test_a_worker_killed_mid_job_is_rerun_without_duplicate_alerts(seeded_url, worker_env, tmp_path):
    from service.alerting import plan_day
    from service.synth import synthesize

    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        synthesize(session, 2030, 30_000, divisions=10)
        expected = len({spec.key for spec in plan_day(session, date(2030, 12, 15))})
    assert expected > 500
    url = worker_env["REDIS_URL"]
    job = queue(url).enqueue_call(
        "workers.jobs.scan_alerts", args=("2030-12-15",), job_id="scan-kill-test", retry=__import__("rq").Retry(max=2)
    )
    with sqlite_write_lock(engine):  # the job waits at its first write: killed in its middle, however fast
        worker = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker"],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while job.get_status(refresh=True) != "started" and time.time() < deadline:
            time.sleep(0.02)
        assert job.get_status() == "started"
        time.sleep(0.3)
        assert job.get_status(refresh=True) == "started"
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, mid-job
        worker.wait()
    with session_scope(engine) as session:
        before = session.exec(select(func.count()).select_from(Alert)).one()
    assert before < expected  # the job did not finish
    StartedJobRegistry(queue=queue(url)).cleanup(timestamp=time.time() + 3600)  # what RQ does once it expires
    assert job.get_status(refresh=True) in ("queued", "scheduled")
    make_worker(url, forking=False).work(burst=True, with_scheduler=True, logging_level="WARNING")
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Alert)).one() == expected
        assert session.exec(select(func.count(func.distinct(Alert.key)))).one() == expected
    jobs.scan_alerts("2030-12-15")  # and once more, for good measure
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Alert)).one() == expected
    engine.dispose()
