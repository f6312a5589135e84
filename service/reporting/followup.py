"""What follows a report's transition: recompute its projects' statuses (in the background) and
tell at once whoever must act next (the division on a return, the head on a request for sign-off)."""

from __future__ import annotations

from sqlmodel import Session

from ..alerting import create_alerts
from ..clock import clock
from ..domain.alerts import AlertSpec
from ..domain.vocabulary import AlertKind, ReportAction
from ..queueing import enqueue, safe_id
from .reports import Scope

RECOMPUTE = "workers.jobs.recompute_project"


def recompute_later(session: Session, redis_url: str | None, project_ids) -> None:
    for project_id in project_ids:
        enqueue(redis_url, session, RECOMPUTE, project_id, job_id=safe_id("recompute", project_id), queue_name="high")


def follow_up(
    session: Session, scope: Scope, action: str, redis_url: str | None, comment: str = "", actor: str = ""
) -> None:
    """Call in the transaction of the transition, so the outbox row (if Redis is down) commits with it.
    Returns tell the division (reporters and head); a request for sign-off tells the head."""
    if action in (ReportAction.SUBMIT, ReportAction.RETURN, ReportAction.ACCEPT):
        recompute_later(session, redis_url, [p.id for p in scope.projects.values()])
    report = scope.report
    subject = f"{scope.division.code}-{scope.period.code}"
    link = f"/reports/{scope.division.code}/{scope.period.code}"
    due = scope.period.due(scope.year.report_due_days)
    if action == ReportAction.RETURN:
        _tell(
            session,
            redis_url,
            AlertSpec(
                AlertKind.RETURNED,
                subject,
                scope.division.id,
                due,
                f"v{report.version}",
                "division",
                f"{scope.period.label}绩效监控报告被财务处退回：{comment or '见各指标的退回原因'}",
                link,
            ),
        )
    elif action == ReportAction.REQUEST_SIGNOFF:
        _tell(
            session,
            redis_url,
            AlertSpec(
                AlertKind.SIGNOFF_REQUESTED,
                subject,
                scope.division.id,
                due,
                f"v{report.version}",
                "head",
                f"{scope.period.label}绩效监控报告已填写完整，{actor or '填报人'}请您签认（截止 {due.isoformat()}）",
                link,
            ),
        )


def _tell(session: Session, redis_url: str | None, spec: AlertSpec) -> None:
    """Store SPEC's alert (once) and deliver it now on every channel but the inbox."""
    _alerts, to_deliver = create_alerts(session, [spec], clock.today())
    for notification_id in to_deliver:
        enqueue(
            redis_url,
            session,
            "workers.jobs.deliver",
            notification_id,
            job_id=safe_id("deliver", notification_id),
            queue_name="notify",
        )


def sweep_after_import(session: Session, redis_url: str | None, batch_id: int) -> None:
    """New or changed targets: recompute today's statuses of every project (set-based, one job)."""
    enqueue(
        redis_url,
        session,
        "workers.jobs.daily_sweep",
        clock.today().isoformat(),
        job_id=safe_id("sweep-after-import", batch_id),
        queue_name="high",
    )
