"""Keeping a subject's open findings in step with the current doubts about it: shared by importing,
corrections and the yearly history refresh (which re-reads targets relative to last year)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from .domain.vocabulary import FindingState
from .models import FindingRow


def sync_findings(
    session: Session,
    project_id: int,
    indicator_id: int | None,
    wanted: list[tuple[str, str, str]],
    new_subject: bool = False,
) -> None:
    """Make the subject's open findings exactly `wanted`.

    Findings that persist keep their state; settled ones (accepted, corrected) that no
    longer apply stay as the record of a person's decision.  NEW_SUBJECT: the project or
    indicator was created in this transaction, so it has no findings to read (an import
    of a year's 500 indicators read them 500 times).
    """
    current: dict[str, FindingRow] = {}
    if not new_subject:
        query = select(FindingRow).where(FindingRow.project_id == project_id)
        query = (
            query.where(FindingRow.indicator_id == indicator_id)
            if indicator_id
            else query.where(col(FindingRow.indicator_id).is_(None))
        )
        current = {f.code: f for f in session.exec(query).all()}
    for code, severity, message in wanted:
        finding = current.pop(code, None)
        if finding is None:
            session.add(
                FindingRow(
                    project_id=project_id, indicator_id=indicator_id, code=code, severity=severity, message=message
                )
            )
        elif finding.message != message or finding.severity != severity:
            finding.message, finding.severity = message, severity
    for stale in current.values():
        if stale.state == FindingState.OPEN:
            session.delete(stale)
