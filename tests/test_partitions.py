"""A large year's sweep and evaluation run split into RQ jobs by project range (PERFTRACK_PARTITION_PROJECTS),
taken by several real worker processes, one of them killed mid-part: the result is the one-process result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from rq.job import Job
from rq.registry import FinishedJobRegistry, StartedJobRegistry
from sqlalchemy import select

from service.clock import clock
from service.db import make_engine, session_scope
from service.domain.vocabulary import RunState
from service.evaluation import execute_run, start_run
from service.models import EvaluationRun, IndicatorResult, IndicatorStatusRow, ProjectResult
from service.monitoring import sweep
from service.partitions import EVALUATION, SWEEP, id_ranges, parts_done, sweep_run_of
from service.queueing import connection, enqueue, queue, safe_id
from service.synth import synthesize
from workers import jobs
from workers.queues import make_worker

from .conftest import ROOT, sqlite_write_lock

pytestmark = pytest.mark.processes  # Redis and worker processes

TODAY = date(2030, 12, 20)


def test_id_ranges_cover_every_id_once_in_order():
    assert id_ranges([9, 3, 4, 7, 10], 2) == [(3, 4), (7, 9), (10, 10)]
    assert id_ranges(list(range(1, 7)), 3) == [(1, 3), (4, 6)]
    assert id_ranges([], 5) == []


@pytest.fixture
def large_year(worker_env, seeded_url, monkeypatch):
    """2030: 2,100 projects (14,700 indicators) in parts of 500; workers and this process on the same day."""
    for key, value in {"PERFTRACK_PARTITION_PROJECTS": "500", "PERFTRACK_TODAY": TODAY.isoformat()}.items():
        monkeypatch.setenv(key, value)
        worker_env[key] = value
    jobs.reset()
    clock.set_today(TODAY)
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        synthesize(session, 2030, 14_700, divisions=10)
    yield engine
    engine.dispose()


def _workers(count: int, burst: bool = True) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker", *(["--burst"] if burst else [])],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def _wait(condition, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _results(session, run_id: int) -> tuple[list, list]:
    projects = session.execute(
        select(
            ProjectResult.project_id,
            ProjectResult.total,
            ProjectResult.grade,
            ProjectResult.budget,
            ProjectResult.findings,
            ProjectResult.source,
        )
        .where(ProjectResult.run_id == run_id)
        .order_by(ProjectResult.project_id)
    ).all()
    indicators = session.execute(
        select(
            IndicatorResult.indicator_id,
            IndicatorResult.project_id,
            IndicatorResult.target,
            IndicatorResult.actual,
            IndicatorResult.score,
            IndicatorResult.basis,
            IndicatorResult.division_note,
        )
        .where(IndicatorResult.run_id == run_id)
        .order_by(IndicatorResult.indicator_id)
    ).all()
    return [tuple(p) for p in projects], [tuple(i) for i in indicators]


def test_a_split_evaluation_run_with_a_killed_worker_equals_the_one_process_run(large_year, worker_env):
    url = worker_env["REDIS_URL"]
    with session_scope(large_year) as session:
        run_id = start_run(session, 2030, "test").id
        enqueue(url, session, "workers.jobs.evaluation_run", run_id, job_id=safe_id("evaluation-run", run_id))
    first = _workers(1, burst=False)[0]
    _wait(lambda: _parts_of(large_year, run_id) == 5)  # the parent has stored the split; it only enqueues now
    # Every part now waits at its first write, so the part the worker starts is killed in its middle however
    # fast parts have become (a fixed pause once let it finish first).
    with sqlite_write_lock(large_year):
        part_id = safe_id("evaluation-part", run_id, _first_project(large_year))
        _wait(lambda: Job.exists(part_id, connection=connection(url)))  # the parent enqueued the parts
        part = Job.fetch(part_id, connection=connection(url))
        _wait(lambda: part.get_status(refresh=True) == "started")
        time.sleep(0.2)  # reading, or waiting to write: in the middle either way
        assert part.get_status(refresh=True) == "started"
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its work horse, in the middle of a part
        first.wait()
    with session_scope(large_year) as session:
        run = session.get(EvaluationRun, run_id)
        assert run.state == RunState.RUNNING and run.total == 2100 and run.progress < 2100 and run.parts == 5
        assert parts_done(session, EVALUATION, [run_id]).get(run_id, 0) < 5
    StartedJobRegistry(queue=queue(url)).cleanup(timestamp=time.time() + 3600)  # what RQ does once it expires
    assert part.get_status(refresh=True) in ("queued", "scheduled")

    workers = _workers(2)  # any number of workers take the parts left
    for worker in workers:
        assert worker.wait(timeout=300) == 0
    finished = FinishedJobRegistry(queue=queue(url)).get_job_ids()
    assert sum(job_id.startswith(f"evaluation-part-{run_id}-") for job_id in finished) == 5  # 2,100 in 500s
    assert safe_id("evaluation-finish", run_id) in finished

    with session_scope(large_year) as session:
        run = session.get(EvaluationRun, run_id)
        assert (run.state, run.progress, run.total, run.parts) == (RunState.DONE, 2100, 2100, 5)
        assert parts_done(session, EVALUATION, [run_id]) == {run_id: 5}  # the killed part counted once
        split = _results(session, run_id)
        single = execute_run(session, start_run(session, 2030, "test"))  # one process, same data and day
        assert single.as_of == run.as_of
        assert split == _results(session, single.id)
        assert len(split[0]) == 2100 and len(split[1]) == 14_700


def _parts_of(engine, run_id: int) -> int | None:
    with session_scope(engine) as session:
        return session.get(EvaluationRun, run_id).parts


def _first_project(engine) -> int:
    return _range_of(engine, 0)[0]


def _statuses(session) -> list[tuple]:
    return [
        tuple(row)
        for row in session.execute(
            select(
                IndicatorStatusRow.indicator_id,
                IndicatorStatusRow.status,
                IndicatorStatusRow.expected,
                IndicatorStatusRow.value,
                IndicatorStatusRow.projection,
                IndicatorStatusRow.likelihood,
            )
            .where(IndicatorStatusRow.as_of == TODAY)
            .order_by(IndicatorStatusRow.indicator_id)
        ).all()
    ]


def test_a_split_sweep_equals_the_one_process_sweep(large_year, worker_env):
    url = worker_env["REDIS_URL"]
    with session_scope(large_year) as session:
        sweep(session, 2030, TODAY)
        single = _statuses(session)
        session.execute(IndicatorStatusRow.__table__.delete())
    assert len(single) == 14_700
    queue(url).enqueue_call("workers.jobs.daily_sweep", args=(TODAY.isoformat(),), job_id="sweep-test")
    make_worker(url, forking=False).work(burst=True, logging_level="WARNING")
    finished = FinishedJobRegistry(queue=queue(url)).get_job_ids()
    assert sum(job_id.startswith("sweep-2030-") for job_id in finished) == 5
    done = Job.fetch(safe_id("sweep-done", 2030, TODAY), connection=connection(url))
    assert done.return_value() == 14_700
    with session_scope(large_year) as session:
        assert _statuses(session) == single


def test_a_split_sweep_records_its_parts_and_the_overview_shows_the_bar(large_year, worker_env, client):
    """The parent records the day's sweep in 5 parts; each part done is counted once (a part run again included)
    and the overview shows how many are done while it runs, then that it finished."""
    url = worker_env["REDIS_URL"]
    queue(url).enqueue_call("workers.jobs.daily_sweep", args=(TODAY.isoformat(),), job_id="sweep-test")
    make_worker(url, forking=False).work(burst=True, max_jobs=3, logging_level="WARNING")  # the parent, 2 parts
    with session_scope(large_year) as session:
        run = sweep_run_of(session, 2030, TODAY)
        assert (run.state, run.parts) == (RunState.RUNNING, 5)
        assert parts_done(session, SWEEP, [run.id]) == {run.id: 2}
    page = client.get("/overview?year=2030").get_data(as_text=True)
    assert "状态计算进行中（截至 2030-12-20）" in page
    assert '<progress max="5" value="2">' in page and "已完成 2/5 部分" in page

    first_part = safe_id("sweep", 2030, TODAY, _first_project(large_year))
    queue(url).enqueue_call(  # a part run again (as after a dead worker) is not counted twice
        "workers.jobs.sweep_part", args=(2030, TODAY.isoformat(), *_range_of(large_year, 0)), job_id=first_part
    )
    for worker in _workers(2):  # worker processes take the rest
        assert worker.wait(timeout=300) == 0
    with session_scope(large_year) as session:
        run = sweep_run_of(session, 2030, TODAY)
        assert (run.state, run.parts, run.indicators) == (RunState.DONE, 5, 14_700)
        assert parts_done(session, SWEEP, [run.id]) == {run.id: 5}
        split = _statuses(session)
        sweep(session, 2030, TODAY)  # one process, the same day: nothing differs
        assert _statuses(session) == split
    page = client.get("/overview?year=2030").get_data(as_text=True)
    assert "最近一次状态计算（截至 2030-12-20）已完成" in page
    assert '<progress max="5" value="5">' in page and "14700 项指标" in page


def test_a_sweep_in_one_process_is_recorded_in_one_part(worker_env, seeded_url):
    """A year below PERFTRACK_PARTITION_PROJECTS: the daily job sweeps it in one part, recorded done."""
    jobs.daily_sweep("2025-10-20")
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        run = sweep_run_of(session, 2025, date(2025, 10, 20))
        assert (run.state, run.parts, run.indicators) == (RunState.DONE, 1, 482)
        assert parts_done(session, SWEEP, [run.id]) == {run.id: 1}
    engine.dispose()


def _range_of(engine, index: int) -> tuple[int, int]:
    from service.partitions import project_ranges

    with session_scope(engine) as session:
        return project_ranges(session, 2030, 500)[index]
