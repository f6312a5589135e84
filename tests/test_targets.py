"""The target-value grammar (service/domain/targets.py): normalisation, deadlines, doubts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.actuals import RawActual, read_actual
from service.domain.periods import Period
from service.domain.targets import DISCRETE_UNITS, find_deadline, parse_target

from .examples import examples


def codes(target) -> set[str]:
    return {f.code for f in target.findings}


@pytest.mark.parametrize(
    "text, comparator, value, unit",
    [
        ("≥5项", ">=", "5", "项"),
        ("≧3次", ">=", "3", "次"),
        (">10000000条", ">", "10000000", "条"),
        ("≥90百分比", ">=", "90", "%"),
        ("≥90百分之", ">=", "90", "%"),
        ("不少于90%", ">=", "90", "%"),
        ("不低于90%", ">=", "90", "%"),
        ("90%以上", ">=", "90", "%"),
        ("不超过5次", "<=", "5", "次"),
        ("不高于3%", "<=", "3", "%"),
        ("5次以内", "<=", "5", "次"),
        ("≥1千人", ">=", "1000", "人"),
        ("≥8万人", ">=", "80000", "人"),
        ("≥110万平米", ">=", "1100000", "平方米"),
        ("≥220万个", ">=", "2200000", "个"),
        ("≥20亿元", ">=", "200000", "万元"),
        ("≥3亿元", ">=", "30000", "万元"),
        ("≤5000元", "<=", "0.5", "万元"),
        ("≤23.38万元", "<=", "23.38", "万元"),
        ("≦4000万元", "<=", "4000", "万元"),
        ("≥95000TEU", ">=", "95000", "TEU"),
        ("≥8000平方米", ">=", "8000", "平方米"),
        ("≥1,234家", ">=", "1234", "家"),
        ("≥１００％", ">=", "100", "%"),
        ("=100%", "=", "100", "%"),
    ],
)
def test_numeric_normalisation(text, comparator, value, unit):
    target = parse_target(text, level2="数量指标", name="数量")
    assert target.kind == "numeric"
    assert (target.comparator, target.value, target.unit) == (comparator, Decimal(value), unit)


def test_bare_wan_is_money_only_on_money_indicators():
    assert parse_target("≤121.2万", level2="成本指标", name="项目金额").unit == "万元"
    fans = parse_target("≥7万", level2="数量指标", name="平台粉丝数量")
    assert (fans.value, fans.unit) == (Decimal(70000), "")


@pytest.mark.parametrize(
    "text, per, unit",
    [
        ("≥12次/年", "year", "次"),
        ("≤1次/季", "quarter", "次"),
        ("≥90幅/期", "issue", "幅"),
        ("≥2次/月", "month", "次"),
    ],
)
def test_rate_per_period(text, per, unit):
    target = parse_target(text, level2="数量指标", name="次数")
    assert (target.per, target.unit) == (per, unit)


def test_bare_number_direction_comes_from_the_indicator():
    cost = parse_target("584万元", level2="成本指标", name="冲抵垫款金额")
    assert (cost.comparator, cost.direction) == ("<=", "lower_better")
    assert "comparator_inferred" not in codes(cost)
    named_cost = parse_target("30", level2="数量指标", name="宣传费用")
    assert named_cost.comparator == "<="
    count = parse_target("30个", level2="数量指标", name="综合评价指标数")
    assert (count.comparator, count.direction) == (">=", "higher_better")
    assert "comparator_inferred" in codes(count)
    assert parse_target("100%", level2="质量指标", name="验收合格率").comparator == ">="


@pytest.mark.parametrize(
    "text, level2, kind, comparator",
    [
        ("≤45天", "时效指标", "duration", "<="),
        ("≤12月", "时效指标", "duration", "<="),
        ("<24小时", "时效指标", "duration", "<"),
        ("≤2小时", "质量指标", "duration", "<="),
        ("12月", "时效指标", "duration", "<="),
        ("≥1年", "可持续影响指标", "numeric", ">="),
    ],
)
def test_durations(text, level2, kind, comparator):
    target = parse_target(text, level2=level2, name="时间")
    assert (target.kind, target.comparator) == (kind, comparator)
    assert target.direction == ("lower_better" if comparator in ("<=", "<") else "higher_better")


@pytest.mark.parametrize(
    "text, due",
    [
        ("2025年12月底前", date(2025, 12, 31)),
        ("2025年3月底前完成拨付", date(2025, 3, 31)),
        ("2025年2月底前", date(2025, 2, 28)),
        ("2024年2月底前", date(2024, 2, 29)),
        ("2025年8月前", date(2025, 7, 31)),
        ("2025年1月前", date(2024, 12, 31)),
        ("2025年底前", date(2025, 12, 31)),
        ("2025年底", date(2025, 12, 31)),
        ("2025年年底前完成", date(2025, 12, 31)),
        ("2025全年底前完成", date(2025, 12, 31)),
        ("2025年年内完成拨付", date(2025, 12, 31)),
        ("2025年6月底前完成", date(2025, 6, 30)),
        ("2025年12月31日前", date(2025, 12, 31)),
        ("2025年9月15日前完成", date(2025, 9, 15)),
    ],
)
def test_deadline_wording(text, due):
    target = parse_target(text, level2="时效指标", name="完成时间", fiscal_year=2025)
    assert (target.kind, target.due, target.direction) == ("deadline", due, "on_or_before")


def test_month_or_year_end_without_a_year_takes_the_fiscal_year():
    assert parse_target("6月底前", level2="时效指标", fiscal_year=2025).due == date(2025, 6, 30)
    assert parse_target("年底前完成", level2="时效指标", fiscal_year=2026).due == date(2026, 12, 31)
    missing_year = parse_target("6月底前", level2="时效指标")
    assert "invalid_date" in codes(missing_year)


def test_impossible_date_is_an_error_not_a_crash():
    target = parse_target("2025年13月底前", level2="时效指标")
    assert target.kind == "deadline" and target.due is None
    assert "invalid_date" in codes(target)


def test_deadline_from_description_when_the_value_has_none():
    target = parse_target(
        "按时发放奖励", level2="时效指标", name="会展奖励按时发放", description="2025年12月31日前", fiscal_year=2025
    )
    assert (target.kind, target.due) == ("deadline", date(2025, 12, 31))
    assert "due_from_text" in codes(target)
    from_name = parse_target("完成", level2="时效指标", name="2025年底", description="2025年底", fiscal_year=2025)
    assert from_name.due == date(2025, 12, 31)


def test_time_indicator_without_a_date_is_qualitative_with_year_end_info():
    for text in ("及时", "按时完成", "及时响应"):
        target = parse_target(text, level2="时效指标", name="工作时效", fiscal_year=2025)
        assert target.kind == "qualitative" and target.due is None
        assert "no_date_year_end" in codes(target)


def test_deadline_outside_the_fiscal_year_is_a_warning():
    assert "due_outside_year" in codes(parse_target("2026年3月底前", level2="时效指标", fiscal_year=2025))


@pytest.mark.parametrize(
    "text, level2, name, code, severity",
    [
        ("≤90%", "服务对象满意度指标", "社会服务对象满意度", "inverted_comparator", "warning"),
        ("万元", "成本指标", "不超出预算资金", "missing_number", "error"),
        ("≥1分", "数量指标", "《天津市开发区投资环境概览》", "suspect_unit", "warning"),
        ("≤100%", "可持续影响指标", "外经贸政策资金使用合规率", "vacuous_bound", "warning"),
        ("企业满意度95%", "服务对象满意度指标", "企业满意度", "label_glued", "warning"),
        ("≥1工作日平均每天发送", "可持续影响指标", "发布频次", "trailing_text", "warning"),
        ("≥5官方报道信息数量", "可持续影响指标", "新闻宣传", "unknown_unit", "warning"),
        ("≥180万元", "成本指标", "降低企业经营成本", "cost_lower_bound", "warning"),
        ("1个", "数量指标", "数量指标", "name_repeats_level2", "warning"),
        ("企业满意度95%", "服务对象满意度指标", "服务对象满意度指标", "name_repeats_level2", "warning"),
        ("12月", "社会效益指标", "保障市场平稳运行", "ambiguous_month", "warning"),
        ("≤1年", "时效指标", "工作任务按计划完成率", "unit_mismatch", "warning"),
        ("2025年全部项目预算", "数量指标", "完成预算绩效评估", "qualitative_quantity", "warning"),
        ("", "数量指标", "数量", "missing_value", "error"),
    ],
)
def test_suspicious_values_are_shown_to_a_person(text, level2, name, code, severity):
    target = parse_target(text, level2=level2, name=name, fiscal_year=2025)
    found = {f.code: f for f in target.findings}
    assert code in found, target.findings
    assert found[code].severity == severity
    assert found[code].message  # a Chinese sentence a reviewer can act on


def test_label_glued_value_is_still_read():
    target = parse_target("企业满意度95%", level2="服务对象满意度指标", name="企业满意度")
    assert (target.comparator, target.value, target.unit) == (">=", Decimal(95), "%")


def test_qualitative_values_that_repeat_the_name_are_flagged_as_not_measurable():
    for value in ("提升城市吸引力", "指导商务工作", "验收合格"):
        target = parse_target(value, level2="社会效益指标", name=value)
        assert target.kind == "qualitative" and "not_measurable" in codes(target)
    assert codes(parse_target("有效提升", level2="社会效益指标", name="决策统计分析")) == set()


def test_compound_count_unit_keeps_the_measure_word():
    target = parse_target("≥9个项目", level2="数量指标", name="组织接件初审项目数")
    assert (target.value, target.unit) == (Decimal(9), "个")
    assert {f.severity for f in target.findings} == {"info"}


def test_per_period_inferred_from_the_name():
    target = parse_target("≥50件", level2="数量指标", name="每月处理企业群众咨询投诉")
    assert target.per == "month" and "per_from_name" in codes(target)


def test_to_dict_shape():
    body = parse_target("≥8万人", level2="数量指标", name="参与消费者数量").to_dict()
    assert body == {
        "kind": "numeric",
        "comparator": ">=",
        "value": 80000,
        "unit": "人",
        "per": None,
        "direction": "higher_better",
        "due": None,
        "findings": [],
    }


def test_find_deadline_ignores_plain_text():
    assert find_deadline("有效提升", 2025) == (None, None)


@settings(max_examples=examples(1500), deadline=None)
@given(
    value=st.text(max_size=40),
    level2=st.one_of(st.none(), st.text(max_size=8)),
    name=st.one_of(st.none(), st.text(max_size=12)),
    year=st.one_of(st.none(), st.integers(1, 9999)),
)
def test_grammar_never_raises_and_keeps_its_invariants(value, level2, name, year):
    target = parse_target(value, level2=level2, name=name, fiscal_year=year)
    assert target.kind in ("numeric", "deadline", "duration", "qualitative")
    assert target.direction in ("higher_better", "lower_better", "on_or_before", "judged")
    assert target.comparator in (None, ">=", ">", "<=", "<", "=")
    if target.kind == "deadline":
        assert target.direction == "on_or_before" and target.value is None
    if target.kind == "qualitative":
        assert target.value is None and target.due is None
    for finding in target.findings:
        assert finding.severity in ("error", "warning", "info") and finding.message
    target.to_dict()


VALUE_ALPHABET = st.sampled_from(
    list("0123456789.,%≥≤≧≦<>=万千亿元个项次年月日底前季/期天小时人平米 ")
    + ["以上", "以内", "不超过", "不少于", "百分比", "2025年"]
)


@settings(max_examples=examples(1500), deadline=None)
@given(
    parts=st.lists(VALUE_ALPHABET, max_size=12),
    level2=st.sampled_from(["数量指标", "成本指标", "时效指标", "服务对象满意度指标"]),
)
def test_grammar_on_target_like_text(parts, level2):
    target = parse_target("".join(parts), level2=level2, name="指标", fiscal_year=2025)
    if target.kind in ("numeric", "duration") and target.value is not None:
        assert target.comparator is not None


@pytest.mark.parametrize("unit", sorted(DISCRETE_UNITS))
def test_a_counted_unit_is_read_by_the_target_parser_and_asks_whole_actuals(unit):
    """One list of counted units serves both the target's reading and the actual's whole-number rule."""
    target = parse_target(f"≥5{unit}", "数量指标", "测试指标")
    assert (target.value, target.unit) == (Decimal(5), unit)
    reading = read_actual(target, RawActual(value=f"2.5{unit}"), Period(2025, 2))
    assert [e.field for e in reading.errors] == ["value"] and "整数" in reading.errors[0].message
