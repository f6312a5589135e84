"""Job functions.  Each takes ids or ISO dates, is idempotent, and logs with its job id."""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache

from rq import Retry, get_current_job
from rq.job import Dependency, Job
from sqlalchemy import func, select
from sqlmodel import col

from service.alerting import create_alerts, plan_day, raise_budget_digests, weekly_summary
from service.clock import clock
from service.db import make_engine, session_scope
from service.decision_error import DecisionError
from service.domain.vocabulary import RunState
from service.evaluation import (
    discard_partial,
    finish_parts,
    prepare_run,
    record_failure,
    run_of_part,
    score_part,
    score_run,
)
from service.models import EvaluationRun, FiscalYear, IndicatorStatusRow, Project
from service.monitoring import lagging_alerts, sweep
from service.monitoring import recompute_project as recompute
from service.notify import deliver as deliver_notification
from service.notify import retry_due, send_digests
from service.partitions import (
    EVALUATION,
    SWEEP,
    fail_sweep_run,
    finish_sweep_run,
    forget_parts,
    id_ranges,
    project_ranges,
    projects_in_range,
    record_part,
    start_sweep_run,
    stored_id,
    sweep_run_of,
)
from service.queueing import drain_outbox as drain
from service.queueing import enqueue, queue, safe_id
from service.settings import load_settings

log = logging.getLogger("perftrack.jobs")
PART_RETRY = Retry(max=3)  # a part whose worker died or that failed runs again at once


@lru_cache(maxsize=1)
def _settings():
    return load_settings()  # the worker process configured the clock at start


@lru_cache(maxsize=1)
def _engine():
    return make_engine(_settings().database_url, pooled=False)


def _day(as_of: str | None) -> date:
    return date.fromisoformat(as_of) if as_of else clock.today()


def _job_id() -> str:
    job = get_current_job()
    return job.id if job else "inline"


def _fan_out(session, notification_ids: list[int]) -> None:
    for notification_id in notification_ids:
        enqueue(
            _settings().redis_url,
            session,
            "workers.jobs.deliver",
            notification_id,
            job_id=safe_id("deliver", notification_id),
            queue_name="notify",
        )


def recompute_project(project_id: int, as_of: str | None = None) -> dict:
    day = _day(as_of)
    with session_scope(_engine()) as session:
        result = recompute(session, project_id, day, _settings().status)
        created, to_deliver = create_alerts(session, lagging_alerts(session, [project_id], day), day)
        _fan_out(session, to_deliver)
    log.info("[%s] recomputed project %s as of %s: %s", _job_id(), project_id, day, result.counts)
    return {"indicators": result.indicators, "alerts": len(created)}


def daily_sweep(as_of: str | None = None) -> dict:
    """The statuses of this year and last as of the day, each year's sweep recorded (`SweepRun`: the overview
    shows its progress); a year with more projects than PERFTRACK_PARTITION_PROJECTS is swept in parts, one job
    per project range (`sweep_part`), any worker taking each, and `sweep_done` runs once every part has."""
    day = _day(as_of)
    totals: dict[int, object] = {}
    with session_scope(_engine()) as session:
        years = list(
            session.execute(select(FiscalYear.year).where(FiscalYear.year.in_([day.year - 1, day.year]))).scalars()
        )
    for year in years:
        with session_scope(_engine()) as session:
            ranges = project_ranges(session, year, _settings().partition_projects)
            split = len(ranges) > 1 and get_current_job() is not None
            run = start_sweep_run(session, year, day, len(ranges) if split else 1)
            if not split:
                result = sweep(session, year, day, _settings().status)
                first, last = (ranges[0][0], ranges[-1][1]) if ranges else (0, 0)
                record_part(session, SWEEP, stored_id(run), first, last, result.projects)
                finish_sweep_run(session, run, result.indicators)
                totals[year] = result.indicators
                continue
        # committed: the parts find the record started
        _enqueue_parts(
            [
                ("workers.jobs.sweep_part", (year, day.isoformat(), first, last), ("sweep", year, day, first))
                for first, last in ranges
            ],
            ("workers.jobs.sweep_done", (year, day.isoformat(), len(ranges)), ("sweep-done", year, day)),
        )
        totals[year] = f"{len(ranges)} parts"
    log.info("[%s] swept %s as of %s", _job_id(), totals, day)
    return totals


