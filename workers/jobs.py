"""Job functions.  Each takes ids or ISO dates, is idempotent, and logs with its job id."""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache

from rq import get_current_job
from sqlalchemy import select

from service.alerting import create_alerts, plan_day, raise_budget_digests, weekly_summary
from service.clock import clock
from service.db import make_engine, session_scope
from service.decision_error import DecisionError
from service.domain.vocabulary import RunState
from service.evaluation import discard_partial, execute_run, record_failure
from service.models import EvaluationRun, FiscalYear
from service.monitoring import lagging_alerts, sweep
from service.monitoring import recompute_project as recompute
from service.notify import deliver as deliver_notification
from service.notify import retry_due, send_digests
from service.queueing import drain_outbox as drain
from service.queueing import enqueue, safe_id
from service.settings import load_settings

log = logging.getLogger("perftrack.jobs")


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
    day = _day(as_of)
    totals = {}
    with session_scope(_engine()) as session:
        years = session.execute(select(FiscalYear.year).where(FiscalYear.year.in_([day.year - 1, day.year]))).scalars()
        for year in years:
            result = sweep(session, year, day, _settings().status)
            totals[year] = result.indicators
    log.info("[%s] swept %s as of %s", _job_id(), totals, day)
    return totals


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
    """Score and store a self-evaluation run, committing progress per batch (the page shows a bar).
    A failure marks the run failed with its reason; a refusal (the year was locked) is not retried."""
    try:
        with session_scope(_engine()) as session:
            run = session.get(EvaluationRun, run_id)
            if run is None or run.state == RunState.DONE:
                return {"skipped": True}
            discard_partial(session, run)  # a rerun after a crash starts clean
            execute_run(session, run, on_progress=lambda _run: session.commit())
    except Exception as exc:
        log.exception("[%s] evaluation run %s failed", _job_id(), run_id)
        with session_scope(_engine()) as session:
            record_failure(session, run_id, exc)
        if isinstance(exc, DecisionError):
            return {"refused": str(exc)}
        raise
    log.info("[%s] evaluation run %s done: %s projects", _job_id(), run_id, run.total)
    return {"projects": run.total}


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
