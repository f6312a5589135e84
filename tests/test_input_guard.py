"""Input the databases cannot keep, on every way in, against SQLite and PostgreSQL: a NUL, a lone
surrogate, JSON nested 2,000 deep, text over its column.  Each was a 500 (mostly on PostgreSQL
only); each is now a 400 or a message naming the field, and nothing is written."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

from service.clock import clock
from service.models import ApiToken, User

from .conftest import login, make_app

REPORT = "/api/v1/reports/XXH/2025Q2"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request, tmp_path):
    if request.param == "sqlite":
        url, tokens = request.getfixturevalue("seeded_url"), request.getfixturevalue("tokens")
    else:
        url, tokens = request.getfixturevalue("postgres_seeded")
    app = make_app(url, tmp_path / "instance", WTF_CSRF_ENABLED=False)
    clock.set_today(date(2025, 7, 3))
    yield app, tokens
    app.extensions["perftrack.engine"].dispose()


def _rows(app, model, *where):
    from service.db import session_scope

    with session_scope(app.extensions["perftrack.engine"]) as session:
        return session.exec(select(model).where(*where)).all()


def test_nul_and_lone_surrogates_are_refused_at_the_door(any_app):
    app, tokens = any_app
    api = login(app, "xxh", tokens)
    body = json.dumps({"actuals": [{"indicator": "2025-001.01", "value": "3", "cause_text": "原因\ud800"}]})
    answer = api.put(REPORT, data=body, content_type="application/json", headers={"If-Match": '"0"'})
    assert answer.status_code == 400 and "代理项" in answer.get_json()["message"]
    nul = api.put(
        REPORT, json={"actuals": [{"indicator": "2025-001.01", "value": "3\u0000"}]}, headers={"If-Match": '"0"'}
    )
    assert nul.status_code == 400 and "空字符（NUL）" in nul.get_json()["message"]
    assert api.get("/api/v1/projects?q=%00").status_code == 400
    assert api.get("/api/v1/indicators/2025-001.01%00").status_code == 400
    page = api.get("/projects?q=%00")
    assert page.status_code == 400 and "空字符（NUL）" in page.get_data(as_text=True)
    deep = api.put(REPORT, data="[" * 2000 + "]" * 2000, content_type="application/json", headers={"If-Match": '"0"'})
    assert deep.status_code == 400 and "嵌套层级过深" in deep.get_json()["message"]
    anonymous = app.test_client().post("/login", data={"username": "caiwu\u0000", "password": "x"})
    assert anonymous.status_code == 400
    assert api.get(REPORT).get_json()["version"] == 0


def test_text_over_its_column_is_refused_with_the_field_named(any_app):
    app, tokens = any_app
    admin = login(app, "admin", tokens)
    admin.post(
        "/admin/users",
        data={"username": "zhao", "display_name": "赵" * 101, "role": "auditor", "password": "long-enough-1"},
    )
    assert "显示名称：不能超过 100 个字（现有 101 个字）" in admin.get("/admin/users").get_data(as_text=True)
    assert _rows(app, User, User.username == "zhao") == []
    admin.post(
        "/admin/users",
        data={"username": "zhao", "display_name": "赵\x0b六", "role": "auditor", "password": "long-enough-1"},
    )
    assert [u.display_name for u in _rows(app, User, User.username == "zhao")] == ["赵 六"]

    xxh = login(app, "xxh", tokens)
    xxh.post("/notifications/settings", data={"webhook_url": "https://robot.example/" + "h" * 500})
    assert "Webhook 地址：不能超过 500 个字" in xxh.get("/notifications/settings").get_data(as_text=True)
    assert _rows(app, User, User.username == "xxh")[0].webhook_url is None
    xxh.post("/account/tokens", data={"label": "脚" * 101})
    assert "令牌名称：不能超过 100 个字" in xxh.get("/account").get_data(as_text=True)
    assert [t.label for t in _rows(app, ApiToken, ApiToken.label.like("脚%"))] == []


def test_workflow_text_is_normalised_and_bounded(any_app):
    app, tokens = any_app
    xxh, finance = login(app, "xxh", tokens), login(app, "caiwu", tokens)
    xxh.put(REPORT, json={"actuals": [{"indicator": "2025-001.01", "value": "3"}]}, headers={"If-Match": '"0"'})
    clock.set_today(date(2025, 7, 11))  # Q2 may be locked from the day after its due date
    locked = finance.post("/api/v1/periods/2025Q2/lock", json={"locked": True})
    assert locked.status_code == 200
    reopen = finance.post("/api/v1/periods/2025Q2/lock", json={"locked": False, "reason": "补" * 2001})
    assert reopen.status_code == 422 and reopen.get_json()["message"] == "原因：不能超过 2000 个字（现有 2001 个字）"
    reopen = finance.post("/api/v1/periods/2025Q2/lock", json={"locked": False, "reason": "补报\x0b数据\x07"})
    assert reopen.status_code == 200
    events = xxh.get(REPORT).get_json()
    assert events["locked"] is False


def test_finding_decisions_are_bounded_and_targets_keep_the_number_domain(any_app):
    from service.models import FindingRow as Finding
    from service.models import Indicator, TargetRevision

    app, tokens = any_app
    finance = login(app, "caiwu", tokens)
    (finding_id,) = [
        f.id
        for f in _rows(
            app,
            Finding,
            Finding.code == "inverted_comparator",
            Finding.indicator_id.in_([i.id for i in _rows(app, Indicator, Indicator.code == "2025-001.06")]),
        )
    ]
    huge = finance.post(
        f"/findings/{finding_id}/correct",
        data={"new_value": "≥" + "9" * 400 + "%", "reason": "更正"},
        follow_redirects=True,
    )
    assert "新的指标值：数值过大：绝对值应小于 1000 亿" in huge.get_data(as_text=True)
    long_note = finance.post(f"/findings/{finding_id}/accept", data={"note": "注" * 2001}, follow_redirects=True)
    assert "说明：不能超过 2000 个字（现有 2001 个字）" in long_note.get_data(as_text=True)
    assert _rows(app, TargetRevision) == [] and _rows(app, Finding, Finding.id == finding_id)[0].state == "open"
    finance.post(f"/findings/{finding_id}/correct", data={"new_value": "≥90%\x0b", "reason": "满意度\x0b应为下限\x1b"})
    revision = _rows(app, TargetRevision)[0]
    assert (revision.new_value, revision.reason) == ("≥90%", "满意度\n应为下限")
