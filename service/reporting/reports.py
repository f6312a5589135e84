"""Saving a division's report for a period and moving it through its workflow.

draft → (head sign-off) → submitted → accepted, or → returned (reasons per indicator) →
resubmitted.  Every save writes new `ActualEntry`/`SpendEntry` rows and bumps the
report's version; nothing is overwritten.  A save is all or nothing: any problem rejects
the whole request and writes nothing.  Who may call what is checked by the caller
through `service.access`; the state rules live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from ..clock import clock
from ..domain.actuals import MAX_TEXT, Actual, RawActual, Spend, assess, missing_for_submit, read_actual, read_spend
from ..domain.inputs import InputError, clean_text
from ..domain.periods import Period
from ..domain.vocabulary import ReportAction, ReportState, Role
from ..domain.workflow import EDITABLE_STATES, STARTS_FROM, Situation, may_request_signoff, needs_signoff_first
from ..domain.workflow import may_edit as may_edit_situation
from ..importers.source import MAX_LISTED_PROBLEMS, ImportProblem, bounded
from ..models import (
    ActualEntry,
    Division,
    FiscalYear,
    Indicator,
    PeriodLockEvent,
    Project,
    Report,
    ReportEvent,
    SpendEntry,
    User,
)
from ..stored_targets import target_of
from ..transfers import owned_projects

# The workflow: each transition and the state it leads to.
TRANSITIONS = {
    ReportAction.SIGN: ReportState.SIGNED,
    ReportAction.SUBMIT: ReportState.SUBMITTED,
    ReportAction.RETURN: ReportState.RETURNED,
    ReportAction.ACCEPT: ReportState.ACCEPTED,
}


class ReportError(Exception):
    """A request the report cannot take.  `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str, problems: list[ImportProblem] | None = None):
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems or []


@dataclass
class ActualRow:
    indicator_code: str
    raw: RawActual
    location: str  # where the row came from, e.g. 「指标」表第 5 行


@dataclass
class SpendRow:
    project_code: str
    spent: str
    budget: str
    location: str
    decrease_reason: str = ""  # given (with confirm_decrease) when spend falls below last quarter's
    confirm_decrease: bool = False
    forecast: str | None = None  # 全年预计执行数 (Q2/Q3); blank = the projection stands; None = not given, kept


@dataclass
class Scope:
    """A report with what it covers: the division's indicators and projects of the year."""

    report: Report
    year: FiscalYear
    division: Division
    period: Period
    indicators: dict[str, tuple[Indicator, Project]]
    projects: dict[str, Project]


@dataclass
class SaveResult:
    version: int
    changed_actuals: list[str] = field(default_factory=list)
    changed_spend: list[str] = field(default_factory=list)
    signoff_voided: bool = False  # the change undid the head's signature

    @property
    def changed(self) -> bool:
        return bool(self.changed_actuals or self.changed_spend)

    def summary(self) -> dict:
        return {"version": self.version, "actuals": len(self.changed_actuals), "spend": len(self.changed_spend)}


def operator(name: str) -> User:
    """Someone at the server (the CLI without --as): may write every division's report, recorded as NAME."""
    return User(username=name, display_name=name, role=Role.ADMIN, password_hash="")


def actual_of(entry: ActualEntry | None) -> Actual:
    if entry is None:
        return Actual()
    return Actual(
        number=entry.number,
        done=entry.done,
        done_on=entry.done_on,
        expected_on=entry.expected_on,
        progress=entry.progress,
        likelihood=entry.likelihood,
        cause_category=entry.cause_category,
        cause_text=entry.cause_text,
        measure_text=entry.measure_text,
        decrease_reason=entry.decrease_reason,
        forecast=entry.forecast,
    )


def load_scope(session: Session, year: int, division_code: str, quarter: int) -> Scope:
    """The report (unsaved and empty if nobody has written to it yet) and what it covers."""
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == year)).first()
    division = session.exec(select(Division).where(Division.code == division_code)).first()
    if fiscal_year is None or division is None or quarter not in (1, 2, 3, 4):
        raise ReportError(404, f"没有 {division_code} 处室 {year}Q{quarter} 的报告")
    report = session.exec(
        select(Report).where(
            Report.fiscal_year_id == fiscal_year.id, Report.division_id == division.id, Report.quarter == quarter
        )
    ).first()
    if report is None:
        report = Report(fiscal_year_id=fiscal_year.id, division_id=division.id, quarter=quarter)
    projects = owned_projects(session, fiscal_year.id, division.id, quarter)  # moved projects: per quarter
    rows = session.exec(
        select(Indicator, Project)
        .join(Project, Project.id == Indicator.project_id)
        .where(Project.id.in_([p.id for p in projects]))
        .order_by(Project.code, Indicator.row_order)
    ).all()
    return Scope(
        report,
        fiscal_year,
        division,
        Period(year, quarter),
        {i.code: (i, p) for i, p in rows},
        {p.code: p for p in projects},
    )


def is_locked(session: Session, fiscal_year_id: int, quarter: int) -> bool:
    last = session.exec(
        select(PeriodLockEvent.action)
        .where(PeriodLockEvent.fiscal_year_id == fiscal_year_id, PeriodLockEvent.quarter == quarter)
        .order_by(PeriodLockEvent.id.desc())
    ).first()
    return last == ReportAction.LOCK


def _current(session: Session, model, report_id: int | None, key: str) -> dict:
    if report_id is None:
        return {}
    entries = session.exec(select(model).where(model.report_id == report_id, model.is_current.is_(True))).all()
    return {getattr(e, key): e for e in entries}


def current_actuals(session: Session, report_id: int | None) -> dict[int, ActualEntry]:
    return _current(session, ActualEntry, report_id, "indicator_id")


def current_spend(session: Session, report_id: int | None) -> dict[int, SpendEntry]:
    return _current(session, SpendEntry, report_id, "project_id")


def previous_report(session: Session, scope: Scope) -> Report | None:
    previous = scope.period.previous
    if previous is None:
        return None
    return session.exec(
        select(Report).where(
            Report.fiscal_year_id == scope.year.id,
            Report.division_id == scope.division.id,
            Report.quarter == previous.quarter,
        )
    ).first()


def _previous_entries(session: Session, scope: Scope, model, key: str, ids: list[int]) -> dict:
    """The previous quarter's current entries of the scope's subjects, whichever division reported
    them (a project moved this quarter was reported by its old division)."""
    previous = scope.period.previous
    if previous is None or not ids:
        return {}
    entries = session.exec(
        select(model)
        .join(Report, Report.id == model.report_id)
        .where(
            Report.fiscal_year_id == scope.year.id,
            Report.quarter == previous.quarter,
            model.is_current.is_(True),
            getattr(model, key).in_(ids),
        )
    ).all()
    return {getattr(e, key): e for e in entries}


def previous_actuals(session: Session, scope: Scope) -> dict[int, ActualEntry]:
    return _previous_entries(session, scope, ActualEntry, "indicator_id", [i.id for i, _ in scope.indicators.values()])


def previous_spend(session: Session, scope: Scope) -> dict[int, SpendEntry]:
    return _previous_entries(session, scope, SpendEntry, "project_id", [p.id for p in scope.projects.values()])


def budgets_in_force(session: Session, scope: Scope) -> dict[int, Decimal]:
    """The full-year budget each project has as of this period: the latest adjustment reported
    in this or an earlier quarter, else the table's 年初预算数."""
    budgets = {p.id: p.budget for p in scope.projects.values()}
    if not budgets:
        return budgets
    # One join, whatever the number of reports in the year (a province files tens of thousands).
    adjusted = session.exec(
        select(SpendEntry.project_id, col(SpendEntry.budget))
        .join(Report, Report.id == SpendEntry.report_id)
        .where(  # any division: a moved project's earlier ones
            Report.fiscal_year_id == scope.year.id,
            Report.quarter <= scope.period.quarter,
            SpendEntry.project_id.in_(list(budgets)),
            SpendEntry.is_current.is_(True),
            SpendEntry.budget.is_not(None),
        )
        .order_by(Report.quarter)
    ).all()
    for project_id, budget in adjusted:
        budgets[project_id] = budget
    return budgets


def check_writable(session: Session, scope: Scope) -> None:
    if not scope.period.is_open(clock.today()):
        raise ReportError(409, f"{scope.period.label}的报告自 {scope.period.opens.isoformat()} 起开放填报")
    if is_locked(session, scope.year.id, scope.period.quarter):
        raise ReportError(423, f"{scope.period.label}已被财务处锁定，需财务处重新开放后才能修改")


def _check_version(report: Report, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != report.version:
        raise VersionConflict(report.version, expected_version)


class SignoffWouldBeVoided(ReportError):
    """A change to a signed report, not yet confirmed by the user: saving it voids the signature."""

    def __init__(self) -> None:
        super().__init__(
            409,
            "报告已由处室负责人签认：保存这些修改将撤销签认，需重新送负责人签认。请确认后再保存，或放弃修改",
        )


class VersionConflict(ReportError):
    """The report moved on since the writer read it (HTTP 412); `current` is its version now."""

    def __init__(self, current: int, based_on: int):
        super().__init__(
            412, f"报告已被他人修改（当前版本 {current}，您提交时基于版本 {based_on}），本次未保存，请刷新后重新填写"
        )
        self.current, self.based_on = current, based_on


def save(
    session: Session,
    scope: Scope,
    user: User,
    actual_rows: list[ActualRow],
    spend_rows: list[SpendRow],
    source: str,
    expected_version: int | None = None,
    skip_blank: bool = False,
    void_signoff: bool = True,
) -> SaveResult:
    """Validate every row, then write every change in one go (or nothing).  Idempotent.

    A change to a signed report voids the head's signature; with VOID_SIGNOFF False (the web form
    before the user confirmed) such a change is refused with `SignoffWouldBeVoided` instead."""
    report = scope.report
    check_writable(session, scope)
    problems: list[ImportProblem] = []
    today = clock.today()
    current = current_actuals(session, report.id)
    previous = previous_actuals(session, scope)
    new_actuals: list[tuple[Indicator, Actual]] = []
    seen: set[str] = set()
    unknown: list[tuple[int, str, str]] = []  # (position in problems, location, code) of codes not in this report
    for row in actual_rows:
        code = (row.indicator_code or "").strip()
        if skip_blank and row.raw.is_blank():
            continue
        found = scope.indicators.get(code)
        if found is None:
            unknown.append((len(problems), row.location, code))
            problems.append(ImportProblem(row.location, "指标编号", ""))  # explained below, all in one query
            continue
        if code in seen:
            problems.append(ImportProblem(row.location, "指标编号", f"指标 {code} 重复出现"))
            continue
        seen.add(code)
        indicator = found[0]
        before = previous.get(indicator.id)
        reading = read_actual(
            target_of(indicator), row.raw, scope.period, previous=before.number if before else None, today=today
        )
        problems += [ImportProblem(row.location, e.label, e.message) for e in reading.errors]
        stored = actual_of(current.get(indicator.id))
        if row.raw.forecast is None:  # a way in without the field (an older workbook) keeps the stored one
            reading.actual.forecast = stored.forecast
        if stored.key() != reading.actual.key():
            new_actuals.append((indicator, reading.actual))
    new_spend = _read_spend_rows(session, scope, spend_rows, skip_blank, problems)
    for position, problem in _unknown_indicators(session, unknown, scope):
        problems[position] = problem
    if problems:
        raise ReportError(422, "数据未保存：请按提示修改后重试", bounded(problems))
    result = SaveResult(report.version, [i.code for i, _ in new_actuals], [p.code for p, _ in new_spend])
    if not result.changed:
        return result
    if report.state not in EDITABLE_STATES:
        raise ReportError(409, f"报告{_state_words(report.state)}，不能修改")
    _check_version(report, expected_version)
    if report.state == ReportState.SIGNED and not void_signoff:
        raise SignoffWouldBeVoided()
    version = bump_version(session, scope)
    report = scope.report
    stamp = {
        "report_id": report.id,
        "report_version": version,
        "is_current": True,
        "source": source,
        "actor": user.username,
        "created_at": clock.now(),
    }
    _supersede(
        session,
        ActualEntry,
        ActualEntry.indicator_id,
        report.id,
        [i.id for i, _ in new_actuals],
        [{"indicator_id": i.id, **stamp, **vars(actual)} for i, actual in new_actuals],
    )
    _supersede(
        session,
        SpendEntry,
        SpendEntry.project_id,
        report.id,
        [p.id for p, _ in new_spend],
        [
            {
                "project_id": p.id,
                "spent": spend.spent,
                "budget": spend.budget,
                "decrease_reason": spend.decrease_reason,
                "forecast": spend.forecast,
                **stamp,
            }
            for p, spend in new_spend
        ],
    )
    detail = {"source": source, "actuals": result.changed_actuals, "spend": result.changed_spend}
    if report.state == ReportState.SIGNED:  # a change after sign-off needs a new sign-off
        report.state = ReportState.DRAFT
        detail["signoff_voided"] = True
        result.signoff_voided = True
    session.add(
        ReportEvent(report_id=report.id, version=version, action=ReportAction.SAVE, actor=user.username, detail=detail)
    )
    session.flush()
    result.version = version
    return result


def _supersede(session: Session, model, subject, report_id: int, subject_ids: list[int], rows: list[dict]) -> None:
    """The new versions become current; the old ones stay, no longer current (nothing is overwritten).
    ROWS are inserted as plain rows in one statement: a save of a large report builds no ORM objects."""
    if not rows:
        return
    session.exec(
        update(model)
        .where(model.report_id == report_id, subject.in_(subject_ids), model.is_current.is_(True))
        .values(is_current=False)
    )
    session.execute(insert(model.__table__), rows)


def _read_spend_rows(
    session, scope: Scope, rows: list[SpendRow], skip_blank: bool, problems: list[ImportProblem]
) -> list[tuple[Project, Spend]]:
    if not rows:
        return []
    current = current_spend(session, scope.report.id)
    budgets = budgets_in_force(session, scope)
    previous = previous_spend(session, scope)  # last quarter's, whichever division reported it
    changed, seen = [], set()
    for row in rows:
        code = (row.project_code or "").strip()
        if skip_blank and not any(str(text or "").strip() for text in (row.spent, row.budget, row.forecast)):
            continue
        project = scope.projects.get(code)
        if project is None:
            problems.append(
                ImportProblem(row.location, "项目编号", f"项目「{code}」不存在或不属于{scope.division.name}")
            )
            continue
        if code in seen:
            problems.append(ImportProblem(row.location, "项目编号", f"项目 {code} 重复出现"))
            continue
        seen.add(code)
        before_entry = previous.get(project.id)
        spend, errors = read_spend(
            row.spent,
            row.budget,
            project.budget,
            budgets.get(project.id),
            before_entry.spent if before_entry else None,
            row.confirm_decrease,
            row.decrease_reason,
            row.forecast or "",
            scope.period,
        )
        problems += [ImportProblem(row.location, e.label, e.message) for e in errors]
        entry = current.get(project.id)
        if row.forecast is None and entry is not None:  # not given: the stored forecast stays
            spend.forecast = entry.forecast
        before = Spend(entry.spent, entry.budget, entry.decrease_reason, entry.forecast) if entry else Spend()
        if before.key() != spend.key():
            changed.append((project, spend))
    return changed


def _unknown_indicators(
    session: Session, unknown: list[tuple[int, str, str]], scope: Scope
) -> list[tuple[int, ImportProblem]]:
    """Why each code is not in this report (another division's, or none at all), found in one query
    for the codes that will be listed (a refusal lists at most MAX_LISTED_PROBLEMS)."""
    listed = {code for _position, _location, code in unknown[:MAX_LISTED_PROBLEMS]}
    owners = (
        dict(
            session.exec(
                select(Indicator.code, Division.name)
                .join(Project, Project.id == Indicator.project_id)
                .join(Division, Division.id == Project.division_id)
                .where(col(Indicator.code).in_(listed), Project.fiscal_year_id == scope.year.id)
            ).all()
        )
        if listed
        else {}
    )
    result = []
    for position, location, code in unknown:
        owner = owners.get(code)
        message = (
            f"指标 {code} 属于{owner}，不能在{scope.division.name}的报告中填报"
            if owner
            else f"指标编号「{code}」不存在"
        )
        result.append((position, ImportProblem(location, "指标编号", message)))
    return result


def bump_version(session: Session, scope: Scope) -> int:
    """Move the report to its next version, provided it is still at the version this request read
    (one conditional UPDATE): of N concurrent writers exactly one wins, the others get 412 and
    write nothing.  Every change to a report goes through here before it writes anything else.
    A report nobody has written to yet is created first with INSERT … ON CONFLICT DO NOTHING, so
    concurrent first saves conflict the same way instead of failing on the unique key."""
    read = scope.report.version
    if scope.report.id is None:
        scope.report = _create_report(session, scope.report)
    report, now = scope.report, clock.now()
    moved = session.exec(
        update(Report)
        .where(Report.id == report.id, Report.version == read)
        .values(version=Report.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise VersionConflict(session.exec(select(Report.version).where(Report.id == report.id)).one(), read)
    set_committed_value(report, "version", read + 1)
    set_committed_value(report, "updated_at", now)
    return read + 1


def _create_report(session: Session, blank: Report) -> Report:
    """The report row for BLANK's division and period: inserted unless a concurrent writer did first."""
    table = Report.__table__
    dialect_insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {column.name: getattr(blank, column.name) for column in table.columns if column.name != "id"}
    session.exec(
        dialect_insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["fiscal_year_id", "division_id", "quarter"])
    )
    return session.exec(
        select(Report).where(
            Report.fiscal_year_id == blank.fiscal_year_id,
            Report.division_id == blank.division_id,
            Report.quarter == blank.quarter,
        )
    ).one()


def _state_words(state: str) -> str:
    return {ReportState.SUBMITTED: "已提交，等待财务处审核", ReportState.ACCEPTED: "已审核通过"}.get(
        state, f"处于「{ReportState.label_of(state)}」状态"
    )


# ---------------------------------------------------------------- workflow


def transition(
    session: Session,
    scope: Scope,
    user: User,
    action: str,
    comment: str = "",
    reasons: dict[str, str] | None = None,
    expected_version: int | None = None,
) -> bool:
    """Move the report; False when it is already where the request would put it (idempotent)."""
    report = scope.report
    if action not in TRANSITIONS:
        raise ReportError(400, f"未知操作「{action}」")
    target = TRANSITIONS[action]
    if report.state == target and report.id is not None:
        return False
    check_writable(session, scope)
    _check_version(report, expected_version)
    detail: dict = {}
    changes: dict = {"state": target}  # applied once the version is claimed
    comment = _clean(comment, "总体意见")
    if action == ReportAction.SIGN:
        _require(scope.division.requires_head_signoff, f"{scope.division.name}未启用负责人签认")
        _require(report.state in STARTS_FROM[action], f"报告{_state_words(report.state)}，不能签认")
        _require_complete(session, scope)
    elif action == ReportAction.SUBMIT:
        _require(report.state in STARTS_FROM[action], f"报告{_state_words(report.state)}，不能提交")
        _require(not needs_signoff_first(user, situation_of(session, scope)), "本处室的报告需处室负责人签认后才能提交")
        _require_complete(session, scope)
        now = clock.now()
        if report.first_submitted_at is None:
            detail["late"] = scope.period.is_late(now.astimezone(clock.zone).date(), scope.year.report_due_days)
            changes |= {"first_submitted_at": now, "late": detail["late"]}
    elif action == ReportAction.RETURN:
        _require(report.state in STARTS_FROM[action], f"报告{_state_words(report.state)}，不能退回")
        reasons = {
            code.strip(): _clean(text, f"指标 {code.strip()} 的退回原因")
            for code, text in (reasons or {}).items()
            if text and str(text).strip()
        }
        unknown = [code for code in reasons if code not in scope.indicators]
        _require(not unknown, f"退回原因中的指标不属于本报告：{', '.join(unknown)}")
        _require(bool(reasons or comment), "退回时请至少写明一条原因（针对指标或总体意见）")
        detail["reasons"] = reasons
    else:
        _require(report.state in STARTS_FROM[action], f"报告{_state_words(report.state)}，不能审核通过")
        changes["accepted_at"] = clock.now()
    version = bump_version(session, scope)
    report = scope.report
    for name, value in changes.items():
        setattr(report, name, value)
    session.add(report)
    session.add(
        ReportEvent(
            report_id=report.id, version=version, action=action, actor=user.username, comment=comment, detail=detail
        )
    )
    session.flush()
    return True


WORKFLOW_STEPS = (
    ReportAction.REQUEST_SIGNOFF,
    ReportAction.SIGN,
    ReportAction.SUBMIT,
    ReportAction.RETURN,
    ReportAction.ACCEPT,
)


def _last_step(session: Session, report: Report) -> ReportEvent | None:
    if report.id is None:
        return None
    return session.exec(
        select(ReportEvent)
        .where(ReportEvent.report_id == report.id, ReportEvent.action.in_(WORKFLOW_STEPS))
        .order_by(ReportEvent.id.desc())
    ).first()


def signoff_requested(session: Session, report: Report) -> bool:
    """The reporter sent the report to the head and the head has not acted since."""
    last = _last_step(session, report)
    return (
        last is not None
        and last.action == ReportAction.REQUEST_SIGNOFF
        and report.state in (ReportState.DRAFT, ReportState.RETURNED)
    )


def open_return(session: Session, report: Report) -> ReportEvent | None:
    """finance's latest return while the division is still answering it (not yet resubmitted):
    the banner stays for the reporter and the head through edits and sign-off."""
    last = _last_step(session, report)
    if last is None:
        return None
    if last.action == ReportAction.RETURN:
        return last
    if report.state in (ReportState.SUBMITTED, ReportState.ACCEPTED):
        return None
    returned = session.exec(
        select(ReportEvent)
        .where(ReportEvent.report_id == report.id, ReportEvent.action.in_((ReportAction.RETURN, ReportAction.SUBMIT)))
        .order_by(ReportEvent.id.desc())
    ).first()
    return returned if returned is not None and returned.action == ReportAction.RETURN else None


def request_signoff(session: Session, scope: Scope, user: User) -> bool:
    """A reporter sends a complete report to the division's head (who is notified by the caller's
    follow-up); False when it is already waiting for the head at this version."""
    check_writable(session, scope)
    report = scope.report
    _require(scope.division.requires_head_signoff, f"{scope.division.name}未启用负责人签认")
    _require(
        may_request_signoff(user, situation_of(session, scope)), f"报告{_state_words(report.state)}，不能送负责人签认"
    )
    if signoff_requested(session, report):
        last = _last_step(session, report)
        if last is not None and last.version == report.version:
            return False
    _require_complete(session, scope)
    session.add(
        ReportEvent(
            report_id=report.id, version=report.version, action=ReportAction.REQUEST_SIGNOFF, actor=user.username
        )
    )
    session.flush()
    return True


def _clean(text: str | None, label: str) -> str:
    """Free text of a workflow step (comment, return reason, reopening reason), normalised once."""
    try:
        return clean_text(text, MAX_TEXT)
    except InputError as exc:
        raise ReportError(422, f"{label}：{exc.message}") from exc


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ReportError(409, message)


def _require_complete(session: Session, scope: Scope) -> None:
    """A report goes to finance only when every indicator and project is filled in."""
    problems = missing_items(session, scope)
    if problems:
        raise ReportError(422, f"报告尚未填写完整（{len(problems)} 处），不能提交", problems)


def missing_items(session: Session, scope: Scope) -> list[ImportProblem]:
    """What the report still lacks before it can be signed or submitted (§5.6), per indicator and project."""
    problems: list[ImportProblem] = []
    current = current_actuals(session, scope.report.id)
    for code, (indicator, _project) in scope.indicators.items():
        target = target_of(indicator)
        reading = assess(target, scope.period, actual_of(current.get(indicator.id)))
        for missing in missing_for_submit(target, reading):
            problems.append(ImportProblem(f"指标 {code}（{indicator.name}）", missing.label, missing.message))
    spend = current_spend(session, scope.report.id)
    for code, project in scope.projects.items():
        entry = spend.get(project.id)
        if entry is None or entry.spent is None:
            problems.append(ImportProblem(f"项目 {code}（{project.name}）", "执行数", "请填写截至期末的执行数（万元）"))
    return problems


# ---------------------------------------------------------------- period locks


# States that keep a report in motion between the division and finance: locking the period would
# strand it (a returned report could no longer be fixed, a submitted one no longer be reviewed).
IN_MOTION = (ReportState.SUBMITTED, ReportState.RETURNED)


@dataclass
class Outstanding:
    """A division's report of the period that finance has not accepted (or that nobody started)."""

    division_code: str
    division_name: str
    state: str  # a ReportState, or "not_started"
    state_label: str
    late: bool

    @property
    def in_motion(self) -> bool:
        return self.state in IN_MOTION


@dataclass
class LockCheck:
    """What locking a period would leave behind, and whether it may be locked today."""

    period: Period
    due: date
    lockable_from: date
    locked: bool
    outstanding: list[Outstanding]
    today: date

    @property
    def too_early(self) -> bool:
        return self.today < self.lockable_from

    @property
    def in_motion(self) -> list[Outstanding]:
        return [o for o in self.outstanding if o.in_motion]

    def refusal(self, confirmed: bool, reason: str) -> str | None:
        """Why the lock is refused, or None.  Reports in motion need finance's confirmation and reason."""
        if self.too_early:
            return f"{self.period.label}的报告 {self.due.isoformat()} 截止，{self.lockable_from.isoformat()} 起才能锁定"
        if self.in_motion and not (confirmed and reason):
            names = "、".join(f"{o.division_name}（{o.state_label}）" for o in self.in_motion)
            return (
                f"还有 {len(self.in_motion)} 份报告未审核完毕：{names}；锁定后这些报告将不能再修改或审核。"
                "如确需锁定，请确认并说明原因"
            )
        return None


def lock_check(session: Session, fiscal_year: FiscalYear, quarter: int) -> LockCheck:
    """Every report of the period not yet accepted (divisions that have not started included)."""
    period = Period(fiscal_year.year, quarter)
    outstanding = [
        Outstanding(row["division"], row["division_name"], row["state"], row["state_label"], row["late"])
        for row in list_reports(session, fiscal_year.year, quarter)
        if row["state"] != ReportState.ACCEPTED
    ]
    return LockCheck(
        period,
        period.due(fiscal_year.report_due_days),
        period.lockable_from(fiscal_year.report_due_days),
        is_locked(session, fiscal_year.id, quarter),
        outstanding,
        clock.today(),
    )


def set_period_lock(
    session: Session,
    fiscal_year: FiscalYear,
    quarter: int,
    user: User,
    lock: bool,
    reason: str = "",
    confirm_in_motion: bool = False,
) -> bool:
    """Lock or reopen a period; False if it already is so.  Reopening needs a reason (recorded).
    Locking waits for the period's due date to pass, and is refused while a report is submitted or
    returned unless finance confirms it with a reason, recorded on the lock (docs/domain.md §4)."""
    if is_locked(session, fiscal_year.id, quarter) == lock:
        return False
    reason = _clean(reason, "原因")
    if lock:
        check = lock_check(session, fiscal_year, quarter)
        refusal = check.refusal(confirm_in_motion, reason)
        if refusal:
            raise ReportError(409 if check.too_early or not confirm_in_motion else 422, refusal)
    elif not reason:
        raise ReportError(422, "重新开放期间时请说明原因")
    session.add(
        PeriodLockEvent(
            fiscal_year_id=fiscal_year.id,
            quarter=quarter,
            action=ReportAction.LOCK if lock else ReportAction.REOPEN,
            actor=user.username,
            reason=reason,
        )
    )
    session.flush()
    return True


def last_lock_events(session: Session, fiscal_year_id: int) -> dict[int, PeriodLockEvent]:
    """Per quarter, the latest lock or reopening (who, when, why)."""
    events = session.exec(
        select(PeriodLockEvent).where(PeriodLockEvent.fiscal_year_id == fiscal_year_id).order_by(PeriodLockEvent.id)
    ).all()
    return {event.quarter: event for event in events}


def situation_of(session: Session, scope: Scope) -> Situation:
    """The report as the workflow's rules read it (`service.domain.workflow`)."""
    return report_situation(session, scope.report, scope.division, scope.period)


def report_situation(session: Session, report: Report, division: Division, period: Period) -> Situation:
    """situation_of without loading what the report covers: for lists of many reports."""
    return Situation(
        division.id,
        report.state,
        division.requires_head_signoff,
        period.is_open(clock.today()),
        is_locked(session, report.fiscal_year_id, period.quarter),
    )


def may_edit(session: Session, user: User, scope: Scope) -> bool:
    return may_edit_situation(user, situation_of(session, scope))


# ---------------------------------------------------------------- listing

NOT_STARTED_LABEL = "未开始"


def list_reports(
    session: Session, year: int, quarter: int | None = None, division_code: str | None = None
) -> list[dict]:
    """Every report of the year (or one period / division), with the divisions that have not started theirs."""
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == year)).first()
    if fiscal_year is None:
        raise ReportError(404, f"没有 {year} 年度")
    owners = session.exec(
        select(Division)
        .where(Division.id.in_(select(Project.division_id).where(Project.fiscal_year_id == fiscal_year.id)))
        .order_by(Division.code)
    ).all()
    if division_code:
        owners = [d for d in owners if d.code == division_code]
        if not owners:
            raise ReportError(404, f"处室 {division_code} 在 {year} 年度没有项目")
    reports = {
        (r.division_id, r.quarter): r
        for r in session.exec(select(Report).where(Report.fiscal_year_id == fiscal_year.id)).all()
    }
    rows = []
    for division in owners:
        for q in [quarter] if quarter else [1, 2, 3, 4]:
            report = reports.get((division.id, q))
            rows.append(
                {
                    "division": division.code,
                    "division_name": division.name,
                    "period": Period(year, q).code,
                    "state": report.state if report else "not_started",
                    "state_label": ReportState.label_of(report.state) if report else NOT_STARTED_LABEL,
                    "version": report.version if report else 0,
                    "late": bool(report and report.late),
                    "submitted_at": _stamp(report.first_submitted_at) if report else None,
                    "accepted_at": _stamp(report.accepted_at) if report else None,
                }
            )
    return rows


def _stamp(moment) -> str | None:
    return moment.astimezone(clock.zone).isoformat(timespec="minutes") if moment else None
