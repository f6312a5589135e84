"""Reviewer grades of qualitative and late indicators: one at a time (the self-evaluation page) or
in bulk (`perftrack grades import`, CSV or xlsx `指标编号,评价档次,得分比例,说明`), under the same rules.

评价档次 is 达成 / 部分达成 / 未达成 and 得分比例 a percentage inside that band (the policy's
band edges).  A file is taken all or nothing; every problem names the row, the column and the reason.
A grade takes effect at once in the year's current run; a locked year takes none.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from .clock import clock
from .decision_error import DecisionError
from .domain.inputs import InputError, clean_text, read_decimal
from .domain.scoring import Review, ScoringPolicy
from .domain.vocabulary import Band, TargetKind
from .evaluation import LOCKED_MESSAGE, MAX_NOTE, current_run
from .importers.sheet_rows import SheetUnreadable, read_sheet_rows
from .importers.source import ImportProblem
from .importing import ImportRejected
from .models import EvaluationRun, FiscalYear, Indicator, Project, ReviewerGrade
from .reviews import apply_grade, open_year_run

HEADER = ["指标编号", "评价档次", "得分比例", "说明"]
JUDGED = (TargetKind.QUALITATIVE, TargetKind.DEADLINE)  # scored by a reviewer's grade, not by a number


def read_rows(file_name: str, data: bytes) -> list[tuple[str, list[str]]]:
    try:
        return read_sheet_rows(file_name, data)
    except SheetUnreadable as unreadable:
        raise ImportRejected([unreadable.problem]) from unreadable


class GradeRefused(DecisionError):
    """A grade that cannot be taken: FIELD (评价档次 or 得分比例) and the reason."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}：{message}")
        self.field, self.message = field, message


def read_grade(band: str, percent_text: str, policy: ScoringPolicy) -> tuple[str, Decimal | None]:
    """评价档次 and 得分比例: a percentage inside the band's edges, or None for the band's default."""
    band, text = (band or "").strip(), (percent_text or "").strip()
    choices = " / ".join(Band.values())
    if band not in Band.values():
        raise GradeRefused("评价档次", f"「{band}」应为 {choices}" if band else f"未填写，应为 {choices}")
    if not text:
        return band, None
    try:
        percent = read_decimal(text.rstrip("%％").strip(), places=2, maximum=Decimal(100))
    except InputError as exc:
        raise GradeRefused("得分比例", exc.message) from exc
    low, high = policy.bands[band]
    if not low <= percent <= high:
        raise GradeRefused("得分比例", f"{text} 不在「{band}」档 {low}–{high}% 内")
    return band, percent


def grade_indicator(
    session: Session,
    indicator: Indicator,
    band: str,
    percent_text: str,
    note: str,
    actor: str,
    policy: ScoringPolicy = ScoringPolicy(),
) -> ReviewerGrade:
    """Finance grades one qualitative or late indicator; it takes effect in the year's current run at once
    (docs/domain.md §9.4), and in every later run."""
    year_id = session.execute(select(Project.fiscal_year_id).where(Project.id == indicator.project_id)).scalar_one()
    run = open_year_run(session, year_id)  # refuses a locked year
    if indicator.kind not in JUDGED:
        raise DecisionError(f"指标 {indicator.code} 是定量指标，按实际值计分，不需评定档次")
    if run is not None:
        policy = ScoringPolicy.from_dict(run.policy)
    band, percent = read_grade(band, percent_text, policy)
    try:
        note = clean_text(note, MAX_NOTE)
    except InputError as exc:
        raise GradeRefused("说明", exc.message) from exc
    existing = session.execute(select(ReviewerGrade).where(ReviewerGrade.indicator_id == indicator.id)).scalar()
    grade = _store(session, existing, indicator.id, band, percent, note, actor)
    if run is not None:
        apply_grade(session, run, indicator, Review(band, percent, note))
    session.flush()
    return grade


