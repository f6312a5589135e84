"""Tables of the budget year: divisions, projects, indicators and their history.

Table models only; request/response shapes live with the API.  Columns holding a state or
a kind store the values of `service.domain.vocabulary` (the comment names which).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Date, Index, LargeBinary, MetaData, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .clock import clock
from .db import NAMING_CONVENTION, UTCDateTime
from .domain.vocabulary import FindingState, ReportState, RunKind, RunState

SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)

MONEY = Numeric(14, 2)
YUAN = Numeric(16, 2)  # a payment in 元 (below 10^11 like every number, with the cents)
TARGET_NUMBER = Numeric(20, 4)


def _now() -> datetime:
    return clock.now()


def _created() -> Column:
    return Column(UTCDateTime(), nullable=False)


class FiscalYear(SQLModel, table=True):
    __tablename__ = "fiscal_year"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True, index=True)
    report_due_days: int = 10  # a period's report is due this many days after the period ends
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class Organisation(SQLModel, table=True):
    """The budget unit (预算单位) whose tables the registry holds, and its 主管部门: one row.

    Read from the tables' header line (「323101天津市商务局财务处」) when nobody has set it; editable."""

    __tablename__ = "organisation"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=100)  # 预算单位名称
    code: str = Field(default="", max_length=32)  # 预算单位代码
    department: str = Field(default="", max_length=100)  # 主管部门; the unit itself when empty
    from_tables: bool = False  # read from a header line, not (yet) confirmed by a person
    updated_by: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


class Division(SQLModel, table=True):
    """处室."""

    __tablename__ = "division"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=100)
    active: bool = True  # False once retired: keeps its history, receives no new project
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    is_finance: bool = False  # 财务处: owns projects whose prefix is unknown
    requires_head_signoff: bool = False  # the division head signs reports before they go to finance


class DivisionPrefix(SQLModel, table=True):
    """Which division owns projects whose title starts with PREFIX (YW, KA, …).  Admin-editable data."""

    __tablename__ = "division_prefix"
    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(unique=True, max_length=8)
    division_id: int = Field(foreign_key="division.id")