def sweep_part(year: int, as_of: str, first: int, last: int) -> int:
    """The statuses of YEAR's projects with ids FIRST..LAST as of the day (its rows replaced: a rerun is harmless),
    the part recorded done with them.  A part that fails for good fails the day's sweep record."""
    day = date.fromisoformat(as_of)
    try:
        with session_scope(_engine()) as session:
            result = sweep(session, year, day, _settings().status, projects_in_range(session, year, first, last))
            run = sweep_run_of(session, year, day)
            if run is not None:
                record_part(session, SWEEP, stored_id(run), first, last, result.projects)
    except Exception as exc:
        job = get_current_job()
        if job is None or not job.retries_left:
            log.exception("[%s] sweep of %s as of %s, part %s..%s, failed", _job_id(), year, day, first, last)
            with session_scope(_engine()) as session:
                fail_sweep_run(session, year, day, f"第 {first}–{last} 号项目的状态计算出错（{type(exc).__name__}）")
        raise
    log.info(
        "[%s] swept projects %s..%s of %s as of %s: %s indicators", _job_id(), first, last, year, day, result.indicators
    )
    return result.indicators


def sweep_done(year: int, as_of: str, parts: int) -> int:
    """Runs once every part of the day's sweep of YEAR has (an RQ dependency): the statuses stored, the record
    finished (failed if a part is missing)."""
    day = date.fromisoformat(as_of)
    with session_scope(_engine()) as session:
        stored = session.execute(
            select(func.count())
            .select_from(IndicatorStatusRow)
            .join(Project, col(Project.id) == IndicatorStatusRow.project_id)
            .join(FiscalYear, col(FiscalYear.id) == Project.fiscal_year_id)
            .where(col(IndicatorStatusRow.as_of) == day, col(FiscalYear.year) == year)
        ).scalar_one()
        run = sweep_run_of(session, year, day)
        try:
            if run is not None:
                finish_sweep_run(session, run, stored)
        except RuntimeError as exc:
            fail_sweep_run(session, year, day, f"状态计算未完成：{exc}")
            log.error("[%s] sweep of %s as of %s: %s", _job_id(), year, day, exc)
            return stored
    log.info("[%s] sweep of %s as of %s done in %s parts: %s indicators", _job_id(), year, day, parts, stored)
    return stored


def _enqueue_parts(
    parts: list[tuple[str, tuple, tuple]], finish: tuple[str, tuple, tuple]
) -> list[Dependency | Job | str]:
    """Each part as a job on this job's queue, rerun when it fails or its worker dies (RQ's retry), and the
    finishing job, which RQ enqueues once every part has finished.  Job ids are deterministic: a parent run
    again enqueues the same parts again."""
    current = get_current_job()
    target = queue(_settings().redis_url, current.origin if current else "default")
    jobs: list[Dependency | Job | str] = [
        target.enqueue_call(function, args=args, job_id=safe_id(*name), retry=PART_RETRY, failure_ttl=7 * 24 * 3600)
        for function, args, name in parts
    ]
    function, args, name = finish
    done = target.enqueue_call(
        function, args=args, job_id=safe_id(*name), depends_on=jobs, retry=PART_RETRY, failure_ttl=7 * 24 * 3600
    )
    return [*jobs, done]


def _raise_alerts(plan, day: date) -> list:
    """Store the alerts PLAN(session, day) yields (new keys only) and queue their deliveries."""
    with session_scope(_engine()) as session:
        created, to_deliver = create_alerts(session, plan(session, day), day)
        _fan_out(session, to_deliver)
    return created


def scan_alerts(as_of: str | None = None) -> dict:
    """Deadline and report reminders of the day (idempotent: alert keys are unique)."""
    day = _day(as_of)
    created = _raise_alerts(plan_day, day)
    counts: dict[str, int] = {}
    for alert in created:
        counts[alert.kind] = counts.get(alert.kind, 0) + 1
    log.info("[%s] alerts of %s: %s", _job_id(), day, counts)
    return counts


def weekly_digest(as_of: str | None = None) -> int:
    """Monday: the week's monitoring summary to finance (once per ISO week)."""
    day = _day(as_of)
    created = _raise_alerts(weekly_summary, day)
    log.info("[%s] weekly digest of %s: %s", _job_id(), day, "sent" if created else "already sent")
    return len(created)


