"""Importing target tables: all or nothing, idempotent, every target change recorded.

`plan_import` compares a read file with what the database holds and says what would
change (the web preview shows this); `apply_plan` writes it in the caller's
transaction.  Any `ImportProblem` rejects the whole file before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from .clock import clock
from .domain.inputs import InputError, check_decimal, clean_text
from .domain.targets import Target, parse_target
from .domain.vocabulary import FindingState, Severity
from .importers.docx_tables import read_docx
from .importers.flat import read_csv, read_xlsx
from .importers.source import ImportProblem, ProjectFinding, SourceFile, SourceProject, bounded
from .importers.text_export import read_text_export
from .models import (
    Division,
    DivisionPrefix,
    FindingRow,
    FiscalYear,
    ImportBatch,
    Indicator,
    Project,
    TargetRevision,
)
from .stored_targets import target_columns

READERS = {".txt": read_text_export, ".docx": read_docx, ".xlsx": read_xlsx, ".csv": read_csv}
DEFAULT_DIVISIONS = Path(__file__).parent / "sample_data" / "divisions.json"
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
INDICATOR_FIELDS = ("row_order", "level1", "level2", "name", "description", "weight")
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


class ImportRejected(Exception):
    """The file was not imported; `problems` name table/row, field and reason."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = bounded(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


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


def ensure_default_divisions(session: Session) -> None:
    """Create the sample divisions and prefix mapping on an empty database."""
    if session.exec(select(Division.id)).first() is not None:
        return
    data = json.loads(DEFAULT_DIVISIONS.read_text(encoding="utf-8"))
    for entry in data["divisions"]:
        division = Division(code=entry["code"], name=entry["name"], is_finance=entry.get("finance", False))
        session.add(division)
        session.flush()
        for prefix in entry["prefixes"]:
            session.add(DivisionPrefix(prefix=prefix, division_id=division.id))
    session.flush()


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


@dataclass
class ImportPlan:
    year: int
    file_name: str
    sha256: str
    format: str
    projects: list[ProjectChange] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return any(
            p.action != "unchanged" or p.missing or any(i.action != "unchanged" for i in p.indicators)
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
        }


def _dominant_year(years: list[int]) -> int | None:
    return Counter(years).most_common(1)[0][0] if years else None


def _division_lookup(session: Session) -> tuple[dict, dict, Division]:
    divisions = session.exec(select(Division)).all()
    by_key = {d.code: d for d in divisions} | {d.name: d for d in divisions}
    prefixes = {p.prefix: p.division_id for p in session.exec(select(DivisionPrefix)).all()}
    finance = next((d for d in divisions if d.is_finance), None)
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


def plan_import(session: Session, source: SourceFile, year: int, file_name: str, data: bytes) -> ImportPlan:
    """What importing `source` into `year` would change.  Raises ImportRejected on any problem."""
    problems = list(source.problems) + clean_source(source)
    dominant = _dominant_year(source.years_mentioned)
    if dominant is not None and dominant != year:
        problems.append(ImportProblem("文件", "年度", f"文件中的项目主要属于 {dominant} 年，与导入年度 {year} 不符"))
    if not source.projects and not problems:
        problems.append(ImportProblem("文件", "内容", "文件中没有任何项目"))

    ensure_default_divisions(session)
    by_key, prefixes, finance = _division_lookup(session)
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == year)).first()
    plan = ImportPlan(year, file_name, hashlib.sha256(data).hexdigest(), source.format)

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

    existing_projects = {
        p.code: p for p in session.exec(select(Project).where(Project.code.in_(list(codes_seen)))).all()
    }
    for change in plan.projects:
        current = existing_projects.get(change.code)
        if current is not None and (fiscal_year is None or current.fiscal_year_id != fiscal_year.id):
            problems.append(ImportProblem(change.code, "项目编号", f"项目编号 {change.code} 已用于另一个年度"))
    if problems:
        raise ImportRejected(problems)

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
            }
            old = current_indicators.pop(code, None)
            raw = si.raw_value if old is None or old.source_value != si.raw_value else old.raw_value
            target = parse_target(raw, si.level2, si.name, si.description, fiscal_year=year)
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


def apply_plan(session: Session, plan: ImportPlan, actor: str) -> ImportBatch | None:
    """Write the plan.  Returns the batch, or None when nothing changes (nothing is written)."""
    if not plan.changes_anything:
        return None
    fiscal_year = ensure_year(session, plan.year)
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
        p.code: p for p in session.exec(select(Project).where(Project.code.in_([c.code for c in plan.projects]))).all()
    }
    for change in plan.projects:
        project = projects.get(change.code)
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
            sync_findings(session, project.id, None, [(f.code, f.severity, f.message) for f in change.findings])
    return batch


def _apply_indicators(session, project, change: ProjectChange, batch, actor, now) -> None:
    existing = {i.code: i for i in session.exec(select(Indicator).where(Indicator.project_id == project.id)).all()}
    for ic in change.indicators:
        indicator = existing.get(ic.code)
        if indicator is None:
            indicator = Indicator(code=ic.code, project_id=project.id, **ic.values, **target_columns(ic.target))
            session.add(indicator)
            session.flush()
        elif ic.action == "update":
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
    for code in change.missing:
        existing[code].in_source = False


def sync_findings(
    session: Session, project_id: int, indicator_id: int | None, wanted: list[tuple[str, str, str]]
) -> None:
    """Make the subject's open findings exactly `wanted`.

    Findings that persist keep their state; settled ones (accepted, corrected) that no
    longer apply stay as the record of a person's decision.
    """
    query = select(FindingRow).where(FindingRow.project_id == project_id)
    query = (
        query.where(FindingRow.indicator_id == indicator_id)
        if indicator_id
        else query.where(FindingRow.indicator_id.is_(None))
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
