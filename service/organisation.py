"""The organisation: the budget unit (预算单位) and its 主管部门, and its divisions (处室) added,
renamed, retired, reactivated or loaded from a sheet (docs/domain.md §10.1, §10.2).

Shared by the pages and the CLI; every refusal is a `DecisionError` in Chinese, and a sheet is
all or nothing.  Forms and exports read the unit through `unit_names`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from .clock import clock
from .decision_error import DecisionError
from .domain.bureau import (
    NAME_MAX,
    BudgetUnit,
    division_code_problem,
    division_name_problem,
    prefix_problem,
    read_yes_no,
    split_prefixes,
)
from .domain.evaluation_form import unit_names as form_unit_names
from .domain.inputs import InputError, clean_text
from .importers.sheet_rows import SheetUnreadable, header_columns, read_sheet_rows
from .importers.source import ImportProblem, ImportRejected
from .models import Division, DivisionPrefix, FiscalYear, Organisation, Project, id_of

SAMPLE_DIVISIONS = Path(__file__).parent / "sample_data" / "divisions.json"
DIVISION_SHEET = ["代码", "名称", "前缀", "是否财务"]
UNIT_CODE_MAX = 32


# ---------------------------------------------------------------- the budget unit


def organisation(session: Session) -> Organisation:
    """The one organisation row (an empty, unsaved one before anybody set it or imported a table)."""
    return session.exec(select(Organisation).order_by(col(Organisation.id))).first() or Organisation()


def unit_names(session: Session, settings=None) -> tuple[str, str]:
    """(主管部门, 实施单位) as forms and exports print them: the organisation's record, with the settings
    PERFTRACK_BUDGET_UNIT / PERFTRACK_DEPARTMENT where a person has not named them (`evaluation_form.unit_names`)."""
    unit = organisation(session)
    return form_unit_names(
        unit.name,
        unit.department,
        unit_confirmed=not unit.from_tables,
        unit_setting=getattr(settings, "budget_unit", ""),
        department_setting=getattr(settings, "department", ""),
    )


def field_text(value: str | None, label: str, limit: int) -> str:
    """A single-line field as stored (`inputs.clean_text`); a refusal names the field."""
    try:
        return clean_text(value, limit, multiline=False)
    except InputError as exc:
        raise DecisionError(f"{label}：{exc.message}") from exc


def set_organisation(session: Session, name: str, code: str, department: str, actor: str) -> Organisation:
    name, code = field_text(name, "预算单位名称", 100), field_text(code, "单位代码", UNIT_CODE_MAX)
    department = field_text(department, "主管部门", 100)
    if not name:
        raise DecisionError("预算单位名称不能为空")
    if code and (not code.isdigit() or len(code) > UNIT_CODE_MAX):
        raise DecisionError(f"预算单位代码应为数字（如 323101）：「{code}」")
    unit = organisation(session)
    unit.name, unit.code, unit.department = name, code, department
    unit.from_tables, unit.updated_by, unit.updated_at = False, actor, clock.now()
    session.add(unit)
    session.flush()
    return unit


def check_unit(session: Session, units: list[tuple[str, BudgetUnit]]) -> list[ImportProblem]:
    """A file whose header lines name another budget unit (by code) than the organisation's is refused."""
    known = organisation(session)
    problems = []
    for location, unit in units:
        if known.code and unit.code != known.code:
            problems.append(
                ImportProblem(
                    location,
                    "预算单位",
                    f"表头的预算单位是 {unit.code} {unit.name}，本系统的是 {known.code} {known.name}",
                )
            )
    return problems


def adopt_unit(session: Session, unit: BudgetUnit | None, actor: str) -> None:
    """The first table that names its unit names the organisation, until a person sets it."""
    if unit is None:
        return
    known = organisation(session)
    if known.name:
        return
    known.name, known.code = unit.name, unit.code
    known.from_tables, known.updated_by, known.updated_at = True, actor, clock.now()
    session.add(known)


# ---------------------------------------------------------------- divisions


def _division(session: Session, code: str) -> Division:
    division = session.exec(select(Division).where(Division.code == (code or "").strip().upper())).first()
    if division is None:
        raise DecisionError(f"未知处室代码：{code}")
    return division


def _name_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    query = select(Division.id).where(Division.name == name)
    if except_id is not None:
        query = query.where(Division.id != except_id)
    return session.exec(query).first() is not None


def _finance(session: Session) -> Division | None:
    return session.exec(
        select(Division).where(col(Division.is_finance).is_(True), col(Division.active).is_(True))
    ).first()


