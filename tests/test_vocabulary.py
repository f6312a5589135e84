"""The vocabulary: one labelled enum per state or kind, whose values are the strings already stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlmodel import select

from service.db import make_engine, session_scope
from service.domain.vocabulary import (
    VOCABULARY,
    AlertKind,
    Band,
    Comparator,
    Direction,
    FindingState,
    Likelihood,
    Measure,
    ReportAction,
    ReportState,
    Role,
    Severity,
    Status,
    TargetKind,
)
from service.models import Division, FiscalYear, Report

# What the tables held before the vocabulary existed: the enums must keep these values (no data migration).
STORED = {
    TargetKind: ("numeric", "deadline", "duration", "qualitative"),
    Direction: ("higher_better", "lower_better", "on_or_before", "judged"),
    Comparator: (">=", ">", "<=", "<", "="),
    Severity: ("error", "warning", "info"),
    FindingState: ("open", "accepted", "corrected"),
    Role: ("admin", "finance", "reporter", "head", "auditor"),
    ReportState: ("draft", "signed", "submitted", "returned", "accepted"),
    ReportAction: ("save", "sign", "submit", "return", "accept", "attach", "detach", "lock", "reopen", "request_sign"),
    Likelihood: ("确定能", "有可能", "不可能"),
    Band: ("达成", "部分达成", "未达成"),
    Status: (
        "achieved",
        "on_track",
        "at_risk",
        "lagging",
        "missed",
        "not_met",
        "done",
        "done_late",
        "due_soon",
        "overdue",
        "pending",
        "judged",
        "not_reported",
    ),
    AlertKind: (
        "deadline_upcoming",
        "deadline_due",
        "deadline_overdue",
        "report_open",
        "report_due_soon",
        "report_overdue",
        "returned",
        "lagging",
        "escalation",
        "digest",
        "signoff_requested",
        "budget_digest",
    ),
}


@pytest.mark.parametrize("words", STORED, ids=lambda words: words.__name__)
def test_values_are_the_strings_already_stored(words):
    assert words.values() == STORED[words]


@pytest.mark.parametrize("words", VOCABULARY, ids=lambda words: words.__name__)
def test_every_word_has_one_distinct_chinese_label(words):
    labels = [member.label for member in words]
    assert all(labels) and len(set(labels)) == len(labels)
    assert words.labels() == dict(zip(words.values(), labels, strict=True))


def test_a_member_is_its_stored_string():
    assert ReportState.SUBMITTED == "submitted" and ReportState("submitted") is ReportState.SUBMITTED
    assert f"{Status.LAGGING}" == "lagging" and json.dumps({Status.DONE: [Measure.LATEST]}) == '{"done": ["latest"]}'
    assert ReportState.label_of("returned") == "已退回修改"
    assert ReportState.label_of("archived") == "archived" and AlertKind.label_of("other", "提醒") == "提醒"


def test_members_are_written_as_their_values(database_url):
    """psycopg and sqlite3 store a member as its string, and it reads back as the plain string."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            year, division = FiscalYear(year=2025), Division(code="KAC", name="口岸管理处")
            session.add_all([year, division])
            session.flush()
            session.add(Report(fiscal_year_id=year.id, division_id=division.id, quarter=1, state=ReportState.SUBMITTED))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT state FROM report")).scalar_one() == "submitted"
        with session_scope(engine) as session:
            assert session.exec(select(Report.id).where(Report.state == ReportState.SUBMITTED)).all() != []
    finally:
        engine.dispose()
