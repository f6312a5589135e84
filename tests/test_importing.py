"""Importing the target tables: the seed, idempotence, revisions, and all-or-nothing rejection."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from service.db import make_engine, session_scope
from service.importing import ImportRejected, import_bytes
from service.models import Division, FindingRow, ImportBatch, Indicator, Project, TargetRevision
from service.organisation import load_sample_divisions

from .conftest import import_seed, statements_run

# Indicator rows per table, counted by hand in the source file.
ROWS_PER_TABLE = {
    1: 6,
    2: 6,
    3: 7,
    4: 8,
    5: 6,
    6: 6,
    7: 7,
    8: 6,
    10: 9,
    11: 6,
    12: 6,
    13: 7,
    14: 6,
    15: 7,
    16: 6,
    17: 10,
    18: 9,
    19: 9,
    20: 11,
    21: 9,
    22: 18,
    23: 12,
    24: 10,
    25: 6,
    26: 9,
    27: 8,
    28: 11,
    29: 8,
    30: 6,
    31: 7,
    32: 7,
    33: 10,
    34: 10,
    35: 7,
    37: 6,
    38: 7,
    39: 7,
    41: 10,
    42: 6,
    44: 6,
    45: 8,
    46: 10,
    47: 6,
    48: 8,
    49: 6,
    50: 6,
    51: 6,
    52: 6,
    53: 9,
    54: 6,
    55: 12,
    56: 6,
    57: 6,
    58: 7,
    59: 6,
    60: 6,
    61: 10,
    62: 6,
    63: 9,
    64: 8,
    65: 6,
    66: 11,
}


def snapshot(engine) -> dict:
    """Everything an import can write, to prove that a rejected one wrote nothing."""
    with session_scope(engine) as session:
        return {
            "projects": [(p.code, p.budget, p.name) for p in session.exec(select(Project).order_by(Project.code))],
            "indicators": [
                (i.code, i.raw_value, i.kind) for i in session.exec(select(Indicator).order_by(Indicator.code))
            ],
            "findings": session.exec(select(func.count()).select_from(FindingRow)).one(),
            "revisions": session.exec(select(func.count()).select_from(TargetRevision)).one(),
            "batches": session.exec(select(func.count()).select_from(ImportBatch)).one(),
        }


def run_import(engine, data: bytes, name="seed.txt", year=2025, **kw) -> dict:
    with session_scope(engine) as session:
        return import_bytes(session, name, data, year, "test", **kw)


def test_seed_import_on_both_databases(database_url, seed_bytes):
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        summary = import_seed(session, seed_bytes)
    assert (summary["projects"], summary["indicators"], summary["created"]) == (62, 482, 482)
    assert summary["budget_total"] == "41449.50"
    with session_scope(engine) as session:
        projects = session.exec(select(Project)).all()
        assert len(projects) == 62
        assert sum(p.budget for p in projects) == Decimal("41449.50")
        counts = dict(
            session.exec(
                select(Project.table_no, func.count(Indicator.id))
                .join(Indicator, Indicator.project_id == Project.id)
                .group_by(Project.table_no)
            ).all()
        )
        assert counts == ROWS_PER_TABLE
        assert sum(counts.values()) == 482
        first = session.exec(select(Indicator).where(Indicator.code == "2025-018.02")).one()
        assert (first.comparator, first.target_value, first.unit) == (">=", Decimal(1100000), "平方米")
        deadline = session.exec(select(Indicator).where(Indicator.code == "2025-015.03")).one()
        assert deadline.due.isoformat() == "2025-03-31"
        no_prefix = session.exec(select(Project, Division).join(Division).where(Project.code == "2025-065")).one()
        assert no_prefix[1].is_finance
    # Re-importing the same file changes nothing and says so.
    again = run_import(engine, seed_bytes)
    assert (again["applied"], again["unchanged"], again["created"], again["updated"]) == (False, 482, 0, 0)
    assert "未做任何更改" in again["message"]
    engine.dispose()


def test_a_new_years_import_reads_no_findings_of_its_new_projects_and_indicators(engine, seed_bytes):
    """New projects and indicators have no findings to read: the seed's import read them 544 times."""
    with statements_run(engine) as statements, session_scope(engine) as session:
        summary = import_bytes(session, "seed.txt", seed_bytes, 2025, "test")
    assert summary["created"] == 482
    assert not [s for s in statements if s.startswith("SELECT") and "FROM finding" in s]
    with session_scope(engine) as session:  # and the import's findings are all there, on their subjects
        findings = session.exec(select(FindingRow)).all()
        assert findings and all(f.project_id for f in findings)
        assert {f.indicator_id for f in findings if f.indicator_id} <= set(session.exec(select(Indicator.id)).all())


