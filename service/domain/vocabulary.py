"""The words of the domain: every state and kind the code stores or shows, with its Chinese label.

Each is a `Labelled` string enum: a member *is* the string stored in the database (`"draft"`,
`"确定能"`), so tables keep their values and comparing a stored value with a member just
works; its `label` is what people read.  This is the one place those labels are written.
Pure: no database, no Flask.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Self


class Labelled(StrEnum):
    """A stored value with the Chinese label people see."""

    label: str

    if TYPE_CHECKING:
        # What callers do: look a member up by its stored value, `Role("finance")`.
        def __new__(cls, value: str) -> Self: ...

    else:
        # What the class body does: each member is defined as `NAME = value, label`.
        def __new__(cls, value: str, label: str) -> Self:
            member = str.__new__(cls, value)
            member._value_ = value
            member.label = label
            return member

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The stored values, in order (for choices and membership: `text in Role.values()`)."""
        return tuple(member.value for member in cls)

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {member.value: member.label for member in cls}

    @classmethod
    def label_of(cls, value: str | None, default: str | None = None) -> str:
        """The label of a stored value; one the vocabulary does not know reads as DEFAULT, else as it is."""
        try:
            return cls(value or "").label
        except ValueError:
            return default if default is not None else ("" if value is None else str(value))


# ---------------------------------------------------------------- targets (docs/domain.md §2, §3)


class TargetKind(Labelled):
    NUMERIC = "numeric", "数值"
    DEADLINE = "deadline", "截止日期"
    DURATION = "duration", "时长"
    QUALITATIVE = "qualitative", "定性"


class Direction(Labelled):
    HIGHER_BETTER = "higher_better", "越高越好"
    LOWER_BETTER = "lower_better", "越低越好"
    ON_OR_BEFORE = "on_or_before", "按期完成"
    JUDGED = "judged", "人工评判"


class Comparator(Labelled):
    AT_LEAST = ">=", "≥"
    MORE_THAN = ">", ">"
    AT_MOST = "<=", "≤"
    LESS_THAN = "<", "<"
    EQUAL = "=", "="


CEILINGS = (Comparator.AT_MOST, Comparator.LESS_THAN)  # the target is an upper bound (成本, 时限)


class Per(Labelled):
    """The period a rate target counts over (`≥4 期/年`)."""

    YEAR = "year", "年"
    QUARTER = "quarter", "季"
    MONTH = "month", "月"
    ISSUE = "issue", "期"


class Severity(Labelled):
    """How serious a finding is."""

    ERROR = "error", "错误"
    WARNING = "warning", "警告"
    INFO = "info", "提示"


class FindingState(Labelled):
    OPEN = "open", "待处理"
    ACCEPTED = "accepted", "已确认"
    CORRECTED = "corrected", "已更正"


class LinkMethod(Labelled):
    """How a project (or indicator) was found to continue last year's (docs/domain.md §10)."""

    CODE = "code", "编号相同"
    TITLE = "title", "名称相近"
    MANUAL = "manual", "人工指定"


class StatedDirection(Labelled):
    """指标方向 as some budget systems print it beside the value (stored as the Chinese word)."""

    POSITIVE = "正向", "正向（越高越好）"
    NEGATIVE = "反向", "反向（越低越好）"


# The columns of a project and an indicator, as an import preview names what changed.
TARGET_FIELD_LABELS = {
    "table_no": "表号",
    "title": "标题",
    "name": "名称",
    "prefix": "前缀",
    "division_id": "处室",
    "funding_level": "资金来源",
    "budget": "预算数",
    "fiscal_funds": "财政资金",
    "other_funds": "其他资金",
    "use_of_funds": "资金用途",
    "goals": "绩效目标",
    "budget_unit": "预算单位",
    "row_order": "行号",
    "level1": "一级指标",
    "level2": "二级指标",
    "description": "绩效指标描述",
    "weight": "分值",
    "raw_value": "指标值",
    "in_source": "在文件中",
    "stated_direction": "指标方向",
}


# ---------------------------------------------------------------- accounts (docs/domain.md §1)


