"""Importing target tables: all or nothing, idempotent, every target change recorded.

`plan_import` compares a read file with what the database holds and says what would
change (the web preview shows this); `apply_plan` writes it in the caller's
transaction.  Any `ImportProblem` rejects the whole file before anything is written.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from .clock import clock
from .continuity import (
    LinkProposal,
    choose_link,
    indicator_pairs,
    outcomes_of,
    propose_links,
    read_indicator_target,
    refresh_history,
    store_link,
)
from .domain.bureau import BudgetUnit, read_unit_line
from .domain.inputs import InputError, check_decimal, clean_text
from .domain.targets import Target
from .domain.vocabulary import Severity
from .finding_sync import sync_findings  # noqa: F401  (re-exported: target_decisions imports it from here)
from .importers.flat import read_csv, read_xlsx
from .importers.source import ImportProblem, ImportRejected, ProjectFinding, SourceFile, SourceProject
from .importers.text_export import read_text_export
from .models import (
    Division,
    DivisionPrefix,
    FiscalYear,
    ImportBatch,
    Indicator,
    Project,
    ProjectLink,
    ProjectTransfer,
    TargetRevision,
    id_of,
)
from .organisation import adopt_unit, check_unit, receiving_problem
from .stored_targets import target_columns


def _read_docx(data: bytes) -> SourceFile:
    """python-docx (0.2 s to import) is loaded when a Word file comes in, not by every process that imports."""
    from .importers.docx_tables import read_docx

    return read_docx(data)


READERS = {".txt": read_text_export, ".docx": _read_docx, ".xlsx": read_xlsx, ".csv": read_csv}
PROJECT_FIELDS = (
    "table_no",
    "title",
    "name",
    "prefix",
    "division_id",
    "funding_level",
    "budget",
    "fiscal_funds",
    "other_funds",
    "use_of_funds",
    "goals",
    "budget_unit",
)
INDICATOR_FIELDS = ("row_order", "level1", "level2", "name", "description", "weight", "stated_direction")
# Text read from a table: (attribute, label, longest allowed, may hold line breaks); the limits are
# the columns' (Project.code, Indicator.level1/level2) or generous bounds for the Text columns.
PROJECT_TEXT = (
    ("code", "项目编号", 60, False),
    ("title", "项目标题", 500, False),
    ("name", "项目名称", 500, False),
    ("prefix", "处室前缀", 8, False),
    ("funding_level", "资金来源", 8, False),
    ("division", "处室", 100, False),
    ("use_of_funds", "资金用途", 5000, True),
)
INDICATOR_TEXT = (
    ("level1", "一级指标", 50, False),
    ("level2", "二级指标", 50, False),
    ("name", "三级指标", 500, False),
    ("description", "指标内容", 2000, True),
    ("raw_value", "指标值", 500, False),
)
PROJECT_MONEY = (("budget", "年度预算数"), ("fiscal_funds", "财政拨款"), ("other_funds", "其他资金"))


def read_source(file_name: str, data: bytes) -> SourceFile:
    reader = READERS.get(Path(file_name).suffix.lower())
    if reader is None:
        source = SourceFile(format="unknown")
        source.problems.append(
            ImportProblem(
                "文件",
                "文件类型",
                f"不支持的文件类型「{Path(file_name).suffix}」，请上传 .txt、.docx、.xlsx 或 .csv",
            )
        )
        return source
    return reader(data)


def ensure_year(session: Session, year: int) -> FiscalYear:
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == year)).first()
    if fiscal_year is None:
        fiscal_year = FiscalYear(year=year)
        session.add(fiscal_year)
        session.flush()
    return fiscal_year


# ------------------------------------------------------------------ planning


@dataclass
class IndicatorChange:
    code: str
    action: str  # create | update | unchanged
    fields: dict = field(default_factory=dict)  # name -> (old, new)
    target: Target | None = None
    values: dict = field(default_factory=dict)


@dataclass
class ProjectChange:
    code: str
    action: str
    fields: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    findings: list[ProjectFinding] = field(default_factory=list)
    indicators: list[IndicatorChange] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # indicator codes no longer in the file
    link: LinkProposal | None = None  # last year's project it continues
    link_changed: bool = False  # the link differs from the one stored (or a person decided it)


@dataclass
class ImportPlan:
    year: int
    file_name: str
    sha256: str
    format: str
    projects: list[ProjectChange] = field(default_factory=list)
    unit: BudgetUnit | None = None  # the budget unit the tables' header line names
    previous_year: bool = False  # the year before has projects: links were proposed

    @property
    def changes_anything(self) -> bool:
        return any(
            p.action != "unchanged" or p.missing or p.link_changed or any(i.action != "unchanged" for i in p.indicators)
            for p in self.projects
        )

    def summary(self) -> dict:
        indicators = [i for p in self.projects for i in p.indicators]
        count = Counter(i.action for i in indicators)
        findings = Counter(f.code for p in self.projects for f in p.findings)
        findings.update(f.code for i in indicators for f in i.target.findings)
        return {
            "year": self.year,
            "file": self.file_name,
            "format": self.format,
            "projects": len(self.projects),
            "indicators": len(indicators),
            "created": count["create"],
            "updated": count["update"],
            "unchanged": count["unchanged"],
            "projects_created": sum(p.action == "create" for p in self.projects),
            "projects_updated": sum(p.action == "update" for p in self.projects),
            "missing": [code for p in self.projects for code in p.missing],
            "budget_total": str(sum((p.values["budget"] for p in self.projects), Decimal(0))),
            "findings": dict(sorted(findings.items())),
            "links": {p.code: p.link.previous_code if p.link else None for p in self.projects}
            if self.previous_year
            else {},
        }


def _dominant_year(years: list[int]) -> int | None:
    return Counter(years).most_common(1)[0][0] if years else None


def _division_lookup(session: Session) -> tuple[dict, dict, Division]:
    divisions = session.exec(select(Division)).all()
    if not divisions:
        raise ImportRejected(
            [
                ImportProblem(
                    "系统设置",
                    "处室",
                    "尚未设置处室：请先添加处室（处室页面，或 perftrack divisions add / import），再导入绩效目标表",
                )
            ]
        )
    by_key = {d.code: d for d in divisions} | {d.name: d for d in divisions}
    prefixes = {p.prefix: p.division_id for p in session.exec(select(DivisionPrefix)).all()}
    finance = next((d for d in divisions if d.is_finance and d.active), None)
    if finance is None:
        raise ImportRejected([ImportProblem("系统设置", "处室", "没有设为财务处的处室，无法归属未标前缀的项目")])
    return by_key, prefixes, finance


def clean_source(source: SourceFile) -> list[ImportProblem]:
    """Normalise every text of the file once (`inputs.clean_text`) and hold its numbers to what the
    columns store; what cannot be taken is a problem naming the table/row and the field."""
    problems: list[ImportProblem] = []

    def clean(record, fields, location) -> None:
        for name, label, limit, multiline in fields:
            value = getattr(record, name)
            if value is None:
                continue
            try:
                setattr(record, name, clean_text(value, limit, multiline=multiline))
            except InputError as exc:
                problems.append(ImportProblem(location, label, exc.message))

    def number(value, label, location, **domain) -> None:
        try:
            if value is not None:
                check_decimal(value, **domain)
        except InputError as exc:
            problems.append(ImportProblem(location, label, exc.message))

    for sp in source.projects:
        clean(sp, PROJECT_TEXT, sp.location)
        try:
            sp.goals = [clean_text(goal, 2000) for goal in sp.goals]
        except InputError as exc:
            problems.append(ImportProblem(sp.location, "绩效目标", exc.message))
        for name, label in PROJECT_MONEY:
            number(getattr(sp, name), label, sp.location, places=None, minimum=None)
        for si in sp.indicators:
            location = si.location or sp.location
            clean(si, INDICATOR_TEXT, location)
            number(si.weight, "分值", location, places=None, maximum=Decimal(100))
    return problems


def target_problem(target: Target) -> str | None:
    """Why a read target cannot be stored (a number no column keeps), or None."""
    try:
        if target.value is not None:
            check_decimal(target.value, places=None, minimum=None)
    except InputError as exc:
        return exc.message
    return None


def plan_import(
    session: Session,
    source: SourceFile,
    year: int,
    file_name: str,
    data: bytes,
    links: dict[str, str | None] | None = None,
) -> ImportPlan:
    """What importing `source` into `year` would change.  Raises ImportRejected on any problem.

    LINKS is a person's choice of last year's project (its code, or None: a new project) for every
    project code of the file; without it, links are proposed by code or title (docs/domain.md §10.3)."""
    problems = list(source.problems) + clean_source(source)
    dominant = _dominant_year(source.years_mentioned)
    if dominant is not None and dominant != year:
        problems.append(ImportProblem("文件", "年度", f"文件中的项目主要属于 {dominant} 年，与导入年度 {year} 不符"))
    if not source.projects and not problems:
        problems.append(ImportProblem("文件", "内容", "文件中没有任何项目"))

    by_key, prefixes, finance = _division_lookup(session)
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == year)).first()
    plan = ImportPlan(year, file_name, hashlib.sha256(data).hexdigest(), source.format)
    division_names = [d.name for d in by_key.values()]
    units = [
        (sp.location, unit)
        for sp in source.projects
        if sp.budget_unit and (unit := read_unit_line(sp.budget_unit, division_names))
    ]
    problems += check_unit(session, units)
    plan.unit = units[0][1] if units else None

    codes_seen: dict[str, str] = {}
    for sp in source.projects:
        code = sp.code or f"{year}-{sp.table_no:03d}"
        if code in codes_seen:
            problems.append(ImportProblem(sp.location, "项目编号", f"项目编号 {code} 重复（另见 {codes_seen[code]}）"))
            continue
        codes_seen[code] = sp.location
        if sp.code and sp.code[:4].isdigit() and int(sp.code[:4]) != year:
            problems.append(
                ImportProblem(sp.location, "项目编号", f"项目编号 {code} 属于 {sp.code[:4]} 年，与导入年度 {year} 不符")
            )
        division_id, findings = _assign_division(sp, by_key, prefixes, finance, problems)
        plan.projects.append(ProjectChange(code, "create", values=_project_values(sp, division_id), findings=findings))

    existing_projects = (
        {}
        if fiscal_year is None
        else {
            p.code: p
            for p in session.exec(
                select(Project).where(Project.fiscal_year_id == fiscal_year.id, Project.code.in_(list(codes_seen)))
            ).all()
        }
    )
    divisions_by_id = {d.id: d for d in by_key.values()}
    moved = (
        set(
            session.exec(
                select(ProjectTransfer.project_id).where(
                    ProjectTransfer.project_id.in_([p.id for p in existing_projects.values()])
                )
            )
        )
        if existing_projects
        else set()
    )
    for change, sp in zip(plan.projects, source.projects, strict=False):
        current = existing_projects.get(change.code)
        if current is not None and _keeps_division(current, change, moved):
            change.values["division_id"] = current.division_id
            change.findings = [f for f in change.findings if f.code != "division_unassigned"]
        division = divisions_by_id[change.values["division_id"]]
        if (current is None or current.division_id != division.id) and (reason := receiving_problem(division)):
            problems.append(ImportProblem(sp.location, "处室", reason))
    if problems:
        raise ImportRejected(problems)
    _plan_links(session, plan, existing_projects, links)

    existing_indicators: dict[int, dict[str, Indicator]] = {}
    if existing_projects:
        ids = [p.id for p in existing_projects.values()]
        for indicator in session.exec(select(Indicator).where(Indicator.project_id.in_(ids))).all():
            existing_indicators.setdefault(indicator.project_id, {})[indicator.code] = indicator

    for change, sp in zip(plan.projects, source.projects, strict=False):
        current = existing_projects.get(change.code)
        if current is not None:
            change.fields = {
                f: (getattr(current, f), change.values[f])
                for f in PROJECT_FIELDS
                if _differs(getattr(current, f), change.values[f])
            }
            change.action = "update" if change.fields else "unchanged"
        current_indicators = existing_indicators.get(current.id, {}) if current else {}
        histories = _histories(session, change.link, sp)
        for si in sp.indicators:
            code = f"{change.code}.{si.row_no:02d}"
            values = {
                "row_order": si.row_no,
                "level1": si.level1,
                "level2": si.level2,
                "name": si.name,
                "description": si.description,
                "weight": si.weight,
                "source_value": si.raw_value,
                "stated_direction": si.stated_direction,
            }
            old = current_indicators.pop(code, None)
            raw = si.raw_value if old is None or old.source_value != si.raw_value else old.raw_value
            target = read_indicator_target(
                raw, si.level2, si.name, si.description, year, histories.get(si.row_no), si.stated_direction
            )
            unstored = target_problem(target)
            if unstored:
                problems.append(ImportProblem(si.location or sp.location, "指标值", unstored))
            ic = IndicatorChange(code, "create", target=target, values=values | {"raw_value": raw})
            if old is not None:
                ic.fields = {
                    f: (getattr(old, f), values[f]) for f in INDICATOR_FIELDS if _differs(getattr(old, f), values[f])
                }
                if old.source_value != si.raw_value:
                    ic.fields["raw_value"] = (old.raw_value, si.raw_value)
                if not old.in_source:
                    ic.fields["in_source"] = (False, True)
                ic.action = "update" if ic.fields else "unchanged"
            change.indicators.append(ic)
        change.missing = sorted(code for code, ind in current_indicators.items() if ind.in_source)
    if problems:
        raise ImportRejected(problems)
    return plan


def _keeps_division(current: Project, change: ProjectChange, moved: set[int]) -> bool:
    """A project already stored keeps its division when a person moved it (the move wins over the file),
    or when the file only sends it to finance for want of a known prefix (a retired division's
    released prefixes do not move its projects)."""
    fallback = any(f.code == "division_unassigned" for f in change.findings)
    return current.id in moved or fallback


def _plan_links(
    session: Session, plan: ImportPlan, existing: dict[str, Project], links: dict[str, str | None] | None
) -> None:
    """Each project's link to last year's: proposed, kept as confirmed, or as a person chose."""
    proposals = propose_links(
        session,
        plan.year,
        [(c.code, c.values["title"]) for c in plan.projects],
        {code: id_of(p) for code, p in existing.items()},
    )
    plan.previous_year = (
        bool(proposals)
        or session.exec(select(FiscalYear.id).where(FiscalYear.year == plan.year - 1)).first() is not None
    )
    if not plan.previous_year:
        return
    stored = (
        {
            link.project_id: link
            for link in session.exec(
                select(ProjectLink).where(ProjectLink.project_id.in_([p.id for p in existing.values()]))
            ).all()
        }
        if existing
        else {}
    )
    problems, chosen = [], set()
    for change in plan.projects:
        if links is not None:
            try:
                change.link = choose_link(session, plan.year, links.get(change.code))
            except ValueError as exc:
                problems.append(ImportProblem(change.code, "上年项目", str(exc)))
                continue
            proposed = proposals.get(change.code)
            if change.link is not None and proposed is not None and proposed.previous_id == change.link.previous_id:
                change.link = replace(proposed, confirmed=True)  # confirmed as proposed: keep how it was found
            if change.link is not None:
                if change.link.previous_id in chosen:
                    problems.append(
                        ImportProblem(change.code, "上年项目", f"上年项目 {change.link.previous_code} 被选了两次")
                    )
                chosen.add(change.link.previous_id)
        else:
            change.link = proposals.get(change.code)
        project = existing.get(change.code)
        old = stored.get(project.id) if project is not None else None
        change.link_changed = (old.previous_project_id if old else None) != (
            change.link.previous_id if change.link else None
        ) or (links is not None and (old is None or old.confirmed_at is None) and change.link is not None)
    if problems:
        raise ImportRejected(problems)


def _histories(session: Session, link: LinkProposal | None, sp: SourceProject) -> dict:
    """row number -> 历史值 of the previous-year indicator it continues (when it has one)."""
    if link is None:
        return {}
    pairs = indicator_pairs(
        session, link.previous_id, [(si.row_no, si.level1, si.level2, si.name) for si in sp.indicators]
    )
    last = outcomes_of(session, list(pairs.values()))
    return {row: last[previous].history for row, previous in pairs.items() if last[previous].history is not None}


def _differs(old, new) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return (None if old is None else Decimal(old)) != (None if new is None else Decimal(new))
    return old != new


def _assign_division(sp: SourceProject, by_key, prefixes, finance, problems) -> tuple[int, list[ProjectFinding]]:
    findings = list(sp.findings)
    if sp.division:
        division = by_key.get(sp.division)
        if division is None:
            problems.append(
                ImportProblem(sp.location, "处室", f"未知处室「{sp.division}」：请使用已登记的处室名称或代码")
            )
            return finance.id, findings
        return division.id, findings
    if sp.prefix and sp.prefix in prefixes:
        division_id = prefixes[sp.prefix]
    else:
        division_id = finance.id
        reason = f"前缀「{sp.prefix}」未登记" if sp.prefix else "标题没有处室前缀"
        findings.append(
            ProjectFinding("division_unassigned", Severity.WARNING, f"{reason}，项目暂归{finance.name}，请指定责任处室")
        )
    if sp.funding_level is None:
        findings.append(ProjectFinding("funding_level_missing", Severity.INFO, "标题未注明资金来源（市级/中央）"))
    return division_id, findings


def _project_values(sp: SourceProject, division_id: int) -> dict:
    return {
        "table_no": sp.table_no,
        "title": sp.title,
        "name": sp.name,
        "prefix": sp.prefix,
        "division_id": division_id,
        "funding_level": sp.funding_level,
        "budget": sp.budget,
        "fiscal_funds": sp.fiscal_funds,
        "other_funds": sp.other_funds,
        "use_of_funds": sp.use_of_funds,
        "goals": sp.goals,
        "budget_unit": sp.budget_unit,
    }


# ------------------------------------------------------------------ applying


def apply_plan(session: Session, plan: ImportPlan, actor: str, links_confirmed: bool = False) -> ImportBatch | None:
    """Write the plan.  Returns the batch, or None when nothing changes (nothing is written).

    LINKS_CONFIRMED: the person importing confirmed the plan's links (the web preview)."""
    if not plan.changes_anything:
        return None
    fiscal_year = ensure_year(session, plan.year)
    adopt_unit(session, plan.unit, actor)
    batch = ImportBatch(
        fiscal_year_id=fiscal_year.id,
        file_name=plan.file_name,
        sha256=plan.sha256,
        format=plan.format,
        actor=actor,
        summary=plan.summary(),
    )
    session.add(batch)
    session.flush()
    now = clock.now()
    projects = {
        p.code: p
        for p in session.exec(
            select(Project).where(
                Project.fiscal_year_id == fiscal_year.id, Project.code.in_([c.code for c in plan.projects])
            )
        ).all()
    }
    relinked: list[int] = []  # indicators whose 历史值 is written afresh once every link is stored
    for change in plan.projects:
        project = projects.get(change.code)
        created = project is None
        if project is None:
            project = Project(code=change.code, fiscal_year_id=fiscal_year.id, **change.values)
            session.add(project)
            session.flush()
        elif change.fields:
            for name, (_, new) in change.fields.items():
                setattr(project, name, new)
            project.updated_at = now
        if change.missing or any(i.action != "unchanged" for i in change.indicators):
            _apply_indicators(session, project, change, batch, actor, now)
        if change.action != "unchanged":
            findings = [(f.code, f.severity, f.message) for f in change.findings]
            sync_findings(session, project.id, None, findings, new_subject=created)
        indicators_changed = any(i.action != "unchanged" for i in change.indicators)
        if plan.previous_year and (change.link_changed or change.action == "create" or indicators_changed):
            relinked += store_link(session, project, change.link, actor if links_confirmed else None, refresh=False)
    if relinked:
        refresh_history(session, relinked)
    return batch