def test_changed_file_records_revisions_and_reports_missing_rows(seeded_engine, seed_bytes):
    text = seed_bytes.decode("utf-8")
    changed = text.replace("\t≤23.38万元", "\t≤25万元", 1)
    # drop the satisfaction row of table 1 (its last row)
    changed = changed.replace(
        "\t满意度指标\n\t服务对象满意度指标\n\t社会服务对象满意度\n\t社会服务对象满意度\n\t≤90%\n", "", 1
    )
    summary = run_import(seeded_engine, changed.encode("utf-8"), name="seed-v2.txt")
    assert summary["updated"] == 1 and summary["missing"] == ["2025-001.06"]
    with session_scope(seeded_engine) as session:
        revision = session.exec(select(TargetRevision)).one()
        assert (revision.old_value, revision.new_value, revision.actor) == ("≤23.38万元", "≤25万元", "test")
        assert "seed-v2.txt" in revision.reason
        kept = session.exec(select(Indicator).where(Indicator.code == "2025-001.06")).one()
        assert kept.in_source is False  # reported, never deleted
        assert session.exec(select(func.count()).select_from(ImportBatch)).one() == 2


def test_reimport_keeps_a_correction_made_by_a_person(seeded_engine, seed_bytes):
    from service.target_decisions import correct_target

    with session_scope(seeded_engine) as session:
        indicator = session.exec(select(Indicator).where(Indicator.code == "2025-001.06")).one()
        correct_target(session, indicator, "≥90%", "finance", "满意度应为下限")
    summary = run_import(seeded_engine, seed_bytes)
    assert summary["applied"] is False
    with session_scope(seeded_engine) as session:
        indicator = session.exec(select(Indicator).where(Indicator.code == "2025-001.06")).one()
        assert (indicator.raw_value, indicator.source_value, indicator.comparator) == ("≥90%", "≤90%", ">=")


@pytest.mark.parametrize(
    "mutate, location_part, field",
    [
        (lambda t: t.replace("\t23.38\n\t其中", "\t-23.38\n\t其中", 1), "第 1 号表", "预算数"),
        (
            lambda t: t.replace("2.YW（市级）天津市商务局办公自动化", "1.YW（市级）天津市商务局办公自动化", 1),
            "第 1 号表",
            "项目编号",
        ),
        (lambda t: t.replace("\t23.92\n\t其中", "\t二十三\n\t其中", 1), "第 2 号表", "预算数"),
        (
            lambda t: t.replace(
                "\t一级指标\n\t二级指标\n\t三级指标\n\t绩效指标描述\n\t指标值\n", "\t一级指标\n\t二级指标\n", 1
            ),
            "第 1 号表",
            "表头",
        ),
    ],
)
def test_bad_file_is_rejected_whole_and_writes_nothing(seeded_engine, seed_bytes, mutate, location_part, field):
    before = snapshot(seeded_engine)
    bad = mutate(seed_bytes.decode("utf-8")).encode("utf-8")
    with pytest.raises(ImportRejected) as rejected:
        run_import(seeded_engine, bad.replace(b"\xe2\x89\xa423.38", b"\xe2\x89\xa499"))  # plus a valid change elsewhere
    problems = rejected.value.problems
    assert any(location_part in p.location and p.field == field for p in problems), problems
    assert snapshot(seeded_engine) == before


