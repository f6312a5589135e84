"""Tables of the budget year: divisions, projects, indicators and their history.

Table models only; request/response shapes live with the API.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, MetaData, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .clock import clock
from .db import NAMING_CONVENTION, UTCDateTime

SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)

MONEY = Numeric(14, 2)
TARGET_NUMBER = Numeric(20, 4)

FINDING_STATES = ("open", "accepted", "corrected")


def _now() -> datetime:
    return clock.now()


def _created() -> Column:
    return Column(UTCDateTime(), nullable=False)


class FiscalYear(SQLModel, table=True):
    __tablename__ = "fiscal_year"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True, index=True)
    created_at: datetime = Field(default_factory=_now, sa_column=_created())


class Division(SQLModel, table=True):
    """处室."""

    __tablename__ = "division"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=100)
    active: bool = True
    is_finance: bool = False  # 财务处: owns projects whose prefix is unknown


class DivisionPrefix(SQLModel, table=True):
    """Which division owns projects whose title starts with PREFIX (YW, KA, …).  Admin-editable data."""

    __tablename__ = "division_prefix"
    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(unique=True, max_length=8)
    division_id: int = Field(foreign_key="division.id")


class Project(SQLModel, table=True):
    __tablename__ = "project"
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year_id: int = Field(foreign_key="fiscal_year.id", index=True)
    code: str = Field(unique=True, index=True, max_length=64)
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
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


class Indicator(SQLModel, table=True):
    __tablename__ = "indicator"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    code: str = Field(unique=True, index=True, max_length=80)
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
    kind: str = Field(max_length=16)
    comparator: str | None = Field(default=None, max_length=2)
    target_value: Decimal | None = Field(default=None, sa_column=Column(TARGET_NUMBER))
    unit: str = Field(default="", max_length=20)
    per: str | None = Field(default=None, max_length=10)
    direction: str = Field(max_length=16)
    due: date | None = Field(default=None, index=True)
    in_source: bool = True  # False once a later import of the year no longer lists it
    updated_at: datetime = Field(default_factory=_now, sa_column=_created())


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


class Finding(SQLModel, table=True):
    """A doubt about a target or project for a person to settle."""

    __tablename__ = "finding"
    __table_args__ = (UniqueConstraint("project_id", "indicator_id", "code", name="uq_finding_subject_code"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    indicator_id: int | None = Field(default=None, foreign_key="indicator.id", index=True)
    code: str = Field(max_length=40)
    severity: str = Field(max_length=10)
    message: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="open", max_length=10, index=True)
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now, sa_column=_created())