class Role(Labelled):
    ADMIN = "admin", "系统管理员"
    FINANCE = "finance", "财务处"
    REPORTER = "reporter", "处室填报人"
    HEAD = "head", "处室负责人"
    AUDITOR = "auditor", "审计（只读）"

    @property
    def belongs_to_division(self) -> bool:
        """Reporters and heads act for one division; the other roles for the whole bureau."""
        return self in (Role.REPORTER, Role.HEAD)


# ---------------------------------------------------------------- quarterly reports (docs/domain.md §4, §5)


class ReportState(Labelled):
    DRAFT = "draft", "草稿"
    SIGNED = "signed", "负责人已签认"
    SUBMITTED = "submitted", "已提交待审核"
    RETURNED = "returned", "已退回修改"
    ACCEPTED = "accepted", "已审核通过"


class ReportAction(Labelled):
    """What happened to a report (its event log) or to a period (locks)."""

    SAVE = "save", "保存"
    SIGN = "sign", "负责人签认"
    SUBMIT = "submit", "提交"
    RETURN = "return", "退回"
    ACCEPT = "accept", "审核通过"
    ATTACH = "attach", "上传附件"
    DETACH = "detach", "移除附件"
    LOCK = "lock", "锁定期间"
    REOPEN = "reopen", "重新开放期间"
    REQUEST_SIGNOFF = "request_sign", "送负责人签认"  # the head is told; the state stays until the head acts


# The fields of a reported actual and spend, as errors name them (`budget` is the adjusted 全年预算数).
REPORT_FIELD_LABELS = {
    "value": "实际完成值",
    "expected_on": "预计完成日期",
    "likelihood": "完成可能性",
    "cause_category": "偏差原因类别",
    "cause_text": "偏差原因分析",
    "measure_text": "改进措施",
    "decrease_reason": "确认减少原因",
    "spent": "执行数",
    "budget": "全年预算数",
    "forecast": "全年预计完成值",
    "forecast_spent": "全年预计执行数",
}


class Measure(Labelled):
    """How a reported value is held against the target (docs/domain.md §5.2)."""

    CUMULATIVE = "cumulative", "截至期末累计"
    LATEST = "latest", "最新实测值"
    EVENT = "event", "完成日期"
    STATEMENT = "statement", "进展情况"


class Likelihood(Labelled):
    """Whether the division expects to meet the target by year end (stored as the Chinese word)."""

    CERTAIN = "确定能", "确定能"
    POSSIBLE = "有可能", "有可能"
    IMPOSSIBLE = "不可能", "不可能"


class CauseCategory(Labelled):
    """偏差原因类别 (stored as the Chinese word)."""

    FUNDING = "经费保障", "经费保障"
    RULES = "制度保障", "制度保障"
    STAFF = "人员保障", "人员保障"
    EQUIPMENT = "硬件条件保障", "硬件条件保障"
    OTHER = "其他", "其他"


# ---------------------------------------------------------------- monitoring (docs/domain.md §6, §7)


class Status(Labelled):
    """Where an indicator (or, rolled up, a project) stands at an as-of date."""

    ACHIEVED = "achieved", "已达成"
    ON_TRACK = "on_track", "正常"
    AT_RISK = "at_risk", "有风险"
    LAGGING = "lagging", "滞后"
    MISSED = "missed", "未完成"
    NOT_MET = "not_met", "未达标"
    DONE = "done", "已完成"
    DONE_LATE = "done_late", "逾期完成"
    DUE_SOON = "due_soon", "即将到期"
    OVERDUE = "overdue", "已逾期"
    PENDING = "pending", "未到期"
    JUDGED = "judged", "定性"
    NOT_REPORTED = "not_reported", "未报送"


class Tone(Labelled):
    """The colour scale of statuses: every page, chart, legend and workbook colours a status by its tone
    (`status.STATUS_TONE`), always beside the status's own label."""

    GOOD = "good", "进展良好"
    WATCH = "watch", "需关注"
    BEHIND = "behind", "落后"
    NEUTRAL = "neutral", "不计入"


class SpendSource(Labelled):
    """Where a project's spend to a date comes from (docs/domain.md §6.9)."""

    PAYMENTS = "payments", "国库支付记录"
    REPORT = "report", "季度报告执行数"