def evaluation_run(run_id: int) -> dict:
    """Score and store a self-evaluation run, committing progress per batch (the page shows a bar); a year with
    more projects than PERFTRACK_PARTITION_PROJECTS is scored in parts, one job per project range
    (`evaluation_part`) that any worker takes, the run finished by `evaluation_finish` once every part has.
    A failure marks the run failed with its reason; a refusal (the year was locked) is not retried."""
    try:
        with session_scope(_engine()) as session:
            run = session.get(EvaluationRun, run_id)
            if run is None or run.state == RunState.DONE:
                return {"skipped": True}
            discard_partial(session, run)  # a rerun after a crash starts clean
            ids = prepare_run(session, run)
            ranges = id_ranges(ids, _settings().partition_projects)
            forget_parts(session, EVALUATION, run_id)  # a rerun counts its parts again
            if len(ranges) > 1 and get_current_job() is not None:
                run.parts = len(ranges)
                session.commit()  # the parts find the run running
                _enqueue_parts(
                    [
                        ("workers.jobs.evaluation_part", (run_id, first, last), ("evaluation-part", run_id, first))
                        for first, last in ranges
                    ],
                    ("workers.jobs.evaluation_finish", (run_id,), ("evaluation-finish", run_id)),
                )
                log.info("[%s] evaluation run %s: %s projects in %s parts", _job_id(), run_id, len(ids), len(ranges))
                return {"projects": len(ids), "parts": len(ranges)}
            score_run(session, run, ids, on_progress=lambda _run: session.commit())
    except Exception as exc:
        return _run_failed(run_id, exc, "evaluation run")
    log.info("[%s] evaluation run %s done: %s projects", _job_id(), run_id, run.total)
    return {"projects": run.total}


def evaluation_part(run_id: int, first: int, last: int) -> dict:
    """One part of a split run: the projects with ids FIRST..LAST scored and stored (a rerun replaces them)."""
    try:
        with session_scope(_engine()) as session:
            run = run_of_part(session, run_id)
            scored = 0 if run is None else score_part(session, run, first, last)
            if scored:
                record_part(session, EVALUATION, run_id, first, last, scored)
    except Exception as exc:
        job = get_current_job()
        if job is not None and job.retries_left and not isinstance(exc, DecisionError):
            raise  # RQ runs the part again; the run stays running
        return _run_failed(run_id, exc, f"evaluation run part {first}..{last}")
    log.info("[%s] evaluation run %s: projects %s..%s scored (%s)", _job_id(), run_id, first, last, scored)
    return {"projects": scored}


def evaluation_finish(run_id: int) -> dict:
    """Runs once every part of a split run has (an RQ dependency): the run done."""
    try:
        with session_scope(_engine()) as session:
            run = run_of_part(session, run_id)
            if run is None or run.state != RunState.RUNNING:
                return {"skipped": True}
            finish_parts(session, run)
            total = run.total
    except Exception as exc:
        return _run_failed(run_id, exc, "evaluation run")
    log.info("[%s] evaluation run %s done in parts: %s projects", _job_id(), run_id, total)
    return {"projects": total}


def _run_failed(run_id: int, exc: Exception, what: str) -> dict:
    """The run marked failed with its reason; a refusal is an answer (not retried), anything else is raised."""
    log.exception("[%s] %s %s failed", _job_id(), what, run_id)
    with session_scope(_engine()) as session:
        record_failure(session, run_id, exc)
    if isinstance(exc, DecisionError):
        return {"refused": str(exc)}
    raise exc


def deliver(notification_id: int) -> str:
    """Send one notification; raises on a failure worth retrying so RQ retries it with backoff (a
    notification given up as failed returns "failed": retrying cannot help)."""
    with session_scope(_engine()) as session:
        outcome = deliver_notification(session, notification_id, _settings())
    log.info("[%s] notification %s: %s", _job_id(), notification_id, outcome)
    if outcome == "retrying":
        raise RuntimeError(f"notification {notification_id} not delivered yet (logged; retrying)")
    return outcome


def daily_digest(as_of: str | None = None) -> int:
    """17:30: the day's budget digest notices (each lagging project at most once a week), then one mail
    per user who chose a daily digest."""
    with session_scope(_engine()) as session:
        _alerts, to_deliver = raise_budget_digests(session, _day(as_of))
        _fan_out(session, to_deliver)
        sent = send_digests(session, _day(as_of), _settings())
    log.info("[%s] digests sent: %s", _job_id(), sent)
    return sent


def drain_outbox() -> int:
    """Every minute: what the web kept while Redis was down, and deliveries whose retry is due
    (in case their job was lost with a Redis restart)."""
    with session_scope(_engine()) as session:
        count = drain(_settings().redis_url, session)
        due = retry_due(session)
        _fan_out(session, due)
    if count or due:
        log.info("[%s] enqueued %s outbox items, %s deliveries to retry", _job_id(), count, len(due))
    return count


def reset() -> None:
    """Forget cached settings and engine (tests and simulations that switch databases)."""
    _settings.cache_clear()
    _engine.cache_clear()