def add_division(
    session: Session,
    code: str,
    name: str,
    prefixes: Sequence[str] = (),
    finance: bool = False,
    head_signoff: bool = False,
) -> Division:
    code, name = (code or "").strip().upper(), field_text(name, "处室名称", NAME_MAX)
    problem = division_code_problem(code) or division_name_problem(name)
    if problem:
        raise DecisionError(problem)
    if session.exec(select(Division.id).where(Division.code == code)).first() is not None:
        raise DecisionError(f"处室代码「{code}」已存在")
    if _name_taken(session, name):
        raise DecisionError(f"处室名称「{name}」已存在")
    if finance and (other := _finance(session)) is not None:
        raise DecisionError(f"已有财务处（{other.code} {other.name}）：只能有一个处室负责未归属的项目")
    division = Division(code=code, name=name, is_finance=finance, requires_head_signoff=head_signoff)
    session.add(division)
    session.flush()
    for prefix in prefixes:
        assign_prefix(session, prefix, division)
    return division


def assign_prefix(session: Session, prefix: str, division: Division) -> None:
    """Projects titled PREFIX… belong to DIVISION from the next import on."""
    prefix = (prefix or "").strip().upper()
    if problem := prefix_problem(prefix):
        raise DecisionError(problem)
    if not division.active:
        raise DecisionError(f"{division.name}已撤销，不能再负责新的项目前缀")
    mapping = session.exec(select(DivisionPrefix).where(DivisionPrefix.prefix == prefix)).first()
    if mapping is None:
        session.add(DivisionPrefix(prefix=prefix, division_id=id_of(division)))
    else:
        mapping.division_id = id_of(division)
        session.add(mapping)
    session.flush()


def rename_division(session: Session, code: str, name: str) -> Division:
    division = _division(session, code)
    name = field_text(name, "处室名称", NAME_MAX)
    if problem := division_name_problem(name):
        raise DecisionError(problem)
    if _name_taken(session, name, division.id):
        raise DecisionError(f"处室名称「{name}」已被另一个处室使用")
    division.name = name
    session.add(division)
    session.flush()
    return division


@dataclass
class Retired:
    division: Division
    dropped_prefixes: list[str]
    projects_this_year: int  # projects of the latest year it still owns (they keep reporting)


def retire_division(session: Session, code: str) -> Retired:
    """The division receives no new project from now on; its projects, reports and history stay.

    Its title prefixes are released (new projects with them go to finance with a finding)."""
    division = _division(session, code)
    if not division.active:
        raise DecisionError(f"{division.name}已撤销")
    if division.is_finance:
        raise DecisionError(f"{division.name}是财务处（负责未归属的项目），不能撤销；请先把另一个处室设为财务处")
    mappings = session.exec(select(DivisionPrefix).where(DivisionPrefix.division_id == division.id)).all()
    for mapping in mappings:
        session.delete(mapping)
    division.active, division.retired_at = False, clock.now()
    session.add(division)
    latest = session.exec(select(func.max(FiscalYear.id))).one()
    owned = (
        session.exec(
            select(func.count())
            .select_from(Project)
            .where(Project.division_id == division.id, Project.fiscal_year_id == latest)
        ).one()
        if latest
        else 0
    )
    session.flush()
    return Retired(division, sorted(m.prefix for m in mappings), owned)


def reactivate_division(session: Session, code: str) -> Division:
    division = _division(session, code)
    if division.active:
        raise DecisionError(f"{division.name}未撤销")
    division.active, division.retired_at = True, None
    session.add(division)
    session.flush()
    return division


def receiving_problem(division: Division) -> str | None:
    """Why DIVISION cannot receive a new project (None: it can)."""
    return None if division.active else f"处室「{division.name}」已撤销，不能接收新项目"


# ---------------------------------------------------------------- a sheet of divisions


@dataclass
class DivisionRow:
    location: str
    code: str
    name: str
    prefixes: list[str]
    finance: bool | None  # None: the sheet has no 是否财务 column (a known division keeps its flag)