def _apply_indicators(session, project, change: ProjectChange, batch, actor, now) -> None:
    existing = {i.code: i for i in session.exec(select(Indicator).where(Indicator.project_id == project.id)).all()}
    created: list[tuple[Indicator, IndicatorChange]] = []
    for ic in change.indicators:
        indicator = existing.get(ic.code)
        if indicator is None:
            indicator = Indicator(code=ic.code, project_id=project.id, **ic.values, **target_columns(ic.target))
            session.add(indicator)
            created.append((indicator, ic))
            continue
        if ic.action == "update":
            if "raw_value" in ic.fields:
                session.add(
                    TargetRevision(
                        indicator_id=indicator.id,
                        old_value=indicator.raw_value,
                        new_value=ic.values["raw_value"],
                        actor=actor,
                        reason=f"导入文件「{batch.file_name}」",
                        import_batch_id=batch.id,
                    )
                )
            for name, value in ic.values.items():
                setattr(indicator, name, value)
            for name, value in target_columns(ic.target).items():
                setattr(indicator, name, value)
            indicator.in_source = True
            indicator.updated_at = now
        if ic.action != "unchanged":
            sync_findings(
                session, project.id, indicator.id, [(f.code, f.severity, f.message) for f in ic.target.findings]
            )
    session.flush()  # the project's new indicators in one statement, for their ids
    for indicator, ic in created:
        findings = [(f.code, f.severity, f.message) for f in ic.target.findings]
        sync_findings(session, project.id, indicator.id, findings, new_subject=True)
    for code in change.missing:
        existing[code].in_source = False


def import_bytes(session: Session, file_name: str, data: bytes, year: int, actor: str, dry_run: bool = False) -> dict:
    """Read, plan and (unless dry_run) apply one file.  Raises ImportRejected."""
    source = read_source(file_name, data)
    plan = plan_import(session, source, year, file_name, data)
    summary = plan.summary()
    if dry_run:
        summary["applied"] = False
        return summary
    batch = apply_plan(session, plan, actor)
    summary["applied"] = batch is not None
    summary["batch_id"] = batch.id if batch else None
    summary["message"] = "已导入" if batch else "与已导入的内容完全相同，未做任何更改"
    return summary
