"""Decisions about targets: accepting the machine's reading of a 指标值, or correcting the target
with a reason (a revision keeps old, new, who, when, why).

Shared by the web pages, the API and the CLI so each rule is enforced in one place.
"""

from __future__ import annotations

from sqlmodel import Session, select

from .clock import clock
from .continuity import history_of, read_indicator_target
from .decision_error import DecisionError
from .domain.inputs import InputError, clean_text
from .domain.vocabulary import FindingState, Severity
from .importing import sync_findings, target_problem
from .models import FindingRow, FiscalYear, Indicator, Project, TargetRevision, id_of
from .stored_targets import target_columns


def accept_finding(session: Session, finding: FindingRow, actor: str, note: str = "") -> None:
    """The reviewer agrees with the machine's reading; the finding is closed as accepted."""
    if finding.state != FindingState.OPEN:
        raise DecisionError("该问题已处理")
    note = _clean(note, "说明", 2000)
    finding.state, finding.resolved_by, finding.resolved_at, finding.note = (
        FindingState.ACCEPTED,
        actor,
        clock.now(),
        note,
    )


def accept_information(session: Session, findings: list[FindingRow], actor: str, reason: str) -> int:
    """Accept several open information-level findings at once with one reason (recorded on each); all
    or nothing: a warning or an error, or one already settled, is refused with its number."""
    reason = _clean(reason, "原因", 2000)
    if not findings:
        raise DecisionError("请先勾选要确认的提示")
    if not reason:
        raise DecisionError("批量确认时请说明原因")
    refused = [f"#{f.id}" for f in findings if f.severity != Severity.INFO or f.state != FindingState.OPEN]
    if refused:
        raise DecisionError(f"只能批量确认未处理的「提示」级问题：{'、'.join(refused)} 不符合，请逐条处理")
    for finding in findings:
        accept_finding(session, finding, actor, reason)
        session.add(finding)
    session.flush()
    return len(findings)


def correct_target(
    session: Session,
    indicator: Indicator,
    new_value: str,
    actor: str,
    reason: str,
    finding: FindingRow | None = None,
    resolve_open: bool = False,
) -> None:
    """Replace the target in force with `new_value`; a revision keeps old, new, who, when, why.  FINDING (or,
    with RESOLVE_OPEN, every open finding of the indicator) is closed as corrected by it."""
    new_value, reason = _clean(new_value, "新的指标值", 500, multiline=False), _clean(reason, "原因", 2000)
    if not reason:
        raise DecisionError("修改指标值必须填写原因")
    if not new_value:
        raise DecisionError("新的指标值不能为空")
    if new_value == indicator.raw_value:
        raise DecisionError("新的指标值与当前值相同")
    project = session.get(Project, indicator.project_id)
    year = session.get(FiscalYear, project.fiscal_year_id).year
    target = read_indicator_target(
        new_value,
        indicator.level2,
        indicator.name,
        indicator.description,
        year,
        history_of(session, id_of(indicator)),
        indicator.stated_direction,
    )
    unstored = target_problem(target)
    if unstored:
        raise DecisionError(f"新的指标值：{unstored}")
    session.add(
        TargetRevision(
            indicator_id=indicator.id, old_value=indicator.raw_value, new_value=new_value, actor=actor, reason=reason
        )
    )
    indicator.raw_value = new_value
    for name, value in target_columns(target).items():
        setattr(indicator, name, value)
    indicator.updated_at = clock.now()
    settled = [finding] if finding is not None else []
    if resolve_open:
        settled += [
            f
            for f in session.exec(
                select(FindingRow).where(FindingRow.indicator_id == indicator.id, FindingRow.state == FindingState.OPEN)
            ).all()
            if f is not finding
        ]
    for item in settled:
        item.state, item.resolved_by, item.resolved_at, item.note = FindingState.CORRECTED, actor, clock.now(), reason
    if settled:
        session.flush()
    sync_findings(session, project.id, indicator.id, [(f.code, f.severity, f.message) for f in target.findings])


def _clean(text: str | None, label: str, limit: int, multiline: bool = True) -> str:
    try:
        return clean_text(text, limit, multiline=multiline)
    except InputError as exc:
        raise DecisionError(f"{label}：{exc.message}") from exc
