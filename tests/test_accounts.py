"""Accounts: password hashing, the failed-login limit, API tokens, session cookies, CLI."""
from __future__ import annotations

from datetime import date, time

import pytest
from sqlmodel import select

from service.accounts import (
    MAX_FAILURES_PER_USER, AccountError, TooManyAttempts, authenticate, create_user, issue_token, revoke_token,
    user_for_token,
)
from service.cli import main
from service.clock import clock
from service.db import session_scope
from service.models import ApiToken, LoginFailure, User

from .conftest import PASSWORD


def test_passwords_and_tokens_are_stored_hashed(seeded_engine):
    with session_scope(seeded_engine) as session:
        user = create_user(session, "zhang", "张三", "reporter", "XXH", "s3cret-pass")
        issued = issue_token(session, user, "script")
    with session_scope(seeded_engine) as session:
        stored = session.exec(select(User).where(User.username == "zhang")).one()
        token = session.exec(select(ApiToken)).one()
        assert "s3cret-pass" not in stored.password_hash and stored.password_hash.startswith("scrypt:")
        assert issued.token not in (token.token_hash, token.hint) and len(token.token_hash) == 64
        assert user_for_token(session, issued.token).username == "zhang"
        assert user_for_token(session, issued.token + "x") is None


@pytest.mark.parametrize("args, message", [
    (("", "x", "reporter", "XXH", "password1"), "用户名不能为空"),
    (("a b", "x", "reporter", "XXH", "password1"), "不能含空格"),
    (("li", "x", "boss", None, "password1"), "角色「boss」无效"),
    (("li", "x", "reporter", None, "password1"), "必须属于一个处室"),
    (("li", "x", "reporter", "NOPE", "password1"), "处室代码「NOPE」不存在"),
    (("li", "x", "finance", "XXH", "password1"), "不属于某个处室"),
    (("li", "x", "finance", None, "short"), "密码至少 8 位"),
])
def test_bad_accounts_are_refused_with_a_reason(seeded_engine, args, message):
    with session_scope(seeded_engine) as session:
        with pytest.raises(AccountError, match=message):
            create_user(session, *args)


def test_failed_logins_are_limited_per_name_and_expire(seeded_engine):
    clock.set_today(date(2025, 5, 6), time(9, 0))
    with session_scope(seeded_engine) as session:
        create_user(session, "wang", "王五", "finance", None, "right-password")
    for _ in range(MAX_FAILURES_PER_USER):
        with session_scope(seeded_engine) as session:
            with pytest.raises(AccountError, match="用户名或密码错误"):
                authenticate(session, "wang", "wrong", "10.0.0.1")
            session.commit()
    with session_scope(seeded_engine) as session:
        with pytest.raises(TooManyAttempts, match="登录失败次数过多"):
            authenticate(session, "wang", "right-password", "10.0.0.2")  # even the right password, from anywhere
    clock.set_today(date(2025, 5, 6), time(9, 16))
    with session_scope(seeded_engine) as session:
        assert authenticate(session, "wang", "right-password", "10.0.0.1").username == "wang"
    with session_scope(seeded_engine) as session:
        assert session.exec(select(LoginFailure).where(LoginFailure.username == "wang")).all() == []


def test_login_page_rate_limit_and_cookie_flags(app):
    client = app.test_client()
    for _ in range(MAX_FAILURES_PER_USER):
        response = client.post("/login", data={"username": "caiwu", "password": "nope"})
        assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)
    blocked = client.post("/login", data={"username": "caiwu", "password": PASSWORD})
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.get_data(as_text=True)
    other = app.test_client().post("/login", data={"username": "xxh", "password": PASSWORD},
                                   base_url="https://perftrack.example")
    cookie = other.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = app.test_client().post("/login", data={"username": "xxh", "password": PASSWORD})
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_login_redirects_only_within_the_site(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "xxh", "password": PASSWORD, "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"
    response = app.test_client().post("/login", data={"username": "xxh", "password": PASSWORD,
                                                      "next": "/reports/XXH/2025Q1"})
    assert response.headers["Location"] == "/reports/XXH/2025Q1"


def test_tokens_can_be_created_used_and_revoked_on_the_account_page(client_as, app):
    client = client_as("xxh")
    client.environ_base.pop("HTTP_AUTHORIZATION", None)
    page = client.post("/account/tokens", data={"label": "同步脚本"}).get_data(as_text=True)
    token = page.split('id="new-token">')[1].split("<")[0]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=headers).get_json()["username"] == "xxh"
    with session_scope(app.extensions["perftrack.engine"]) as session:
        record = session.exec(select(ApiToken).where(ApiToken.label == "同步脚本")).one()
        assert record.last_used_at is not None
    client.post(f"/account/tokens/{record.id}/revoke")
    assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_someone_elses_token_cannot_be_revoked(seeded_engine):
    with session_scope(seeded_engine) as session:
        owner = create_user(session, "a1", "a1", "auditor", None, "password1")
        other = create_user(session, "a2", "a2", "auditor", None, "password1")
        record = issue_token(session, owner, "x").record
        with pytest.raises(AccountError, match="该令牌不存在"):
            revoke_token(session, other, record.id)


def test_password_change_and_deactivation(client_as, app):
    client = client_as("xxh")
    wrong = client.post("/account/password", data={"current": "x", "new": "newpassword", "repeat": "newpassword"},
                        follow_redirects=True)
    assert "当前密码不正确" in wrong.get_data(as_text=True)
    client.post("/account/password", data={"current": PASSWORD, "new": "newpassword", "repeat": "newpassword"})
    assert app.test_client().post("/login", data={"username": "xxh", "password": "newpassword"}).status_code == 302
    admin = client_as("admin")
    with session_scope(app.extensions["perftrack.engine"]) as session:
        user_id = session.exec(select(User.id).where(User.username == "xxh")).one()
    admin.post(f"/admin/users/{user_id}/active", data={"active": "0"})
    assert client.get("/reports").status_code == 302  # the open session ends with the account
    assert app.test_client().post("/login", data={"username": "xxh", "password": "newpassword"}).status_code == 401


def test_admin_creates_users_on_the_page(client_as):
    admin = client_as("admin")
    page = admin.post("/admin/users", data={"username": "zhao", "display_name": "赵六", "role": "reporter",
                                            "division": "XXH", "password": "password1"},
                      follow_redirects=True).get_data(as_text=True)
    assert "已创建用户 zhao（处室填报人）" in page
    page = admin.post("/admin/users", data={"username": "qian", "role": "reporter", "password": "password1"},
                      follow_redirects=True).get_data(as_text=True)
    assert "必须属于一个处室" in page


def test_cli_users_create_and_token(runner, app):
    result = runner.invoke(main, ["users", "create", "--name", "sun", "--role", "head", "--division", "XXH",
                                 "--password", "password1"])
    assert result.exit_code == 0, result.output
    assert "已创建用户 sun（处室负责人，XXH）" in result.output
    bad = runner.invoke(main, ["users", "create", "--name", "sun", "--role", "head", "--division", "XXH",
                              "--password", "password1"])
    assert bad.exit_code != 0 and "已存在" in bad.output
    token = runner.invoke(main, ["users", "token", "--name", "sun"]).output.strip()
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (me["username"], me["role"]) == ("sun", "head")
    prompted = runner.invoke(main, ["users", "create", "--name", "zhou", "--role", "auditor"],
                             input="password9\npassword9\n")
    assert prompted.exit_code == 0 and "password9" not in prompted.output