class Project(SQLModel, table=True):
    """A project of one budget year.  Its code is unique within the year: budget systems keep a
    continuing project's code from year to year."""

    __tablename__ = "project"
    __table_args__ = (Index("uq_project_year_code", "fiscal_year_id", "code", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    code: str = Field(index=True, max_length=64)
    table_no: int | None = None
    title: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    prefix: str | None = Field(default=None, max_length=8)
    division_id: int = Field(foreign_key="division.id", index=True)
    funding_level: str | None = Field(default=None, max_length=8)  # 市级 | 中央
    budget: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    fiscal_funds: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    other_funds: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    use_of_funds: str = Field(default="", sa_column=Column(Text, nullable=False))
    goals: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # the table's header line naming the budget unit, e.g. 「323101天津市商务局财务处」 (主管部门 / 实施单位)
    budget_unit: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


class Indicator(SQLModel, table=True):
    """An indicator; its code (project code + row) is unique within the year like its project's."""

    __tablename__ = "indicator"
    __table_args__ = (Index("uq_indicator_project_code", "project_id", "code", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    code: str = Field(index=True, max_length=80)
    row_order: int
    level1: str = Field(max_length=50)
    level2: str = Field(max_length=50)
    name: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    raw_value: str = Field(default="", sa_column=Column(Text, nullable=False))  # the target in force
    # 指标值 exactly as the last imported file wrote it; a correction changes raw_value only,
    # so re-importing an unchanged file does not undo it.
    source_value: str = Field(default="", sa_column=Column(Text, nullable=False))
    weight: Decimal | None = Field(default=None, sa_column=Column(Numeric(8, 2)))
    stated_direction: str = Field(default="", max_length=4)  # StatedDirection (指标方向 column), or "" not given
    kind: str = Field(max_length=16)  # TargetKind
    comparator: str | None = Field(default=None, max_length=2)  # Comparator
    target_value: Decimal | None = Field(default=None, sa_column=Column(TARGET_NUMBER))
    unit: str = Field(default="", max_length=20)
    per: str | None = Field(default=None, max_length=10)  # Per
    direction: str = Field(max_length=16)  # Direction
    due: date | None = Field(default=None, index=True)
    in_source: bool = True  # False once a later import of the year no longer lists it
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


class ProjectTransfer(SQLModel, table=True):
    """A project moved to another division from a quarter on; the periods before stay the old one's."""

    __tablename__ = "project_transfer"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    from_division_id: int = Field(foreign_key="division.id")
    to_division_id: int = Field(foreign_key="division.id")
    from_quarter: int  # the first quarter the new division reports
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class ProjectLink(SQLModel, table=True):
    """A project continuing last year's: how the link was found and who confirmed it."""

    __tablename__ = "project_link"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", unique=True)
    previous_project_id: int = Field(foreign_key="project.id", index=True)
    method: str = Field(max_length=8)  # LinkMethod
    similarity: Decimal | None = Field(default=None, sa_column=Column(Numeric(4, 3)))
    confirmed_by: str | None = Field(default=None, max_length=64)
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class IndicatorLink(SQLModel, table=True):
    """An indicator continuing one of last year's, with what that year left it: 历史值 (the annual
    actual) and the score of the year's latest self-evaluation run, as last refreshed."""

    __tablename__ = "indicator_link"
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", unique=True)
    previous_indicator_id: int = Field(foreign_key="indicator.id", index=True)
    history_value: Decimal | None = Field(default=None, sa_column=Column(TARGET_NUMBER))  # in the old target's unit
    history_unit: str = Field(default="", max_length=20)
    history_text: str = Field(default="", sa_column=Column(Text, nullable=False))  # the actual as people read it
    last_score: Decimal | None = Field(default=None, sa_column=Column(Numeric(8, 2)))
    last_weight: Decimal | None = Field(default=None, sa_column=Column(Numeric(8, 2)))
    refreshed_at: datetime = Field(default_factory=_now, sa_column=_created())


class ImportBatch(SQLModel, table=True):
    __tablename__ = "import_batch"
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    file_name: str = Field(max_length=255)
    sha256: str = Field(max_length=64, index=True)
    format: str = Field(max_length=10)
    actor: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TargetRevision(SQLModel, table=True):
    """Every change of a target after its first import: old, new, who, when, why."""

    __tablename__ = "target_revision"
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    old_value: str = Field(sa_column=Column(Text, nullable=False))
    new_value: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=100)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    import_batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class FindingRow(SQLModel, table=True):
    """A doubt for a person to settle, as stored: the grammar's `TargetFinding` about an indicator's
    target, or the importer's `ProjectFinding` about a project (`indicator_id` empty)."""

    __tablename__ = "finding"
    __table_args__ = (UniqueConstraint("project_id", "indicator_id", "code", name="uq_finding_subject_code"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    indicator_id: int | None = Field(default=None, foreign_key="indicator.id", index=True)
    code: str = Field(max_length=40)
    severity: str = Field(max_length=10)  # Severity
    message: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default=FindingState.OPEN, max_length=10, index=True)  # FindingState
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


# ---------------------------------------------------------------- accounts


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=16)  # Role
    division_id: int | None = Field(default=None, foreign_key="division.id", index=True)
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=_now, sa_column=_created())
    # notification channels the user picked (the in-app inbox always receives)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    must_change_password: bool = False  # set by an admin's reset: the next login asks for a new one
    notify_email: bool = True
    email_digest: bool = False  # one mail a day instead of one per notice
    muted_kinds: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # AlertKind values
    webhook_url: str | None = Field(default=None, max_length=500)  # e.g. a WeCom / DingTalk group robot
    # HMAC key of this destination's X-Perftrack-Signature, made when the URL is set (never SECRET_KEY)
    webhook_secret: str | None = Field(default=None, max_length=64)
    # Part of every session's identity: raised on logout and password change, ending older sessions
    session_epoch: int = 0


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts.  Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    label: str = Field(max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    hint: str = Field(max_length=12)  # the first characters, so people can tell tokens apart
    created_at: datetime = Field(default_factory=_now, sa_column=_created())
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # wall time


class LoginFailure(SQLModel, table=True):
    """Failed logins, kept in the database so the limit holds across web workers (times: wall clock)."""

    __tablename__ = "login_failure"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    remote_addr: str = Field(max_length=64, index=True)
    created_at: datetime = Field(
        default_factory=clock.wall_now, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )


# ---------------------------------------------------------------- quarterly reports


class Report(SQLModel, table=True):
    """One division's report for one period: the unit that is submitted, returned and accepted."""

    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("fiscal_year_id", "division_id", "quarter", name="uq_report_division_period"),)
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    quarter: int
    state: str = Field(default=ReportState.DRAFT, max_length=12, index=True)  # ReportState
    version: int = 0  # +1 on every change; the API's ETag / If-Match
    late: bool = False
    first_submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    accepted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


class ReportEvent(SQLModel, table=True):
    """Everything that happened to a report: saves, sign-off, submit, return (with reasons), accept."""

    __tablename__ = "report_event"
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    version: int  # the report's version after the event
    action: str = Field(max_length=12)  # ReportAction
    actor: str = Field(max_length=64)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class PeriodLockEvent(SQLModel, table=True):
    """Finance locks a period (no report of it changes) and reopens it; the latest event is in force."""

    __tablename__ = "period_lock_event"
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    quarter: int
    action: str = Field(max_length=8)  # ReportAction.LOCK | ReportAction.REOPEN
    actor: str = Field(max_length=64)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class ActualEntry(SQLModel, table=True):
    """One saved version of an indicator's actual for a report.  Never updated except `is_current`,
    which moves to the newer version, so every value keeps its whole history."""

    __tablename__ = "actual_entry"
    __table_args__ = (Index("ix_actual_entry_report_current", "report_id", "is_current"),)
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    report_id: int = Field(foreign_key="report.id")
    report_version: int
    is_current: bool = True
    number: Decimal | None = Field(default=None, sa_column=Column(TARGET_NUMBER))
    done: bool | None = None
    done_on: date | None = Field(default=None, sa_column=Column(Date))
    expected_on: date | None = Field(default=None, sa_column=Column(Date))
    progress: str = Field(default="", sa_column=Column(Text, nullable=False))
    likelihood: str = Field(default="", max_length=8)  # Likelihood, or "" not given
    cause_category: str = Field(default="", max_length=12)  # CauseCategory, or "" not given
    cause_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    measure_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    decrease_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    forecast: str = Field(default="", sa_column=Column(Text, nullable=False))  # 全年预计完成值 (Q2/Q3), "" = none
    source: str = Field(max_length=8)  # web | excel | csv | api
    actor: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class SpendEntry(SQLModel, table=True):
    """One saved version of a project's spend to date (执行数) and adjusted budget (全年预算数)."""

    __tablename__ = "spend_entry"
    __table_args__ = (Index("ix_spend_entry_report_current", "report_id", "is_current"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    report_id: int = Field(foreign_key="report.id")
    report_version: int
    is_current: bool = True
    spent: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    budget: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    decrease_reason: str = Field(default="", sa_column=Column(Text, nullable=False))  # spend below last quarter's
    forecast: Decimal | None = Field(default=None, sa_column=Column(MONEY))  # 全年预计执行数 (Q2/Q3 reports)
    source: str = Field(max_length=8)
    actor: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class Attachment(SQLModel, table=True):
    """Evidence for an indicator's actual in a report, stored in the database with its hash."""

    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    file_name: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    actor: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())
    removed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    removed_by: str | None = Field(default=None, max_length=64)


# ---------------------------------------------------------------- monitoring


class IndicatorStatusRow(SQLModel, table=True):
    """An indicator's status as of a date (kept per date, so trends can be shown)."""

    __tablename__ = "indicator_status"
    __table_args__ = (UniqueConstraint("indicator_id", "as_of", name="uq_indicator_status_as_of"),)
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    project_id: int = Field(foreign_key="project.id", index=True)
    as_of: date = Field(sa_column=Column(Date, nullable=False, index=True))
    # Status.  Not indexed: a reader asks for statuses of a day (as_of), never across days (0015).
    status: str = Field(max_length=16)
    expected: Decimal | None = Field(default=None, sa_column=Column(TARGET_NUMBER))
    value: Decimal | None = Field(default=None, sa_column=Column(TARGET_NUMBER))
    projection: Decimal | None = Field(default=None, sa_column=Column(TARGET_NUMBER))
    likelihood: str = Field(default="", max_length=8)  # Likelihood, or "" not given
    computed_at: datetime = Field(default_factory=_now, sa_column=_created())


class ProjectStatusRow(SQLModel, table=True):
    """A project's rolled-up status and budget execution as of a date."""

    __tablename__ = "project_status"
    __table_args__ = (UniqueConstraint("project_id", "as_of", name="uq_project_status_as_of"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    as_of: date = Field(sa_column=Column(Date, nullable=False, index=True))
    status: str = Field(max_length=16)  # Status: the worst of its indicators'
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    spent: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    budget: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    execution_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(8, 2)))
    expected_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(8, 2)))
    budget_lagging: bool = False
    spent_through: date | None = Field(default=None, sa_column=Column(Date))  # the month- or quarter-end spent covers
    spend_source: str = Field(default="", max_length=8)  # SpendSource: payments | report ("" when none)
    computed_at: datetime = Field(default_factory=_now, sa_column=_created())


class PaymentBatch(SQLModel, table=True):
    """One payment file loaded (only files that added something are recorded)."""

    __tablename__ = "payment_batch"
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    file_name: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    rows: int
    added: int
    actor: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class Payment(SQLModel, table=True):
    """A treasury payment (or a month's total) of a project, in 元.  A record is its project, day, kind,
    amount and occurrence (the nth equal one in its file), so loading a file again adds nothing."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("project_id", "paid_on", "by_month", "amount", "occurrence", name="uq_payment_record"),
        Index("ix_payment_project_paid_on", "project_id", "paid_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    paid_on: date = Field(sa_column=Column(Date, nullable=False))
    by_month: bool = False
    amount: Decimal = Field(sa_column=Column(YUAN, nullable=False))
    occurrence: int = 1
    batch_id: int = Field(foreign_key="payment_batch.id", index=True)


class OutboxItem(SQLModel, table=True):
    """Work the web wanted queued while Redis was unreachable; drained when Redis is back."""

    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    function: str = Field(max_length=100)
    args: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    job_id: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())
    enqueued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), index=True))


# ---------------------------------------------------------------- alerts


class Alert(SQLModel, table=True):
    """Something a division (or finance) must hear about.  `key` = kind:subject:due:step, unique:
    an alert is created once whatever the retries, restarts or duplicate schedulers."""

    __tablename__ = "alert"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=20, index=True)  # AlertKind
    subject_code: str = Field(max_length=80)  # indicator, project or division+period code
    division_id: int | None = Field(default=None, foreign_key="division.id", index=True)
    due: date | None = Field(default=None, sa_column=Column(Date))
    step: str = Field(default="", max_length=20)
    as_of: date = Field(sa_column=Column(Date, nullable=False, index=True))
    message: str = Field(sa_column=Column(Text, nullable=False))
    link: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class Notification(SQLModel, table=True):
    """One alert for one user on one channel; its delivery attempts are logged."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("alert_id", "user_id", "channel", name="uq_notification_target"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    channel: str = Field(max_length=10)  # Channel
    state: str = Field(default="pending", max_length=10, index=True)  # pending | sent | digest (waits for the mail)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class DeliveryAttempt(SQLModel, table=True):
    """The proof that a division was notified: every attempt, when, on which channel, with what result."""

    __tablename__ = "delivery_attempt"
    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", index=True)
    channel: str = Field(max_length=10)  # Channel
    ok: bool
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


# ---------------------------------------------------------------- self-evaluation


class ReviewerGrade(SQLModel, table=True):
    """Finance's judgement of a qualitative or late-deadline indicator: band and percentage."""

    __tablename__ = "reviewer_grade"
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", unique=True)
    band: str = Field(max_length=8)  # Band
    percent: Decimal | None = Field(default=None, sa_column=Column(Numeric(5, 2)))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


class EvaluationRun(SQLModel, table=True):
    """An immutable snapshot: the kind (试算 or 正式计算), the policy used, which report and target revision fed
    each project, who, when, and every result.  A locked final run is the year's archived version."""

    __tablename__ = "evaluation_run"
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    kind: str = Field(default=RunKind.TRIAL, max_length=8)  # RunKind
    as_of: date | None = Field(default=None, sa_column=Column(Date))  # the data's date (a trial's 截至)
    policy: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    inputs: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=64)
    state: str = Field(default=RunState.QUEUED, max_length=10)  # RunState
    progress: int = 0  # projects scored so far
    total: int = 0
    locked: bool = False  # the year is locked on this run now (unlocking clears it; the archive stays)
    archive_version: int | None = None  # 1, 2, … once locked: the archived version it became
    error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # why it failed
    parts: int = 0  # the jobs it was split into (`RunPart` records each one done); 0: one process
    created_at: datetime = Field(default_factory=_now, sa_column=_created())
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class SweepRun(SQLModel, table=True):
    """The status sweep of a year as of a day, run by the daily job: in how many parts (one per project range,
    each recorded in `RunPart` once its rows are stored), its state and when it finished.  A rerun of the day
    starts the record again."""

    __tablename__ = "sweep_run"
    __table_args__ = (UniqueConstraint("fiscal_year_id", "as_of", name="uq_sweep_run_as_of"),)
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id")
    as_of: date = Field(sa_column=Column(Date, nullable=False))
    state: str = Field(default=RunState.RUNNING, max_length=10)  # RunState
    parts: int = 1
    indicators: int = 0  # statuses stored, once done
    error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    started_at: datetime = Field(default_factory=_now, sa_column=_created())
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class RunPart(SQLModel, table=True):
    """One part of a split sweep or evaluation run, done: written in the same transaction as the part's rows,
    once whatever the reruns (unique), so counting a run's parts is how many are done."""

    __tablename__ = "run_part"
    __table_args__ = (UniqueConstraint("kind", "run_id", "first_project_id", name="uq_run_part_first"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # "sweep" (run_id: a SweepRun) | "evaluation" (an EvaluationRun)
    run_id: int
    first_project_id: int
    last_project_id: int
    projects: int = 0
    finished_at: datetime = Field(default_factory=_now, sa_column=_created())


class EvaluationLockEvent(SQLModel, table=True):
    """Finance locks a final run as the year's archived version, or unlocks the year (with a reason)."""

    __tablename__ = "evaluation_lock_event"
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    run_id: int = Field(foreign_key="evaluation_run.id")
    action: str = Field(max_length=8)  # ArchiveAction
    version: int  # the archived version locked or unlocked
    actor: str = Field(max_length=64)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class EvaluationArchive(SQLModel, table=True):
    """The 自评表 workbook of a locked run as it was filed: downloadable whatever changes later."""

    __tablename__ = "evaluation_archive"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="evaluation_run.id", unique=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    version: int
    workbook: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class ScoreOverride(SQLModel, table=True):
    """Finance's score for an indicator, kept across runs; `computed_score` is the computed score it replaced,
    so a later run whose computed score differs asks finance to confirm it again."""

    __tablename__ = "score_override"
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", unique=True)
    score: Decimal = Field(sa_column=Column(Numeric(8, 2), nullable=False))
    computed_score: Decimal = Field(sa_column=Column(Numeric(8, 2), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


class DivisionExplanation(SQLModel, table=True):
    """偏差原因分析及改进措施 a division wrote for an indicator at the self-evaluation, kept across runs."""

    __tablename__ = "division_explanation"
    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", unique=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


class ProjectReview(SQLModel, table=True):
    """A project's closing, kept across runs: the division's 年度总体目标实际完成情况, and finance's
    exclusion from the final run (with its reason)."""

    __tablename__ = "project_review"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", unique=True)
    outcome: str = Field(default="", sa_column=Column(Text, nullable=False))
    outcome_by: str | None = Field(default=None, max_length=64)
    outcome_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    excluded: bool = False
    exclusion_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    excluded_by: str | None = Field(default=None, max_length=64)
    excluded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ProjectResult(SQLModel, table=True):
    __tablename__ = "project_result"
    __table_args__ = (UniqueConstraint("run_id", "project_id", name="uq_project_result_run"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="evaluation_run.id", index=True)
    project_id: int = Field(foreign_key="project.id")
    total: Decimal = Field(sa_column=Column(Numeric(6, 2), nullable=False))
    grade: str = Field(max_length=4)
    budget: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    levels: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # first level -> points
    findings: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # which report the values came from (division, period, version, state) and the latest target revision read
    source: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcome: str = Field(default="", sa_column=Column(Text, nullable=False))  # 实际完成情况 at the run
    excluded_reason: str = Field(default="", sa_column=Column(Text, nullable=False))  # not part of the final run
    override_total: Decimal | None = Field(default=None, sa_column=Column(Numeric(6, 2)))
    override_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    override_by: str | None = Field(default=None, max_length=64)


class IndicatorResult(SQLModel, table=True):
    __tablename__ = "indicator_result"
    __table_args__ = (UniqueConstraint("run_id", "indicator_id", name="uq_indicator_result_run"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="evaluation_run.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    project_id: int = Field(foreign_key="project.id", index=True)
    target: str = Field(default="", sa_column=Column(Text, nullable=False))  # the 指标值 in force at the run
    weight: Decimal = Field(sa_column=Column(Numeric(8, 2), nullable=False))
    actual: str = Field(default="", sa_column=Column(Text, nullable=False))
    score: Decimal = Field(sa_column=Column(Numeric(8, 2), nullable=False))
    basis: str = Field(default="", sa_column=Column(Text, nullable=False))
    override_score: Decimal | None = Field(default=None, sa_column=Column(Numeric(8, 2)))
    override_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    override_by: str | None = Field(default=None, max_length=64)
    override_stale: bool = False  # carried override whose computed score changed since: finance re-confirms
    division_note: str = Field(default="", sa_column=Column(Text, nullable=False))  # 偏差原因分析及改进措施


def id_of(
    row: Division | Project | Indicator | FiscalYear | User | ProjectTransfer | ProjectLink | IndicatorLink,
) -> int:
    """The primary key of a row that is in the database (flushed): an int, for queries and new rows."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has not been flushed yet")
    return row.id
