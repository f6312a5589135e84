"""One status language: the report form's light, the project page, the overview, the API and the
monitoring workbook say the same status for every demo indicator (and project), in the same words and
colours, with a legend wherever colours appear."""

from __future__ import annotations

import io
import re
from datetime import date

import lxml.html
import pytest
from sqlmodel import select

from service.clock import clock
from service.db import session_scope
from service.domain.status import TONE_COLOURS, roll_up, tone_of
from service.domain.vocabulary import ReportAction, Status
from service.exports.monitoring import build_monitoring_workbook
from service.models import Division, Project, User
from service.monitoring import sweep
from service.reporting.reports import load_scope, transition

from .workbooks import open_workbook

AS_OF = date(2025, 9, 30)  # the end of Q3: the form's Q3 lights and the stored statuses hold the same values


@pytest.fixture
def seeded_url(demo_url) -> str:
    return demo_url


@pytest.fixture
def q3_statuses(app):
    """The demo year with every division's Q3 report sent (对外贸易处's is a draft in the demo), swept on 30 Sept."""
    clock.set_today(date(2025, 10, 12))
    with session_scope(app.extensions["perftrack.engine"]) as session:
        scope = load_scope(session, 2025, "WMC", 3)
        reporter = session.exec(select(User).where(User.username == "wmc")).one()
        transition(session, scope, reporter, ReportAction.SUBMIT)
        sweep(session, 2025, AS_OF)
        divisions = [
            d.code
            for d in session.exec(select(Division).join(Project, Project.division_id == Division.id).distinct()).all()
        ]
        projects = list(session.exec(select(Project.code).order_by(Project.code)).all())
    return divisions, projects


def _has(name: str) -> str:
    """An XPath predicate: the element has class NAME."""
    return f"[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]"


def _cls(name: str) -> str:
    return "//*" + _has(name)


def _form_statuses(client, divisions) -> dict[str, str]:
    statuses = {}
    for division in divisions:
        page = lxml.html.fromstring(client.get(f"/reports/{division}/2025Q3").get_data(as_text=True))
        assert page.xpath(_cls("legend")), f"{division}: the form's lights need a legend"
        for row in page.xpath("//tr" + _has("indicator")):
            light = row.xpath(".//span" + _has("light"))[0]
            label = row.xpath(".//span" + _has("light-label"))[0].text_content()
            status = light.get("data-status")
            assert label == Status(status).label and tone_of(status) in light.get("class").split()
            statuses[row.get("data-code")] = status
    return statuses


@pytest.mark.slow
def test_form_project_page_overview_api_and_workbook_agree_for_every_demo_indicator(client_as, app, q3_statuses):
    divisions, projects = q3_statuses
    finance = client_as("caiwu")
    form = _form_statuses(finance, divisions)
    assert len(form) == 482

    api, page, api_projects = {}, {}, {}
    for code in projects:
        body = finance.get(f"/api/v1/projects/{code}/status").get_json()
        assert body["as_of"] == AS_OF.isoformat()
        api_projects[code] = body["status"]
        for item in body["indicators"]:
            api[item["indicator"]] = item["status"]
            assert item["status_label"] == Status(item["status"]).label and item["tone"] == tone_of(item["status"])
        html = lxml.html.fromstring(finance.get(f"/projects/{code}").get_data(as_text=True))
        assert html.xpath(_cls("legend"))
        for row in html.xpath("//table[@id='indicators']/tbody/tr"):
            badge = row.xpath("./td" + _has("status") + "/span" + _has("badge"))[0]
            assert badge.text_content() == Status(badge.get("data-status")).label
            page[row.get("id")] = badge.get("data-status")

    workbook = open_workbook(io.BytesIO(_workbook(app).getvalue()))
    labels = {s.label: s.value for s in Status}
    sheet = workbook["指标"]
    rows = [row for row in sheet.iter_rows(min_row=3) if row[3].value]
    excel = {row[3].value: labels[row[12].value] for row in rows}
    for row in rows:  # the status cell wears its tone's colour, and the legend says what it means
        background, _text = TONE_COLOURS[tone_of(excel[row[3].value])]
        assert row[12].fill.fgColor.rgb == "FF" + background[1:].upper()
    assert sheet.cell(rows[-1][0].row + 1, 1).value.startswith(
        "状态颜色说明：进展良好（正常、已完成、已达成）；需关注（"
    )

    assert form == api == page == excel
    seen = set(form.values())
    assert {"achieved", "on_track", "at_risk", "lagging"} <= seen  # the comparison covers the interesting cases

    clock.set_today(date(2025, 10, 1))
    overview = lxml.html.fromstring(finance.get("/overview").get_data(as_text=True))
    assert overview.xpath(_cls("legend"))
    shown = {}
    for row in overview.xpath("//table[@id='budget']/tbody/tr"):
        code = row.xpath("./td/a")[0].text_content()
        shown[code] = row.xpath(".//span[@data-status]")[0].get("data-status")
    by_project: dict[str, list[str]] = {}
    for indicator, status in form.items():
        by_project.setdefault(indicator.rsplit(".", 1)[0], []).append(status)
    assert shown == api_projects == {code: roll_up(statuses).status for code, statuses in by_project.items()}
    assert not {"pending", "judged"} & set(shown.values())  # a project is never 未到期 or 定性


def _workbook(app):
    with session_scope(app.extensions["perftrack.engine"]) as session:
        return build_monitoring_workbook(session, 2025, AS_OF, app.config["PERFTRACK_SETTINGS"].status)


def test_colours_come_from_the_domain_scale(client, app):
    css = client.get("/status.css")
    text = css.get_data(as_text=True)
    assert css.status_code == 200 and css.mimetype == "text/css"
    for tone, (background, colour) in TONE_COLOURS.items():
        assert f".tone-{tone}{{background:{background};color:{colour};}}" in text
    app_css = client.get("/assets/app.css").get_data(as_text=True)
    assert not re.search(r"\.tone-\w+|\.light\.\w+|status-\w+\s*\{", app_css)  # no second colour scale
    scale = client.get("/api/v1/status-scale").get_json()
    assert [t["background"] for t in scale["tones"]] == [b for b, _ in TONE_COLOURS.values()]
    assert scale["thresholds"]["at_risk_tolerance_percent"] == "10"


def test_alerts_speak_the_same_language(app, q3_statuses):
    """Finance's digest names the project statuses someone must act on by their labels, with the counts the
    overview shows; an indicator's lagging alert names the status."""
    from collections import Counter

    from service.alerting import weekly_summary
    from service.domain.status import NEEDS_ACTION
    from service.models import ProjectStatusRow
    from service.monitoring import lagging_alerts

    with session_scope(app.extensions["perftrack.engine"]) as session:
        stored = Counter(session.exec(select(ProjectStatusRow.status).where(ProjectStatusRow.as_of == AS_OF)).all())
        (digest,) = weekly_summary(session, date(2025, 10, 6))
        acting = {status: n for status, n in stored.items() if status in NEEDS_ACTION}
        assert acting and f"{sum(acting.values())} 个需处理" in digest.message
        for status, count in acting.items():
            assert f"{Status.label_of(status)} {count}" in digest.message
        ids = list(session.exec(select(Project.id)).all())
        lagging = [a for a in lagging_alerts(session, ids, AS_OF) if not a.subject_code.endswith("-budget")]
        assert lagging and all("状态为「滞后」" in a.message for a in lagging)
