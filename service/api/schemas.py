"""Request and response shapes of the API (marshmallow via apiflask), kept apart from the tables."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Date, Decimal, File, Integer, List, Nested, Raw, String
from apiflask.validators import OneOf, Range

from ..domain.vocabulary import FindingState, Severity, TargetKind

AMOUNT = {"type": "string", "format": "decimal", "description": '金额（万元），十进制字符串，如 "23.38"'}
BUDGET_YEARS = Range(2000, 2100)  # the years an import accepts: any other cannot exist


class YearQuery(Schema):
    year = Integer(
        load_default=None, metadata={"description": "预算年度（编号在各年度可重复；默认为有该编号的最近年度）"}
    )


class ProjectQuery(Schema):
    year = Integer(load_default=None, validate=BUDGET_YEARS, metadata={"description": "预算年度"})
    division = String(load_default=None, metadata={"description": "处室代码"})
    funding_level = String(load_default=None, validate=OneOf(["市级", "中央", "未注明"]))
    has_findings = Boolean(load_default=None, metadata={"description": "有未处理的警告或错误"})


class IndicatorQuery(Schema):
    year = Integer(load_default=None, validate=BUDGET_YEARS)
    project = String(load_default=None, metadata={"description": "项目编号"})
    division = String(load_default=None)
    kind = String(load_default=None, validate=OneOf(TargetKind.values()))
    has_findings = Boolean(load_default=None)
    due_from = Date(load_default=None)
    due_to = Date(load_default=None)


class FindingQuery(Schema):
    year = Integer(load_default=None, validate=BUDGET_YEARS)
    state = String(load_default=FindingState.OPEN.value, validate=OneOf(FindingState.values()))
    severity = String(load_default=None, validate=OneOf(Severity.values()))
    code = String(load_default=None)
    division = String(load_default=None)
    project = String(load_default=None)


class FindingOut(Schema):
    id = Integer()
    code = String()
    severity = String()
    message = String()
    state = String()
    project = String(allow_none=True)
    indicator = String(allow_none=True)
    resolved_by = String(allow_none=True)
    note = String(allow_none=True)


class TargetOut(Schema):
    kind = String()
    comparator = String(allow_none=True)
    value = Raw(allow_none=True, metadata={"type": "number"})
    unit = String()
    per = String(allow_none=True)
    direction = String()
    due = String(allow_none=True)
    reading = String()


class IndicatorOut(Schema):
    code = String()
    project = String()
    division = String(allow_none=True)
    row_order = Integer()
    level1 = String()
    level2 = String()
    name = String()
    description = String()
    raw_value = String(metadata={"description": "指标值（现行，原文）"})
    source_value = String(metadata={"description": "最近一次导入文件中的原文"})
    weight = Decimal(allow_none=True, as_string=True, metadata={"type": "string", "format": "decimal"})
    in_source = Boolean()
    target = Nested(TargetOut)
    findings = List(Nested(FindingOut))


class RevisionOut(Schema):
    old = String()
    new = String()
    actor = String()
    reason = String()
    at = String()


class IndicatorDetail(IndicatorOut):
    revisions = List(Nested(RevisionOut))


class ProjectOut(Schema):
    code = String()
    year = Integer()
    table_no = Integer(allow_none=True)
    title = String()
    name = String()
    prefix = String(allow_none=True)
    division = Raw(metadata={"description": "{code, name}"})
    funding_level = String(allow_none=True)
    budget = Decimal(as_string=True, metadata=AMOUNT)
    fiscal_funds = Decimal(as_string=True, allow_none=True, metadata=AMOUNT)
    other_funds = Decimal(as_string=True, allow_none=True, metadata=AMOUNT)
    indicator_count = Integer()
    open_findings = Raw(metadata={"description": "按严重程度统计的未处理问题数"})


class ProjectDetail(ProjectOut):
    use_of_funds = String()
    goals = List(String())
    findings = List(Nested(FindingOut))
    indicators = List(Nested(IndicatorOut))


class ProjectList(Schema):
    items = List(Nested(ProjectOut))


class IndicatorList(Schema):
    items = List(Nested(IndicatorOut))


class FindingList(Schema):
    items = List(Nested(FindingOut))


class ImportIn(Schema):
    file = File(required=True, metadata={"description": ".txt / .docx / .xlsx / .csv"})
    year = Integer(required=True, validate=BUDGET_YEARS)
    dry_run = Boolean(load_default=False, metadata={"description": "只预览，不写入"})


class ImportSummary(Schema):
    year = Integer()
    file = String()
    format = String()
    projects = Integer()
    indicators = Integer()
    created = Integer()
    updated = Integer()
    unchanged = Integer()
    projects_created = Integer()
    projects_updated = Integer()
    missing = List(String())
    budget_total = String()
    findings = Raw()
    applied = Boolean()
    batch_id = Integer(allow_none=True)
    message = String()
