"""Reading what people type for an actual: one set of rules for every way in (pure domain)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.actuals import (
    RawActual,
    describe_actual,
    join_explanation,
    missing_for_submit,
    parse_number,
    read_actual,
    read_spend,
    split_explanation,
    value_text,
)
from service.domain.periods import Period

from .test_periods_progress import make_target

Q2 = Period(2025, 2)
TODAY = date(2025, 7, 5)


def errors(target, today=TODAY, previous=None, **raw):
    reading = read_actual(target, RawActual(**raw), Q2, previous=previous, today=today)
    return [str(e) for e in reading.errors], reading.actual


@pytest.mark.parametrize(
    "text, number",
    [
        ("1,234", "1234"),
        ("１，２３４", "1234"),
        ("95", "95"),
        (" 12.5 ", "12.5"),
        ("12个", "12"),
        ("1,234,567.5", "1234567.5"),
    ],
)
def test_numbers_in_the_targets_unit(text, number):
    assert parse_number(text, "个") == (Decimal(number), None)


def test_percent_and_money_spellings():
    assert parse_number("95%", "%")[0] == Decimal(95)
    assert parse_number("95％", "%")[0] == Decimal(95)
    assert parse_number("12.5万", "万元")[0] == Decimal("12.5")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("abc", "「abc」不是数字"),
        ("95%", "单位不符：应填写「个」，填写的是「%」"),
        ("-3", "不能为负数"),
        ("1.23456", "最多保留 4 位小数"),
    ],
)
def test_bad_numbers_name_field_and_reason(raw, message):
    found, actual = errors(make_target(), value=raw)
    assert found == [f"实际完成值：{message}"] and actual.number is None


def test_a_rate_cannot_exceed_100_percent_but_a_growth_rate_can():
    rate = make_target(unit="%", value="95", name="验收合格率", level2="质量指标")
    assert errors(rate, value="101%")[0] == ["实际完成值：「验收合格率」是比率，不能超过 100%"]
    growth = make_target(unit="%", value="10", name="销售额增长率", level2="经济效益指标")
    assert errors(growth, value="120%")[0] == []


def test_a_cumulative_value_below_last_quarter_needs_confirmation_and_reason():
    found, _ = errors(make_target(), previous=Decimal(40), value="30")
    assert "低于上一季度的累计值 40个" in found[0]
    found, _ = errors(make_target(), previous=Decimal(40), value="30", confirm_decrease=True)
    assert found == ["确认减少原因：已确认累计值减少，请说明原因"]
    found, actual = errors(
        make_target(), previous=Decimal(40), value="30", confirm_decrease=True, decrease_reason="一季度重复统计"
    )
    assert found == [] and actual.decrease_reason == "一季度重复统计"
    assert (
        errors(make_target(unit="%", value="95"), previous=Decimal(90), value="80")[0] == []
    )  # latest, not cumulative


def test_deadlines_done_not_done_and_dates_outside_the_year():
    due = make_target(kind="deadline", value=None, due=date(2025, 6, 30), direction="on_or_before")
    found, actual = errors(due, value="2025年6月20日")
    assert found == [] and (actual.done, actual.done_on) == (True, date(2025, 6, 20))
    found, actual = errors(due, value="未完成，预计2025-10-31")
    assert found == [] and (actual.done, actual.expected_on) == (False, date(2025, 10, 31))
    assert errors(due, value="2024-12-31")[0] == ["实际完成值：完成日期 2024-12-31 不在 2025 年度内"]
    assert "晚于今天" in errors(due, value="2025-08-01")[0][0]
    assert "不在 2025 年度内" in errors(due, value="未完成", expected_on="2026-01-15")[0][0]
    assert "不是日期" in errors(due, value="六月底")[0][0]
    assert errors(due, value="2025-02-30")[0]  # no such day


@pytest.mark.parametrize(
    "target, raw, message",
    [
        (make_target(), "9" * 16, "数值过大：绝对值应小于 1000 亿（100,000,000,000）"),  # 10000000000000000 on SQLite
        (make_target(unit="万元"), "1234567890123456.7891", "数值过大：绝对值应小于 1000 亿（100,000,000,000）"),
        (make_target(), "9" * 400, "数值过大：绝对值应小于 1000 亿（100,000,000,000）"),  # Infinity on SQLite
        (make_target(), "100000000000", "数值过大：绝对值应小于 1000 亿（100,000,000,000）"),
        (make_target(), "NaN", "「NaN」不是数字"),
        (make_target(), "Infinity", "「Infinity」不是数字"),
        (make_target(), "1e5", "单位不符：应填写「个」，填写的是「e5」"),
        (make_target(), "2.5", "「举办活动场次」以「个」计，应为整数"),
        (make_target(unit="家次", name="服务企业数量"), "1000.5", "「服务企业数量」以「家次」计，应为整数"),
        (make_target(unit="万元"), "12.34567", "最多保留 4 位小数"),
        (
            make_target(unit="%", value="95", name="验收合格率", level2="质量指标"),
            "100.5",
            "「验收合格率」是比率，不能超过 100%",
        ),
    ],
)
def test_numbers_have_a_domain_per_kind(target, raw, message):
    found, actual = errors(target, value=raw)
    assert found == [f"实际完成值：{message}"] and actual.number is None


@pytest.mark.parametrize(
    "target, raw, number",
    [
        (make_target(), "99999999999", "99999999999"),
        (make_target(), "5.0", "5"),  # a whole number written with a decimal point
        (make_target(value="2.5", unit="次"), "2.5", "2.5"),  # the target allows halves
        (make_target(unit="万元"), "99999999999.9999", "99999999999.9999"),
        (make_target(unit="平方米"), "8000.1250", "8000.125"),
        (make_target(unit="%", value="10", name="销售额增长率"), "250.5%", "250.5"),
    ],
)
def test_numbers_inside_the_domain_are_taken_exactly(target, raw, number):
    found, actual = errors(target, value=raw)
    assert found == [] and actual.number == Decimal(number)


def test_spend_has_the_same_magnitude_limit():
    assert [str(e) for e in read_spend("9" * 16, "", Decimal(100))[1]] == [
        "执行数：数值过大：绝对值应小于 1000 亿（100,000,000,000）"
    ]
    assert [str(e) for e in read_spend("", "NaN", Decimal(100))[1]] == ["全年预算数：「NaN」不是数字"]
    assert read_spend("12.500", "", Decimal(100)) == (read_spend("12.5", "", Decimal(100))[0], [])


def test_text_is_normalised_once_with_the_field_named():
    qualitative = make_target(kind="qualitative", value=None)
    found, actual = errors(
        qualitative,
        value="第一段\x0b第二段\x0c第三段\u2028完",
        cause_text="资金\x07未到位\x85原因",
        likelihood="有可能",
    )
    assert found == []
    assert actual.progress == "第一段\n第二段\n第三段\n完" and actual.cause_text == "资金未到位\n原因"
    assert errors(make_target(), value="60", measure_text="加快\x00拨付")[0] == [
        "改进措施：含有空字符（NUL），请删除后重试"
    ]
    assert errors(qualitative, value="进展\ud800")[0] == [
        "实际完成值：含有无法识别的字符（不成对的 UTF-16 代理项），请检查复制来源"
    ]
    found, actual = errors(
        make_target(), previous=Decimal(40), value="30", confirm_decrease=True, decrease_reason="重" * 200_000
    )
    assert found == ["确认减少原因：不能超过 2000 个字（现有 200000 个字）"] and actual.decrease_reason == ""


def test_choices_and_text_limits():
    assert errors(make_target(), value="60", likelihood="也许")[0] == [
        "完成可能性：「也许」不是可选项（确定能 / 有可能 / 不可能）"
    ]
    assert "偏差原因类别" in errors(make_target(), value="60", cause_category="天气")[0][0]
    assert errors(make_target(), value="60", cause_text="字" * 2001)[0] == [
        "偏差原因分析：不能超过 2000 个字（现有 2001 个字）"
    ]


def test_completeness_is_checked_on_submit_only():
    reading = read_actual(make_target(), RawActual(value="30"), Q2, today=TODAY)  # behind: 30 < 50
    missing = [str(m) for m in missing_for_submit(make_target(), reading)]
    assert missing == [
        "完成可能性：请选择完成可能性",
        "偏差原因类别：状态为「滞后」，请选择偏差原因类别",
        "偏差原因分析：请填写偏差原因分析",
        "改进措施：请填写改进措施",
    ]
    complete = read_actual(
        make_target(),
        RawActual(
            value="30", likelihood="有可能", cause_category="经费保障", cause_text="资金未到位", measure_text="加快拨付"
        ),
        Q2,
        today=TODAY,
    )
    assert missing_for_submit(make_target(), complete) == []
    assert (
        missing_for_submit(make_target(), read_actual(make_target(), RawActual(value="60", likelihood="确定能"), Q2))
        == []
    )


def test_explanation_column_splits_into_cause_and_measure():
    assert split_explanation("原因：资金未到位；改进措施：加快拨付") == ("资金未到位", "加快拨付")
    assert split_explanation("资金未到位。措施：加快拨付") == ("资金未到位", "加快拨付")
    assert split_explanation("资金未到位") == ("资金未到位", "")
    assert split_explanation(join_explanation("甲", "乙")) == ("甲", "乙")


def test_values_read_back_as_written():
    due = make_target(kind="deadline", value=None, due=date(2025, 6, 30), direction="on_or_before")
    for target, text in (
        (make_target(unit="平方米"), "1234.5"),
        (due, "2025-06-20"),
        (due, "未完成"),
        (make_target(kind="qualitative", value=None), "按计划推进"),
    ):
        actual = read_actual(target, RawActual(value=text), Q2, today=TODAY).actual
        assert value_text(target, actual) == text
    assert describe_actual(make_target(), read_actual(make_target(), RawActual(value="12"), Q2).actual) == "12个"


def test_spend_rules():
    assert read_spend("12.5", "", Decimal(100))[1] == []
    assert [str(e) for e in read_spend("120", "", Decimal(100))[1]] == [
        "执行数：执行数 120 万元超过全年预算数 100 万元"
    ]
    assert read_spend("120", "150", Decimal(100))[1] == []  # adjusted budget in force
    assert [str(e) for e in read_spend("-1", "", Decimal(100))[1]] == ["执行数：不能为负数"]
    assert [str(e) for e in read_spend("1.234", "", Decimal(100))[1]] == ["执行数：金额最多保留 2 位小数（万元）"]
    assert [str(e) for e in read_spend("", "0", Decimal(100))[1]] == ["全年预算数：全年预算数不能为 0"]
    assert "不是数字" in str(read_spend("十万", "", Decimal(100))[1][0])


@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=30), st.text(max_size=12), st.sampled_from(["numeric", "deadline", "qualitative", "duration"]))
def test_reading_never_raises(value, expected_on, kind):
    target = make_target(
        kind=kind,
        value=None if kind in ("deadline", "qualitative") else "10",
        due=date(2025, 6, 30) if kind == "deadline" else None,
    )
    reading = read_actual(target, RawActual(value=value, expected_on=expected_on), Q2, previous=Decimal(3), today=TODAY)
    assert reading.errors or reading.actual is not None