def import_divisions(session: Session, file_name: str, data: bytes) -> dict:
    """Rows 「代码,名称,前缀,是否财务」: new codes are added, known ones renamed and given the prefixes
    listed (added to those they have).  All or nothing; raises ImportRejected naming row and column."""
    try:
        rows = read_sheet_rows(file_name, data)
    except SheetUnreadable as unreadable:
        raise ImportRejected([unreadable.problem]) from unreadable
    if not rows:
        raise ImportRejected([ImportProblem("文件", "表头", "文件是空的")])
    columns = header_columns(rows[0][1], DIVISION_SHEET, optional=("前缀", "是否财务"))
    if isinstance(columns, str):
        raise ImportRejected([ImportProblem(rows[0][0], "表头", columns)])
    parsed, problems = _read_division_rows(rows[1:], columns)
    existing = {d.code: d for d in session.exec(select(Division)).all()}
    names = {d.name: d.code for d in existing.values()}
    prefix_owner: dict[str, str] = {}
    for row in parsed:
        names_taken = names.get(row.name)
        if names_taken and names_taken != row.code:
            problems.append(ImportProblem(row.location, "名称", f"处室名称「{row.name}」已被 {names_taken} 使用"))
        names[row.name] = row.code
        division = existing.get(row.code)
        if division is not None and not division.active and row.prefixes:
            problems.append(ImportProblem(row.location, "前缀", f"{division.name}已撤销，不能再负责前缀"))
        for prefix in row.prefixes:
            if prefix in prefix_owner and prefix_owner[prefix] != row.code:
                problems.append(
                    ImportProblem(row.location, "前缀", f"前缀 {prefix} 在表中出现两次（另见 {prefix_owner[prefix]}）")
                )
            prefix_owner[prefix] = row.code
    is_finance = {
        row.code: row.finance
        if row.finance is not None
        # not given: a known division keeps its flag
        else bool(existing.get(row.code) and existing[row.code].is_finance)
        for row in parsed
    }
    listed = {row.code for row in parsed}
    finance = {code for code, flag in is_finance.items() if flag}
    finance |= {d.code for d in existing.values() if d.is_finance and d.active and d.code not in listed}
    if len(finance) != 1:
        problems.append(
            ImportProblem(
                "文件",
                "是否财务",
                f"必须恰好有一个财务处（负责未归属的项目），现在是 {len(finance)} 个"
                + (f"：{'、'.join(sorted(finance))}" if finance else ""),
            )
        )
    if problems:
        raise ImportRejected(problems)
    added, renamed = [], []
    for row in parsed:
        division = existing.get(row.code)
        if division is None:
            division = Division(code=row.code, name=row.name, is_finance=is_finance[row.code])
            session.add(division)
            session.flush()
            added.append(row.code)
        else:
            if division.name != row.name:
                renamed.append(row.code)
            division.name, division.is_finance = row.name, is_finance[row.code]
            session.add(division)
        for prefix in row.prefixes:
            assign_prefix(session, prefix, division)
    session.flush()
    return {"added": added, "renamed": renamed, "rows": len(parsed)}


def _read_division_rows(
    rows: list[tuple[str, list[str]]], columns: dict[str, int]
) -> tuple[list[DivisionRow], list[ImportProblem]]:
    parsed: list[DivisionRow] = []
    problems: list[ImportProblem] = []
    seen: dict[str, str] = {}
    for location, cells in rows:
        record = {name: (cells[i].strip() if i < len(cells) else "") for name, i in columns.items()}
        if not any(record.values()):
            continue
        code, name = record["代码"].upper(), record["名称"]
        problem = division_code_problem(code)
        if problem:
            problems.append(ImportProblem(location, "代码", problem))
            continue
        if code in seen:
            problems.append(ImportProblem(location, "代码", f"处室代码 {code} 重复（另见{seen[code]}）"))
            continue
        seen[code] = location
        if problem := division_name_problem(name):
            problems.append(ImportProblem(location, "名称", problem))
            continue
        prefixes = split_prefixes(record.get("前缀", ""))
        bad = next((problem for p in prefixes if (problem := prefix_problem(p))), None)
        if bad:
            problems.append(ImportProblem(location, "前缀", bad))
            continue
        finance = read_yes_no(record["是否财务"]) if "是否财务" in record else None
        if "是否财务" in record and finance is None:
            problems.append(ImportProblem(location, "是否财务", f"应为「是」或「否」，而不是「{record['是否财务']}」"))
            continue
        parsed.append(DivisionRow(location, code, name, prefixes, finance))
    return parsed, problems


def load_sample_divisions(session: Session) -> bool:
    """The sample bureau's divisions and prefixes (the demo year), on a database without divisions."""
    if session.exec(select(Division.id)).first() is not None:
        return False
    data = json.loads(SAMPLE_DIVISIONS.read_text(encoding="utf-8"))
    for entry in data["divisions"]:
        add_division(session, entry["code"], entry["name"], entry["prefixes"], finance=entry.get("finance", False))
    return True