def import_grades(
    session: Session,
    file_name: str,
    data: bytes,
    actor: str,
    policy: ScoringPolicy = ScoringPolicy(),
    year: int | None = None,
) -> int:
    """YEAR: the budget year graded; without it, a code must exist in one year only."""
    rows = read_rows(file_name, data)
    if not rows or rows[0][1][:3] != HEADER[:3]:
        raise ImportRejected([ImportProblem("第 1 行", "表头", f"应为「{','.join(HEADER)}」")])
    problems, parsed = [], []
    codes = {r[1][0] for r in rows[1:] if r[1]}
    query = (
        select(Indicator.code, Indicator.id, FiscalYear.year, Indicator.kind)
        .join(Project, Project.id == Indicator.project_id)
        .join(FiscalYear, FiscalYear.id == Project.fiscal_year_id)
        .where(Indicator.code.in_(codes))
    )
    if year is not None:
        query = query.where(FiscalYear.year == year)
    found: dict[str, list[tuple[int, int]]] = {}
    kinds: dict[str, str] = {}
    for code, indicator_id, indicator_year, kind in session.execute(query).all():
        found.setdefault(code, []).append((indicator_id, indicator_year))
        kinds[code] = kind
    locked = set(  # years whose self-evaluation is filed
        session.execute(
            select(FiscalYear.year).join(
                EvaluationRun, (EvaluationRun.fiscal_year_id == FiscalYear.id) & EvaluationRun.locked.is_(True)
            )
        ).scalars()
    )
    for location, cells in rows[1:]:
        cells = (cells + [""] * 4)[:4]
        if not any(cells):
            continue
        code, band, percent_text, note = cells
        if code not in found:
            problems.append(
                ImportProblem(location, "指标编号", f"指标编号「{code}」不存在" + (f"于 {year} 年度" if year else ""))
            )
            continue
        if len(found[code]) > 1:
            listed = "、".join(str(y) for _, y in sorted(found[code], key=lambda f: f[1]))
            problems.append(ImportProblem(location, "指标编号", f"指标编号「{code}」在 {listed} 年度都有：请指定年度"))
            continue
        if found[code][0][1] in locked:
            problems.append(ImportProblem(location, "指标编号", LOCKED_MESSAGE.format(year=found[code][0][1])))
            continue
        if kinds[code] not in JUDGED:
            problems.append(ImportProblem(location, "指标编号", f"指标 {code} 是定量指标，按实际值计分，不需评定档次"))
            continue
        try:
            band, percent = read_grade(band, percent_text, policy)
            note = clean_text(note, MAX_NOTE)
        except GradeRefused as refused:
            problems.append(ImportProblem(location, refused.field, refused.message))
            continue
        except InputError as exc:
            problems.append(ImportProblem(location, "说明", exc.message))
            continue
        parsed.append((found[code][0][0], band, percent, note))
    if problems:
        raise ImportRejected(problems)
    indicators = {
        i.id: i
        for i in session.execute(select(Indicator).where(col(Indicator.id).in_([p[0] for p in parsed]))).scalars()
    }
    years = dict(
        session.execute(
            select(Project.id, Project.fiscal_year_id).where(
                col(Project.id).in_({i.project_id for i in indicators.values()})
            )
        ).all()
    )
    runs = {year_id: current_run(session, year_id) for year_id in set(years.values())}
    existing = {
        g.indicator_id: g
        for g in session.execute(
            select(ReviewerGrade).where(ReviewerGrade.indicator_id.in_([p[0] for p in parsed]))
        ).scalars()
    }
    for indicator_id, band, percent, note in parsed:
        _store(session, existing.get(indicator_id), indicator_id, band, percent, note, actor)
        indicator = indicators[indicator_id]
        run = runs.get(years[indicator.project_id])
        if run is not None:  # grades take effect in the current run
            apply_grade(session, run, indicator, Review(band, percent, note))
    session.flush()
    return len(parsed)


def _store(
    session: Session,
    grade: ReviewerGrade | None,
    indicator_id: int,
    band: str,
    percent: Decimal | None,
    note: str,
    actor: str,
) -> ReviewerGrade:
    grade = grade or ReviewerGrade(indicator_id=indicator_id, band=band, actor=actor)
    grade.band, grade.percent, grade.note, grade.actor, grade.updated_at = band, percent, note, actor, clock.now()
    session.add(grade)
    return grade
