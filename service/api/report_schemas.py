"""Request and response shapes of the report endpoints."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, File, Integer, List, Nested, Raw, String
from apiflask.validators import Length, OneOf
from marshmallow import ValidationError

from ..domain.vocabulary import CauseCategory, Likelihood
from ..reporting.reports import TRANSITIONS
from .schemas import BUDGET_YEARS


def scalar(value) -> None:
    """A value typed into one cell: text or a number, never a list or an object."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
        raise ValidationError("应为文本或数字")


class ReportQuery(Schema):
    year = Integer(load_default=None, validate=BUDGET_YEARS, metadata={"description": "预算年度（默认最新）"})
    quarter = Integer(load_default=None, validate=OneOf([1, 2, 3, 4]))
    division = String(load_default=None, metadata={"description": "处室代码"})


class ActualIn(Schema):
    indicator = String(required=True, metadata={"description": "指标编号"})
    value = Raw(
        load_default="",
        validate=scalar,
        metadata={"description": "数值（如 1234、95%）、完成日期或「未完成」、或进展情况"},
    )
    expected_on = String(load_default="", metadata={"description": "未完成事项的预计完成日期 YYYY-MM-DD"})
    likelihood = String(load_default="", validate=OneOf(["", *Likelihood.values()]))
    cause_category = String(load_default="", validate=OneOf(["", *CauseCategory.values()]))
    cause_text = String(load_default="", validate=Length(max=2000))
    measure_text = String(load_default="", validate=Length(max=2000))
    confirm_decrease = Boolean(load_default=False)
    decrease_reason = String(load_default="")
    forecast = Raw(
        load_default=None,
        validate=scalar,
        metadata={
            "description": "全年预计完成值（仅第二、三季度报告；空字符串即采用系统按进度推算的值，省略则保留已填的值）"
        },
    )


class SpendIn(Schema):
    project = String(required=True, metadata={"description": "项目编号"})
    spent = Raw(load_default="", validate=scalar, metadata={"description": "截至期末执行数（万元）"})
    budget = Raw(load_default="", validate=scalar, metadata={"description": "调整后全年预算数（万元），未调整留空"})
    confirm_decrease = Boolean(load_default=False, metadata={"description": "确认执行数低于上一季度"})
    decrease_reason = String(load_default="", metadata={"description": "执行数减少的原因（确认减少时必填）"})
    forecast = Raw(
        load_default=None,
        validate=scalar,
        metadata={
            "description": "全年预计执行数（万元，仅第二、三季度报告；空字符串即采用系统推算，省略则保留已填的值）"
        },
    )


class ReportValuesIn(Schema):
    actuals = List(Nested(ActualIn), load_default=[])
    spend = List(Nested(SpendIn), load_default=[])


class TransitionIn(Schema):
    action = String(required=True, validate=OneOf([action.value for action in TRANSITIONS]))
    comment = String(load_default="")
    reasons = Dict(
        keys=String(), values=String(), load_default={}, metadata={"description": "退回时：指标编号 → 退回原因"}
    )


class LockIn(Schema):
    locked = Boolean(required=True)
    reason = String(load_default="", metadata={"description": "重新开放时必填；确认锁定含未审核报告的期间时必填"})
    confirm = Boolean(
        load_default=False,
        metadata={"description": "仍有报告已提交待审核或已退回待修改时，确认锁定（须同时说明原因）"},
    )


class AttachmentIn(Schema):
    indicator = String(required=True)
    file = File(required=True)


class ReportOut(Schema):
    division = String()
    period = String()
    state = String()
    version = Integer()
    late = Boolean()
    locked = Boolean()
    due = String()
    actuals = List(Dict())
    spend = List(Dict())
    events = List(Dict())


class ReportList(Schema):
    items = List(Dict())


class SaveOut(Schema):
    version = Integer()
    changed = Boolean()
    actuals = List(String())
    spend = List(String())


class HistoryOut(Schema):
    indicator = String()
    items = List(Dict())
