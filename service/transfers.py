"""Moving a project to another division from a quarter on, with a reason (docs/domain.md §10.4).

The quarters before the move stay the old division's: its reports of those quarters keep the
project, each division reads the project's values from its own reports, and the project's current
division (statuses, alerts, the self-evaluation) is the new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_
from sqlmodel import Session, col, select

from .decision_error import DecisionError
from .domain.bureau import Ownership, owner_in, ownerships
from .domain.inputs import InputError, clean_text
from .domain.permissions import Actor, can
from .models import Division, FiscalYear, Project, ProjectTransfer, Report, id_of
from .organisation import receiving_problem

if TYPE_CHECKING:
    from .reporting.read import HistoryRow

MAX_REASON = 500


def transfers_of(session: Session, project_ids: list[int]) -> dict[int, list[ProjectTransfer]]:
    grouped: dict[int, list[ProjectTransfer]] = {}
    if project_ids:
        for transfer in session.exec(
            select(ProjectTransfer)
            .where(col(ProjectTransfer.project_id).in_(project_ids))
            .order_by(col(ProjectTransfer.from_quarter), col(ProjectTransfer.id))
        ).all():
            grouped.setdefault(transfer.project_id, []).append(transfer)
    return grouped


def ownership_of(project: Project, transfers: list[ProjectTransfer]) -> list[Ownership]:
    return ownerships(project.division_id, [(t.from_quarter, t.from_division_id, t.to_division_id) for t in transfers])


def owners_of(session: Session, project: Project) -> set[int]:
    """Every division that owned PROJECT in some quarter of its year."""
    transfers = transfers_of(session, [id_of(project)]).get(id_of(project), [])
    return {span.division_id for span in ownership_of(project, transfers)}


def owned_projects(session: Session, fiscal_year_id: int, division_id: int, quarter: int) -> list[Project]:
    """The year's projects DIVISION_ID owned in QUARTER (moved projects in the quarters they were its)."""
    moved_here_or_away = select(ProjectTransfer.project_id).where(
        or_(col(ProjectTransfer.from_division_id) == division_id, col(ProjectTransfer.to_division_id) == division_id)
    )
    candidates = session.exec(
        select(Project)
        .where(
            Project.fiscal_year_id == fiscal_year_id,
            or_(col(Project.division_id) == division_id, col(Project.id).in_(moved_here_or_away)),
        )
        .order_by(col(Project.code))
    ).all()
    transfers = transfers_of(session, [id_of(p) for p in candidates])
    return [p for p in candidates if owner_in(ownership_of(p, transfers.get(id_of(p), [])), quarter) == division_id]


def _submitted_quarters(session: Session, fiscal_year_id: int, division_id: int) -> list[int]:
    return list(
        session.exec(
            select(Report.quarter).where(
                Report.fiscal_year_id == fiscal_year_id,
                Report.division_id == division_id,
                col(Report.first_submitted_at).is_not(None),
            )
        ).all()
    )


def earliest_quarter(session: Session, project: Project, to_division: Division) -> int:
    """The first quarter a move may take effect: after every quarter either division already submitted,
    and not before the project's previous move (a move in the same quarter corrects it)."""
    sent = _submitted_quarters(session, project.fiscal_year_id, project.division_id)
    sent += _submitted_quarters(session, project.fiscal_year_id, id_of(to_division))
    last_move = session.exec(
        select(ProjectTransfer.from_quarter)
        .where(ProjectTransfer.project_id == project.id)
        .order_by(col(ProjectTransfer.from_quarter).desc())
    ).first()
    return max(max(sent, default=0) + 1, last_move or 1)


def move_project(
    session: Session, project: Project, to_division_code: str, reason: str, actor: str, from_quarter: int | None = None
) -> ProjectTransfer:
    try:
        reason = clean_text(reason, MAX_REASON)
    except InputError as exc:
        raise DecisionError(f"原因：{exc.message}") from exc
    if not reason:
        raise DecisionError("移交项目必须填写原因")
    target = session.exec(select(Division).where(Division.code == (to_division_code or "").strip().upper())).first()
    if target is None:
        raise DecisionError(f"未知处室代码：{to_division_code}")
    if target.id == project.division_id:
        raise DecisionError(f"项目 {project.code} 已属于{target.name}")
    if problem := receiving_problem(target):
        raise DecisionError(problem)
    year = session.exec(select(FiscalYear.year).where(FiscalYear.id == project.fiscal_year_id)).one()
    earliest = earliest_quarter(session, project, target)
    if earliest > 4:
        raise DecisionError(f"{year} 年度各季度的报告都已提交，不能再移交项目 {project.code}")
    quarter = earliest if from_quarter is None else from_quarter
    if not 1 <= quarter <= 4:
        raise DecisionError("生效季度应为 1–4")
    if quarter < earliest:
        raise DecisionError(f"移交最早从 {year}Q{earliest} 起生效：之前的季度报告已提交，或项目已从该季度起移交过")
    transfer = ProjectTransfer(
        project_id=id_of(project),
        from_division_id=project.division_id,
        to_division_id=id_of(target),
        from_quarter=quarter,
        reason=reason,
        actor=actor,
    )
    project.division_id = id_of(target)
    session.add(transfer)
    session.add(project)
    session.flush()
    return transfer


def readable_history(
    session: Session, user: Actor | None, project: Project, rows: list[HistoryRow]
) -> list[HistoryRow] | None:
    """The rows USER may read: those saved in reports of a division they may view, so a moved project's
    values stay readable by each division for its own quarters; None when none of its divisions is theirs."""
    if not any(can(user, "view_report", d) for d in owners_of(session, project)):
        return None
    return [row for row in rows if can(user, "view_report", row.division_id)]
