"""The report service on SQLite and PostgreSQL: history, idempotence, all-or-nothing, workflow, locks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from service.clock import clock
from service.db import make_engine, session_scope
from service.domain.actuals import RawActual
from service.models import ActualEntry, FiscalYear, ReportEvent, User
from service.reporting.read import changes_since_return, indicator_history
from service.reporting.reports import ActualRow, ReportError, SpendRow, load_scope, save, set_period_lock, transition

from .reporting_helpers import complete_rows, snapshot

XXH_CODE = "2025-001.01"  # 全年任务量 ≥5项 (电子商务和信息化处)
RATE_CODE = "2025-001.02"  # 验收合格率 100%
DEADLINE_CODE = "2025-010.06"  # 2025全年底前完成 (口岸管理处)


@pytest.fixture
def engine(seeded_database_url):
    """The seed year and one user per role (口岸管理处 signs off by its head), on SQLite and PostgreSQL."""
    engine = make_engine(seeded_database_url)
    clock.set_today(date(2025, 7, 3))
    yield engine
    engine.dispose()


def _user(session, name: str) -> User:
    return session.exec(select(User).where(User.username == name)).one()


def _save(engine, division, quarter, rows, user="xxh", spend=(), **kwargs):
    with session_scope(engine) as session:
        scope = load_scope(session, 2025, division, quarter)
        return save(session, scope, _user(session, user), rows, list(spend), "test", **kwargs)


def test_every_save_is_a_new_version_and_repeats_change_nothing(engine):
    first = _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3"), "r1")])
    again = _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3"), "r1")])
    second = _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="4"), "r1")], user="xxh")
    assert (first.version, first.changed_actuals) == (1, [XXH_CODE])
    assert (again.version, again.changed) == (1, False)
    assert second.version == 2
    with session_scope(engine) as session:
        entries = session.exec(select(ActualEntry).order_by(ActualEntry.id)).all()
        assert [(e.number, e.is_current, e.report_version) for e in entries] == [(3, False, 1), (4, True, 2)]
        from service.models import Indicator

        indicator = session.exec(select(Indicator).where(Indicator.code == XXH_CODE)).one()
        history = indicator_history(session, indicator)
        assert [(h.before, h.after, h.actor, h.period) for h in history] == [
            ("（空）", "3项", "xxh", "2025Q2"),
            ("3项", "4项", "xxh", "2025Q2"),
        ]


@pytest.mark.parametrize(
    "code, raw, field, message",
    [
        (XXH_CODE, RawActual(value="很多"), "实际完成值", "不是数字"),
        (XXH_CODE, RawActual(value="3个"), "实际完成值", "单位不符"),
        (XXH_CODE, RawActual(value="-1"), "实际完成值", "不能为负数"),
        (RATE_CODE, RawActual(value="120%"), "实际完成值", "不能超过 100%"),
        ("2025-999.01", RawActual(value="1"), "指标编号", "不存在"),
        (DEADLINE_CODE, RawActual(value="1"), "指标编号", "属于口岸管理处"),
    ],
)
def test_bad_rows_reject_the_whole_save_and_write_nothing(engine, code, raw, field, message):
    _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3"), "r0")])
    before = snapshot(engine)
    rows = [ActualRow("2025-001.03", RawActual(value="98"), "第 2 行"), ActualRow(code, raw, "第 3 行")]
    with pytest.raises(ReportError) as caught:
        _save(engine, "XXH", 2, rows, spend=[SpendRow("2025-001", "5", "", "资金")])
    problem = caught.value.problems[0]
    assert caught.value.status == 422 and (problem.location, problem.field) == ("第 3 行", field)
    assert message in problem.message
    assert snapshot(engine) == before


def test_dates_outside_the_year_are_rejected(engine):
    clock.set_today(date(2026, 1, 6))
    rows = [ActualRow(DEADLINE_CODE, RawActual(value="2026-01-05"), "r")]
    with pytest.raises(ReportError) as caught:
        _save(engine, "KAC", 4, rows, user="kac")
    assert "不在 2025 年度内" in caught.value.problems[0].message


def test_a_period_opens_on_its_last_day(engine):
    clock.set_today(date(2025, 12, 30))
    with pytest.raises(ReportError, match="自 2025-12-31 起开放填报"):
        _save(engine, "XXH", 4, [ActualRow(XXH_CODE, RawActual(value="5"), "r")])
    clock.set_today(date(2025, 12, 31))
    assert _save(engine, "XXH", 4, [ActualRow(XXH_CODE, RawActual(value="5"), "r")]).changed


def test_a_stale_version_is_refused_but_a_repeat_is_not(engine):
    _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3"), "r")], expected_version=0)
    before = snapshot(engine)
    with pytest.raises(ReportError) as caught:
        _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="5"), "r")], expected_version=0)
    assert caught.value.status == 412 and "已被他人修改" in caught.value.message
    assert snapshot(engine) == before
    assert not _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3"), "r")], expected_version=0).changed


MONEY_CODE = "2025-001.04"  # 不超过预算资金 ≤23.38万元


def test_the_largest_accepted_numbers_are_stored_exactly_and_resaving_them_changes_nothing(engine):
    rows = [
        ActualRow(MONEY_CODE, RawActual(value="99999999999.9999"), "r1"),
        ActualRow("2025-001.01", RawActual(value="99999999999"), "r2"),
    ]
    spend = [SpendRow("2025-001", "99999999999.98", "99999999999.99", "p")]
    assert _save(engine, "XXH", 2, rows, spend=spend).version == 1
    for _ in range(3):
        assert not _save(engine, "XXH", 2, rows, spend=spend).changed
    with session_scope(engine) as session:
        from service.models import SpendEntry

        numbers = sorted(e.number for e in session.exec(select(ActualEntry)).all())
        entry = session.exec(select(SpendEntry)).one()
    assert numbers == [Decimal("99999999999"), Decimal("99999999999.9999")]
    assert (entry.spent, entry.budget) == (Decimal("99999999999.98"), Decimal("99999999999.99"))


@pytest.mark.parametrize("value", ["9" * 16, "1234567890123456.7891", "9" * 400])
def test_numbers_no_column_keeps_are_refused_before_anything_is_written(engine, value):
    before = snapshot(engine)
    with pytest.raises(ReportError) as caught:
        _save(
            engine,
            "XXH",
            2,
            [ActualRow(MONEY_CODE, RawActual(value=value), "第 2 行")],
            spend=[SpendRow("2025-001", value, "", "第 3 行")],
        )
    assert caught.value.status == 422
    assert [(p.location, p.field, p.message) for p in caught.value.problems] == [
        ("第 2 行", "实际完成值", "数值过大：绝对值应小于 1000 亿（100,000,000,000）"),
        ("第 3 行", "执行数", "数值过大：绝对值应小于 1000 亿（100,000,000,000）"),
    ]
    assert snapshot(engine) == before


def test_text_that_postgresql_cannot_store_is_refused_with_its_field(engine):
    before = snapshot(engine)
    with pytest.raises(ReportError) as caught:
        _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3", cause_text="资金\x00未到位"), "r")])
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("偏差原因分析", "含有空字符（NUL），请删除后重试")
    ]
    assert snapshot(engine) == before
    _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3", cause_text="第一段\x0b第二段\x01"), "r")])
    with session_scope(engine) as session:
        assert session.exec(select(ActualEntry.cause_text)).one() == "第一段\n第二段"


def test_head_signoff_submit_return_diff_resubmit_accept(engine):
    with session_scope(engine) as session:
        scope = load_scope(session, 2025, "KAC", 2)
        actuals, spend = complete_rows(scope, date(2025, 6, 30))
        save(session, scope, _user(session, "kac"), actuals, spend, "test")
        with pytest.raises(ReportError, match="需处室负责人签认后才能提交"):
            transition(session, scope, _user(session, "kac"), "submit")
        assert transition(session, scope, _user(session, "kac-head"), "sign")
        clock.set_today(date(2025, 7, 14))  # due 10 July
        assert transition(session, scope, _user(session, "kac"), "submit")
        assert (scope.report.state, scope.report.late) == ("submitted", True)
        with pytest.raises(ReportError, match="不能修改"):
            save(session, scope, _user(session, "kac"), [ActualRow("2025-010.01", RawActual(value="9"), "r")], [], "t")
        with pytest.raises(ReportError, match="至少写明一条原因"):
            transition(session, scope, _user(session, "caiwu"), "return")
        transition(session, scope, _user(session, "caiwu"), "return", "请核实", {"2025-010.01": "次数与记录不符"})
        assert scope.report.state == "returned"
    with session_scope(engine) as session:
        scope = load_scope(session, 2025, "KAC", 2)
        save(
            session,
            scope,
            _user(session, "kac"),
            [ActualRow("2025-010.01", RawActual(value="1", likelihood="确定能"), "r")],
            [],
            "test",
        )
        changes = changes_since_return(session, scope)
        assert [(c.code, c.before, c.after) for c in changes] == [
            ("2025-010.01", "2次；可能性：确定能", "1次；可能性：确定能")
        ]
        transition(session, scope, _user(session, "kac-head"), "sign")
        transition(session, scope, _user(session, "kac"), "submit")
        assert scope.report.late  # stays as first submitted
        assert transition(session, scope, _user(session, "caiwu"), "accept")
        assert not transition(session, scope, _user(session, "caiwu"), "accept")  # idempotent
        actions = session.exec(
            select(ReportEvent.action).where(ReportEvent.report_id == scope.report.id).order_by(ReportEvent.id)
        ).all()
    assert actions == ["save", "sign", "submit", "return", "save", "sign", "submit", "accept"]


def test_submit_lists_everything_missing(engine):
    with session_scope(engine) as session:
        scope = load_scope(session, 2025, "XXH", 2)
        save(session, scope, _user(session, "xxh"), [ActualRow(XXH_CODE, RawActual(value="1"), "r")], [], "test")
        with pytest.raises(ReportError) as caught:
            transition(session, scope, _user(session, "xxh"), "submit")
    problems = {(p.location, p.field) for p in caught.value.problems}
    assert ("指标 2025-001.01（全年任务量）", "偏差原因类别") in problems  # 1 < 2.5 expected by Q2
    assert ("项目 2025-001（电子商务和信息化处信息化项目）", "执行数") in problems or any(
        loc.startswith("项目 2025-001") for loc, _ in problems
    )


def test_a_locked_period_changes_only_after_reopening(engine):
    clock.set_today(date(2025, 7, 11))  # the day after Q2's due date
    with session_scope(engine) as session:
        year = session.exec(select(FiscalYear)).one()
        finance = _user(session, "caiwu")
        assert set_period_lock(session, year, 2, finance, True)
        assert not set_period_lock(session, year, 2, finance, True)
    before = snapshot(engine)
    with pytest.raises(ReportError) as caught:
        _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3"), "r")])
    assert caught.value.status == 423 and "锁定" in caught.value.message
    assert snapshot(engine) == before
    with session_scope(engine) as session:
        year = session.exec(select(FiscalYear)).one()
        with pytest.raises(ReportError, match="请说明原因"):
            set_period_lock(session, year, 2, _user(session, "caiwu"), False)
        set_period_lock(session, year, 2, _user(session, "caiwu"), False, "处室补报")
    assert _save(engine, "XXH", 2, [ActualRow(XXH_CODE, RawActual(value="3"), "r")]).changed
