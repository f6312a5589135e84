"""Production hardening seen from outside: security headers, the proxy in front (real client address
and scheme), redirects only within the site, the OpenAPI document and findings behind the page rules,
webhook targets on the settings page, and file names that hide their type."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlmodel import select

from service.accounts import MAX_FAILURES_PER_ADDRESS
from service.db import session_scope
from service.models import FindingRow, LoginFailure, Notification, User
from service.reporting.evidence import BIDI_CONTROLS, check_file
from service.reporting.reports import ReportError

from .conftest import PASSWORD, make_app

TEMPLATES = Path(__file__).resolve().parent.parent / "service" / "web" / "templates"
CODE = "2025-001.01"


# ---------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "path, who",
    [
        ("/login", None),
        ("/reports", "caiwu"),
        ("/api/v1/me", "caiwu"),
        ("/assets/app.css", None),
        ("/projects/NOPE", "caiwu"),
    ],
)
def test_every_response_carries_the_security_headers(client_as, app, path, who):
    client = client_as(who) if who else app.test_client()
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS means nothing there


def test_hsts_over_https(app):
    response = app.test_client().get("/login", base_url="https://perftrack.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_need_no_inline_script_or_style(template):
    """What the Content-Security-Policy would block: behaviour lives in static/app.js, looks in app.css."""
    html = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b", html), "inline <style>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html), "style attribute"
    assert "javascript:" not in html


# ---------------------------------------------------------------- the proxy in front


def _proxied_app(seeded_url, tmp_path, hops: str):
    return make_app(seeded_url, tmp_path / f"instance-{hops}", {"PERFTRACK_PROXY_HOPS": hops}, WTF_CSRF_ENABLED=False)


def _addresses(app) -> list[str]:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        return list(session.exec(select(LoginFailure.remote_addr).order_by(LoginFailure.id)).all())


def test_behind_one_proxy_the_real_client_address_and_scheme_are_used(seeded_url, tmp_path):
    app = _proxied_app(seeded_url, tmp_path, "1")
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}  # every request comes from nginx on the same host
    # the client may write anything into X-Forwarded-For; only what nginx appended is believed
    client.post(
        "/login",
        data={"username": "caiwu", "password": "wrong"},
        environ_base=proxy,
        headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"},
    )
    assert _addresses(app) == ["198.51.100.7"]
    secure = client.get(
        "/login", environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    )
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    logged_in = app.test_client().post(
        "/login",
        data={"username": "xxh", "password": PASSWORD},
        environ_base=proxy,
        headers={"X-Forwarded-For": "198.51.100.8", "X-Forwarded-Proto": "https"},
    )
    assert "Secure" in logged_in.headers["Set-Cookie"]
    app.extensions["perftrack.engine"].dispose()


def test_one_address_guessing_passwords_does_not_lock_out_everyone_behind_the_proxy(seeded_url, tmp_path):
    app = _proxied_app(seeded_url, tmp_path, "1")
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    for n in range(MAX_FAILURES_PER_ADDRESS):
        app.test_client().post(
            "/login", data={"username": f"guess{n % 4}", "password": "wrong"}, environ_base=proxy, headers=attacker
        )
    blocked = app.test_client().post(
        "/login", data={"username": "xxh", "password": PASSWORD}, environ_base=proxy, headers=attacker
    )
    assert blocked.status_code == 429
    colleague = app.test_client().post(
        "/login",
        data={"username": "xxh", "password": PASSWORD},
        environ_base=proxy,
        headers={"X-Forwarded-For": "10.8.1.20"},
    )
    assert colleague.status_code == 302
    app.extensions["perftrack.engine"].dispose()


def test_without_a_proxy_forwarded_headers_are_not_believed(seeded_url, tmp_path):
    app = _proxied_app(seeded_url, tmp_path, "0")
    response = app.test_client().post(
        "/login",
        data={"username": "caiwu", "password": "wrong"},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
        headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"},
    )
    assert _addresses(app) == ["192.0.2.10"] and "Strict-Transport-Security" not in response.headers
    app.extensions["perftrack.engine"].dispose()


# ---------------------------------------------------------------- next=

EVIL_TARGETS = [
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
    " //evil.example",
    "/\\/evil.example",
    "///evil.example",
]


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_every_next_field_redirects_only_within_the_site(client_as, app, target):
    login = app.test_client().post("/login", data={"username": "caiwu", "password": PASSWORD, "next": target})
    assert login.status_code == 302 and login.headers["Location"] == "/"
    client = client_as("caiwu")
    with session_scope(app.extensions["perftrack.engine"]) as session:
        finding_id = session.exec(select(FindingRow.id).where(FindingRow.state == "open")).first()
    accepted = client.post(f"/findings/{finding_id}/accept", data={"note": "已核", "next": target})
    assert accepted.headers["Location"] == "/findings"
    corrected = client.post(f"/findings/{finding_id}/correct", data={"new_value": "", "reason": "", "next": target})
    assert corrected.headers["Location"] == "/findings"
    read = client.post("/inbox/read", data={"next": target})
    assert read.headers["Location"] == "/inbox"


def test_a_next_path_on_the_site_is_kept(client_as, app):
    login = app.test_client().post(
        "/login", data={"username": "caiwu", "password": PASSWORD, "next": "/projects?year=2025&division=XXH"}
    )
    assert login.headers["Location"] == "/projects?year=2025&division=XXH"
    assert client_as("caiwu").post("/inbox/read", data={"next": "/overview"}).headers["Location"] == "/overview"


# ---------------------------------------------------------------- the API behind the page rules


def test_the_openapi_document_needs_a_login_or_a_token(app, client_as, tokens):
    anonymous = app.test_client().get("/api/v1/openapi.json")
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["WWW-Authenticate"]
    with_token = app.test_client().get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {tokens['xxh']}"})
    assert with_token.status_code == 200 and with_token.get_json()["openapi"].startswith("3.")
    assert client_as("shenji").get("/api/v1/openapi.json").status_code == 200  # a logged-in browser


@pytest.mark.parametrize(
    "username, status", [("xxh", 403), ("kac-head", 403), ("shenji", 403), ("caiwu", 200), ("admin", 200)]
)
def test_findings_through_the_api_only_for_who_sees_the_findings_page(client_as, username, status):
    client = client_as(username)
    assert client.get("/api/v1/findings").status_code == status
    assert client.get("/findings").status_code == status


# ---------------------------------------------------------------- webhook targets

INTERNAL_TARGETS = [
    ("http://127.0.0.1:6379/", "127.0.0.1"),
    ("http://localhost:8080/hook", "127.0.0.1"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://10.1.2.3/robot", "10.1.2.3"),
    ("http://192.168.0.1/", "192.168.0.1"),
    ("http://[::1]:5000/", "::1"),
    ("http://0.0.0.0:5000/", "0.0.0.0"),
    ("http://2130706433/", "127.0.0.1"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
    ("http://100.64.0.1/", "100.64.0.1"),
    ("http://224.0.0.1/", "224.0.0.1"),
]


@pytest.mark.parametrize("url, address", INTERNAL_TARGETS)
def test_webhooks_to_internal_addresses_are_refused_on_the_settings_page(client_as, app, url, address):
    auditor = client_as("shenji")  # anyone may set a webhook, so nobody may aim it inside
    page = auditor.post("/notifications/settings", data={"webhook_url": url}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert f"指向本机、内网或保留地址（{address}），不允许使用" in text
    with session_scope(app.extensions["perftrack.engine"]) as session:
        user = session.exec(select(User).where(User.username == "shenji")).one()
        assert user.webhook_url is None and user.webhook_secret is None


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://93.184.216.34/robot", "应以 http:// 或 https:// 开头"),
        ("file:///etc/passwd", "应以 http:// 或 https:// 开头"),
        ("gopher://93.184.216.34:70/", "应以 http:// 或 https:// 开头"),
        ("http:///robot", "缺少主机名"),
        ("http://user:pw@93.184.216.34/", "不能包含用户名或密码"),
        ("http://93.184.216.34:99999/", "端口无效"),
        ("http://no-such-host.invalid/robot", "无法解析 Webhook 主机名「no-such-host.invalid」"),
    ],
)
def test_malformed_webhook_targets_are_refused_in_chinese(client_as, url, message):
    page = client_as("xxh").post("/notifications/settings", data={"webhook_url": url}, follow_redirects=True)
    assert message in page.get_data(as_text=True)


def test_a_public_webhook_gets_its_own_secret_shown_to_its_owner(client_as, app):
    xxh = client_as("xxh")
    page = xxh.post(
        "/notifications/settings", data={"webhook_url": "https://93.184.216.34/robot"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "通知设置已保存" in page
    secret = re.search(r'id="webhook-secret">([0-9a-f]{64})<', page).group(1)
    assert secret not in client_as("kac").get("/notifications/settings").get_data(as_text=True)
    same = xxh.post(
        "/notifications/settings", data={"webhook_url": "https://93.184.216.34/robot"}, follow_redirects=True
    ).get_data(as_text=True)
    assert secret in same  # saving the same address keeps the receiver's key
    rotated = xxh.post("/notifications/settings", data={"rotate_secret": "1"}, follow_redirects=True)
    new = re.search(r'id="webhook-secret">([0-9a-f]{64})<', rotated.get_data(as_text=True)).group(1)
    assert new != secret and "已生成新的 Webhook 签名密钥" in rotated.get_data(as_text=True)
    moved = xxh.post(
        "/notifications/settings", data={"webhook_url": "https://93.184.216.35/robot"}, follow_redirects=True
    ).get_data(as_text=True)
    assert new not in moved and re.search(r'id="webhook-secret">[0-9a-f]{64}<', moved)
    xxh.post("/notifications/settings", data={"webhook_url": ""})
    with session_scope(app.extensions["perftrack.engine"]) as session:
        user = session.exec(select(User).where(User.username == "xxh")).one()
        assert (user.webhook_url, user.webhook_secret) == (None, None)
        assert session.exec(select(Notification)).all() == []


def test_an_administrator_may_allow_an_internal_network(seeded_url, tmp_path):
    app = make_app(
        seeded_url,
        tmp_path / "instance",
        {"PERFTRACK_WEBHOOK_ALLOWED_NETWORKS": "10.20.0.0/16"},
        WTF_CSRF_ENABLED=False,
    )
    client = app.test_client()
    client.post("/login", data={"username": "xxh", "password": PASSWORD})
    ok = client.post(
        "/notifications/settings", data={"webhook_url": "http://10.20.3.4:8080/wecom"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "通知设置已保存" in ok
    other = client.post(
        "/notifications/settings", data={"webhook_url": "http://10.30.3.4/"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "指向本机、内网或保留地址（10.30.3.4）" in other
    app.extensions["perftrack.engine"].dispose()


# ---------------------------------------------------------------- file names


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_direction_controls_in_evidence_file_names_are_refused(control):
    with pytest.raises(ReportError, match=f"U\\+{ord(control):04X}.*可能掩盖真实的文件类型") as refused:
        check_file(f"invoice{control}fdp.docx", b"%PDF-1.7 x")
    assert refused.value.status == 422 and control not in str(refused.value)


def test_a_disguised_evidence_file_name_is_refused_on_the_page_and_the_api(client_as, app):
    disguised = "会议纪要\u202excod.pdf"  # shows as 会议纪要fdp.docx
    xxh = client_as("xxh")
    page = xxh.post(
        f"/reports/XXH/2025Q2/indicators/{CODE}/evidence",
        data={"file": (io.BytesIO(b"%PDF-1.7 minutes"), disguised)},
        follow_redirects=True,
    )
    assert "含有改变文字方向的不可见字符（U+202E）" in page.get_data(as_text=True)
    api = xxh.post(
        "/api/v1/reports/XXH/2025Q2/attachments",
        data={"indicator": CODE, "file": (io.BytesIO(b"%PDF-1.7 minutes"), disguised)},
    )
    assert api.status_code == 422 and "U+202E" in api.get_json()["message"]
