"""Who may do what, for every URL rule of the application (pages and API).

`POLICY` is the test's own statement of who may call each endpoint.  A new endpoint
that is not classified here fails `test_every_endpoint_is_classified`, so no page or
API call can ship without its access rule being tested.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from service.db import session_scope
from service.models import EvaluationRun, Indicator, IndicatorResult, Project, ProjectResult, User
from service.reporting.evidence import add_attachment
from service.reporting.reports import load_scope

# endpoint -> what it needs.  public | login (any role, own account only) | read (targets) |
# view (the division's reports) | edit (the division's reports) | sign | review | targets (manage) |
# lock | users | bureau (the organisation and its divisions)
POLICY = {
    "web.login": "public",
    "web.static": "public",
    "web.status_css": "public",
    "openapi.spec": "login",
    "web.logout": "login",
    "web.account": "login",
    "web.account_password": "login",
    "web.token_create": "login",
    "web.token_revoke": "login",
    "api.me": "login",
    "web.inbox": "login",
    "web.inbox_read": "login",
    "web.inbox_open": "login",
    "web.notification_settings": "login",
    "api.inbox": "login",
    "api.project_status": "view",
    "api.status_scale_view": "read",
    "api.overview": "read",
    "api.project_quarters_view": "view",
    "web.overview": "read",
    "web.deliveries": "read",
    "web.index": "read",
    "web.todo": "read",
    "web.projects": "read",
    "web.project": "read",
    "web.deadline_list": "read",
    "web.indicator": "read",
    "web.reports": "read",
    "api.projects": "read",
    "api.project": "read",
    "api.indicators": "read",
    "api.indicator": "read",
    "api.reports": "read",
    "web.report": "view",
    "web.report_workbook": "view",
    "web.report_evidence": "view",
    "web.attachment_download": "view",
    "web.indicator_history_export": "view",
    "api.report": "view",
    "api.history": "view",
    "web.report_action": "view",  # then sign / submit / review by its action
    "web.report_save": "edit",
    "web.report_preview": "edit",
    "web.report_request_signoff": "edit",
    "web.report_workbook_upload": "edit",
    "web.report_evidence_upload": "edit",
    "web.attachment_remove": "edit",
    "api.report_values": "edit",
    "api.report_transition": "edit",
    "api.report_attachment": "edit",
    "web.division_signoff": "targets",
    "web.year_due_days": "lock",
    "web.findings": "targets",
    "web.finding_accept": "targets",
    "web.findings_accept_information": "targets",
    "web.finding_correct": "targets",
    "web.imports": "targets",
    "web.import_preview": "targets",
    "web.import_apply": "targets",
    "web.import_template": "targets",
    "web.division_list": "targets",
    "web.division_prefix": "targets",
    "api.upload_import": "targets",
    "api.findings": "targets",
    "web.payments": "targets",  # import_payments: admin and finance, as targets
    "web.monitoring_form": "audit",  # export_monitoring: admin, finance and the auditor
    "web.period_lock": "lock",
    "web.period_lock_confirm": "lock",
    "web.period_reopen": "lock",
    "api.period_lock": "lock",
    "web.users": "users",
    "web.user_create": "users",
    "web.user_active": "users",
    "web.evaluations": "read",
    "web.evaluation_workbook": "read",
    "web.evaluation_project": "view",
    "web.evaluation_note": "edit",
    "web.evaluation_start": "review",
    "web.evaluation_override": "review",
    "web.evaluation_grade": "review",
    "web.evaluation_lock": "review",
    "web.evaluation_reconfirm": "review",
    "web.evaluation_withdraw": "review",
    "web.evaluation_exclusion": "review",
    "web.evaluation_outcome": "edit",
    "web.evaluation_unlock": "unlock",
    "web.evaluation_archive": "audit",
    "web.select_year": "read",
    "web.year_list": "targets",
    "web.year_rollover": "targets",
    "web.year_links": "targets",
    "web.year_link_set": "targets",
    "web.year_links_confirm": "targets",
    "web.year_history_refresh": "targets",
    "web.project_move": "targets",
    "web.organisation_set": "bureau",
    "web.division_add": "bureau",
    "web.division_rename": "bureau",
    "web.division_retire": "bureau",
    "web.division_reactivate": "bureau",
    "web.division_import": "bureau",
    "web.user_detail": "users",
    "web.user_update": "users",
    "web.user_password_reset": "users",
    "web.user_import": "users",
}
# which needs each user is denied when the URL names division KAC (audit: every division's data at once;
# unlock: reopen a locked self-evaluation)
DENIED = {
    "xxh": {
        "view",
        "edit",
        "sign",
        "review",
        "targets",
        "lock",
        "users",
        "unlock",
        "audit",
        "bureau",
    },  # another division
    "kac": {"sign", "review", "targets", "lock", "users", "unlock", "audit", "bureau"},  # reporter of KAC itself
    "shenji": {"edit", "sign", "review", "targets", "lock", "users", "unlock", "bureau"},  # auditor: read-only
    "caiwu": {"edit", "sign", "users", "bureau"},  # finance reviews, never fills in a division's report
    "admin": {"edit", "sign", "review", "lock"},
}


@pytest.fixture
def urls(app):
    """Every rule with its methods, made concrete for division KAC."""
    with session_scope(app.extensions["perftrack.engine"]) as session:
        project, indicator = session.exec(
            select(Project, Indicator)
            .join(Indicator, Indicator.project_id == Project.id)
            .where(Project.prefix == "KA")
            .order_by(Indicator.code)
        ).first()
        kac_user = session.exec(select(User).where(User.username == "kac")).one()
        scope = load_scope(session, 2025, "KAC", 2)
        attachment = add_attachment(session, scope, kac_user, indicator, "proof.pdf", b"%PDF-1.4 evidence")
        run = EvaluationRun(fiscal_year_id=scope.year.id, actor="test", state="done")
        session.add(run)
        session.flush()
        session.add(
            ProjectResult(
                run_id=run.id,
                project_id=project.id,
                total=0,
                grade="差",
                findings=[],
                budget={"budget": 1, "spent": None, "rate": None, "weight": 10, "score": 0, "basis": ""},
            )
        )
        session.add(
            IndicatorResult(run_id=run.id, indicator_id=indicator.id, project_id=project.id, weight=10, score=0)
        )
        values = {
            "run_id": run.id,
            "indicator_code": indicator.code,
            "year": 2025,
            "division": "KAC",
            "period": "2025Q2",
            "code": indicator.code,
            "finding_id": 1,
            "token_id": 1,
            "notification_id": 1,
            "attachment_id": attachment.id,
            "user_id": 1,
            "filename": "app.css",
            "version": 1,
        }
        project_code = project.code
    found = []
    for rule in app.url_map.iter_rules():
        args = (
            dict(values, code=project_code)
            if rule.endpoint in ("web.project", "api.project", "api.project_status", "api.project_quarters_view")
            or rule.endpoint.startswith("web.evaluation_")
            else values
        )
        url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m, args=args: str(args[m.group(1)]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def _call(client, method: str, url: str):
    body = None
    if url.startswith("/api/") and method != "GET":
        body = {"action": "submit"} if url.endswith("/transitions") else {}
    return client.open(url, method=method, json=body)


def test_every_endpoint_is_classified(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(POLICY)


def test_anonymous_requests_are_turned_away(app, urls):
    client = app.test_client()
    for endpoint, method, url in urls:
        response = _call(client, method, url)
        if POLICY[endpoint] == "public":
            assert response.status_code in (200, 302, 400, 401), (endpoint, response.status_code)
            continue
        if url.startswith("/api/"):
            assert response.status_code == 401, (endpoint, method)
            assert "Bearer" in response.headers["WWW-Authenticate"]
        else:
            assert response.status_code == 302 and "/login" in response.headers["Location"], (endpoint, method)


@pytest.mark.slow  # every endpoint as every role
@pytest.mark.parametrize("username", sorted(DENIED))
def test_each_role_is_denied_exactly_what_policy_says(client_as, urls, username):
    client = client_as(username)
    for endpoint, method, url in urls:
        if endpoint in ("web.logout", "web.login"):  # would end the session under test
            continue
        need = POLICY[endpoint]
        response = _call(client, method, url)
        if need in DENIED[username]:
            assert response.status_code == 403, (username, endpoint, method, response.status_code)
        else:
            assert response.status_code != 403, (username, endpoint, method)


@pytest.mark.parametrize(
    "username, action, allowed",
    [
        ("kac", "sign", False),
        ("kac-head", "sign", True),
        ("kac", "return", False),
        ("caiwu", "return", True),
        ("caiwu", "submit", False),
        ("kac", "submit", True),
        ("shenji", "accept", False),
    ],
)
def test_report_actions_check_the_action_itself(client_as, username, action, allowed):
    response = client_as(username).post("/reports/KAC/2025Q2/action", data={"action": action})
    assert (response.status_code != 403) is allowed
    api = client_as(username).post(
        "/api/v1/reports/KAC/2025Q2/transitions", json={"action": action}, headers={"If-Match": '"0"'}
    )
    assert (api.status_code != 403) is allowed


def test_a_reporter_never_sees_another_divisions_values(client_as, app):
    kac = client_as("kac")
    code = "2025-010.01"  # 口岸管理处's
    saved = kac.post("/reports/KAC/2025Q2/save", data={f"v-{code}": "3", f"l-{code}": "确定能"})
    assert saved.status_code == 302
    assert "3次" in kac.get(f"/indicators/{code}").get_data(as_text=True)
    xxh = client_as("xxh")
    page = xxh.get(f"/indicators/{code}").get_data(as_text=True)
    assert "填报数据仅本处室、财务处和审计可查看" in page and "导出 Excel" not in page
    assert xxh.get("/api/v1/reports?year=2025").get_json()["items"][0]["division"] == "XXH"
    assert {i["division"] for i in xxh.get("/api/v1/reports").get_json()["items"]} == {"XXH"}
    assert "口岸管理处" not in xxh.get("/reports").get_data(as_text=True)


def test_the_rules_are_a_pure_table_that_judges_any_user():
    """The same `can` serves the pages, the API, the CLI and the use cases, without Flask or a database."""
    from types import SimpleNamespace

    from service.domain.permissions import RULES, Action, can

    reporter = SimpleNamespace(role="reporter", active=True, division_id=7)
    assert set(RULES) == set(Action) and all(action.label for action in Action)
    assert can(reporter, "edit_report", 7) and not can(reporter, "edit_report", 8)
    assert not can(reporter, "edit_report") and not can(reporter, "review_report", 7)
    assert not can(SimpleNamespace(role="reporter", active=False, division_id=7), "edit_report", 7)
    assert can(SimpleNamespace(role="finance", active=True, division_id=None), Action.REVIEW_REPORT)
    assert not can(None, "read_targets")
    with pytest.raises(ValueError):
        can(reporter, "edit_reports", 7)  # a misspelt action is a programming error, never a silent "no"