def test_wrong_year_is_rejected(engine, seed_bytes):
    before = snapshot(engine)
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, seed_bytes, year=2024)
    assert any(p.field == "年度" for p in rejected.value.problems)
    assert snapshot(engine) == before


def test_not_a_target_table(engine):
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, "随便一段文字\n".encode("gb18030"), name="notes.txt")
    assert rejected.value.problems[0].field == "结构"
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, b"PK\x03\x04junk", name="broken.docx")
    assert rejected.value.problems[0].field == "格式"
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, b"x", name="notes.pdf")
    assert rejected.value.problems[0].field == "文件类型"


def test_dry_run_writes_nothing(engine, seed_bytes):
    before = snapshot(engine)
    summary = run_import(engine, seed_bytes, dry_run=True)
    assert summary["created"] == 482 and summary["applied"] is False
    assert snapshot(engine) == before


def test_findings_of_the_seed(seeded_engine):
    with session_scope(seeded_engine) as session:
        rows = session.exec(
            select(FindingRow.code, Indicator.code).join(Indicator, Indicator.id == FindingRow.indicator_id)
        ).all()
        by_code = {}
        for finding_code, indicator_code in rows:
            by_code.setdefault(finding_code, set()).add(indicator_code)
        assert by_code["inverted_comparator"] == {"2025-001.06"}
        assert by_code["missing_number"] == {"2025-018.06"}
        assert by_code["suspect_unit"] == {"2025-063.04"}
        assert by_code["vacuous_bound"] == {"2025-028.10"}
        assert by_code["label_glued"] == {"2025-062.06"}
        assert by_code["trailing_text"] == {"2025-061.09"}
        assert by_code["unknown_unit"] == {"2025-026.08"}
        assert {"2025-031.04", "2025-032.04", "2025-038.04"} <= by_code["cost_lower_bound"]
        assert by_code["name_repeats_level2"] == {"2025-045.01", "2025-062.06"}
        project_level = session.exec(
            select(FindingRow.code, Project.code).join(Project).where(FindingRow.indicator_id.is_(None))
        ).all()
        assert ("division_unassigned", "2025-065") in project_level
        assert ("division_unassigned", "2025-066") in project_level


def test_text_and_numbers_no_column_keeps_are_refused_on_both_databases(database_url):
    """NUL, a 二级指标 over its 50 characters and a target of 400 nines were PostgreSQL 500s (and
    Infinity on SQLite); now the file is refused with row and field, and nothing is written."""
    from .documents import as_csv, flat_rows

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        load_sample_divisions(session)
    rows = flat_rows()
    rows[0][7] = "档案\x00数量"
    rows[1][6] = "时" * 51
    rows[3][4] = "9" * 16
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, as_csv(rows), name="bad.csv")
    assert {(p.location, p.field, p.message) for p in rejected.value.problems} == {
        ("第 2 行", "三级指标", "含有空字符（NUL），请删除后重试"),
        ("第 3 行", "二级指标", "不能超过 50 个字（现有 51 个字）"),
        ("第 5 行", "年度预算数", "数值过大：绝对值应小于 1000 亿（100,000,000,000）"),
    }
    rows = flat_rows()
    rows[2][9] = "≥" + "9" * 400 + "%"
    with pytest.raises(ImportRejected) as rejected:
        run_import(engine, as_csv(rows), name="bad.csv")
    assert [(p.location, p.field, p.message) for p in rejected.value.problems] == [
        ("第 4 行", "指标值", "数值过大：绝对值应小于 1000 亿（100,000,000,000）")
    ]
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Project)).one() == 0
    rows = flat_rows()
    rows[0][7] = "档案\x0b数量\x07"  # a soft line break from Word in a single-line field
    run_import(engine, as_csv(rows), name="good.csv")
    with session_scope(engine) as session:
        assert session.exec(select(Indicator.name).where(Indicator.code == "ZX-001.01")).one() == "档案 数量"
    engine.dispose()