class AlertKind(Labelled):
    DEADLINE_UPCOMING = "deadline_upcoming", "截止提醒"
    DEADLINE_DUE = "deadline_due", "今日到期"
    DEADLINE_OVERDUE = "deadline_overdue", "逾期提醒"
    REPORT_OPEN = "report_open", "报告开放填报"
    REPORT_DUE_SOON = "report_due_soon", "报告即将截止"
    REPORT_OVERDUE = "report_overdue", "报告逾期"
    RETURNED = "returned", "报告被退回"
    LAGGING = "lagging", "进度滞后预警"
    ESCALATION = "escalation", "逾期督办"
    DIGEST = "digest", "每周监控摘要"
    SIGNOFF_REQUESTED = "signoff_requested", "待负责人签认"
    BUDGET_DIGEST = "budget_digest", "预算执行滞后汇总"


class Channel(Labelled):
    """Where a notification is delivered (the inbox always receives)."""

    INBOX = "inbox", "站内消息"
    EMAIL = "email", "邮件"
    WEBHOOK = "webhook", "Webhook"


# ---------------------------------------------------------------- self-evaluation (docs/domain.md §8)


class Band(Labelled):
    """A reviewer's grade band for a qualitative or late indicator (stored as the Chinese word)."""

    ACHIEVED = "达成", "达成"
    PARTLY = "部分达成", "部分达成"
    NOT_ACHIEVED = "未达成", "未达成"


class RunState(Labelled):
    """An evaluation run's progress.  A run whose job dies is marked failed with the reason; a retry
    reruns it from nothing; a final run whose preconditions no longer hold when its job starts fails with
    what is missing."""

    QUEUED = "queued", "排队中"
    RUNNING = "running", "计算中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class RunKind(Labelled):
    """A trial any time, or the final run after the year (docs/domain.md §9.1)."""

    TRIAL = "trial", "试算"
    FINAL = "final", "正式计算"


class ScoreFindingKind(Labelled):
    """What a score asks finance to look at (the 待核查 of a run)."""

    MISSING_ACTUAL = "missing_actual", "未填报"
    NO_TARGET_NUMBER = "no_target_number", "指标值无数值"
    FAR_ABOVE_TARGET = "far_above_target", "远超指标值"
    UNKNOWN_LEVEL = "unknown_level", "一级指标不在评分规则中"
    MISSING_LEVEL = "missing_level", "缺少一级指标"
    WEIGHTS_MISMATCH = "weights_mismatch", "分值合计不符"
    CAPPED_BY_EXECUTION = "capped_by_execution", "按执行率封顶"
    AWAITING_REVIEW = "awaiting_review", "待评定"
    PERCENT_OUTSIDE_BAND = "percent_outside_band", "得分比例超出档次"
    OVER_BUDGET = "over_budget", "超预算执行"
    SCORED_CORRECTED = "scored_corrected", "按更正理解计分"
    NOT_DUE = "not_due", "未到期"
    REPORT_NOT_COUNTED = "report_not_counted", "报告未计入"
    NO_REPORT = "no_report", "无可计入的报告"
    OVERRIDE_RECONFIRM = "override_reconfirm", "调整待重新确认"


class ArchiveAction(Labelled):
    """What happened to a year's self-evaluation archive."""

    LOCK = "lock", "锁定归档"
    UNLOCK = "unlock", "解锁"


class BlockerKind(Labelled):
    """What still stops a final run."""

    YEAR_OPEN = "year_open", "年度未结束"
    REPORT = "report", "第四季度报告未审核通过"
    TARGET_FINDING = "target_finding", "指标值待核查"
    GRADE = "grade", "待评定档次"
    OUTCOME = "outcome", "未填写实际完成情况"


VOCABULARY: tuple[type[Labelled], ...] = (
    TargetKind,
    Direction,
    Comparator,
    Per,
    Severity,
    FindingState,
    LinkMethod,
    StatedDirection,
    Role,
    ReportState,
    ReportAction,
    Measure,
    Likelihood,
    CauseCategory,
    Status,
    Tone,
    SpendSource,
    AlertKind,
    Channel,
    Band,
    RunState,
    RunKind,
    ScoreFindingKind,
    ArchiveAction,
    BlockerKind,
)
