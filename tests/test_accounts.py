"""Accounts: password hashing and policy, the failed-login limit, API tokens and their expiry,
sessions (and their end on logout and password change), CLI."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select
from werkzeug.security import check_password_hash

from service import accounts
from service.accounts import (
    FAILURE_WINDOW,
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_USER,
    AccountError,
    TooManyAttempts,
    authenticate,
    create_user,
    issue_token,
    revoke_token,
    set_password,
    user_for_token,
)
from service.cli import main
from service.clock import clock
from service.db import session_scope
from service.models import ApiToken, LoginFailure, User

from .conftest import PASSWORD, SERVICE_PASSWORD_METHOD, make_app

GOOD = "Valid-pass-42"


def test_passwords_and_tokens_are_stored_hashed(seeded_engine, monkeypatch):
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", SERVICE_PASSWORD_METHOD)  # the service's own (conftest lowers it)
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


@pytest.mark.parametrize(
    "args, message",
    [
        (("", "x", "reporter", "XXH", GOOD), "用户名不能为空"),
        (("a b", "x", "reporter", "XXH", GOOD), "不能含空格"),
        (("li", "x", "boss", None, GOOD), "角色「boss」无效"),
        (("li", "x", "reporter", None, GOOD), "必须属于一个处室"),
        (("li", "x", "reporter", "NOPE", GOOD), "处室代码「NOPE」不存在"),
        (("li", "x", "finance", "XXH", GOOD), "不属于某个处室"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(seeded_engine, args, message):
    with session_scope(seeded_engine) as session:
        with pytest.raises(AccountError, match=message):
            create_user(session, *args)


@pytest.mark.parametrize(
    "username, password, message",
    [
        ("li", "Short-1", "密码至少 10 位（当前 7 位）"),
        ("li", " " * 12, "密码不能为空或全是空格"),
        ("li", "", "密码不能为空或全是空格"),
        ("wangwu2025", "WangWu2025", "密码不能与用户名相同"),
        ("li", "password123", "密码过于常见"),
        ("li", "Qwerty123", "密码至少 10 位"),
        ("li", "abcdefghijkl", "至少两类字符"),
        ("li", "长长的中文密码没有别的字符", "至少两类字符"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(seeded_engine, username, password, message):
    with session_scope(seeded_engine) as session:
        with pytest.raises(AccountError, match=message):
            create_user(session, username, "x", "finance", None, password)
        user = create_user(session, username, "x", "finance", None, GOOD)
        with pytest.raises(AccountError, match=message):
            set_password(session, user, password)
        assert check_password_hash(user.password_hash, GOOD) and user.session_epoch == 0


def test_the_minimum_length_is_a_setting(seeded_engine):
    with session_scope(seeded_engine) as session:
        with pytest.raises(AccountError, match="密码至少 16 位"):
            create_user(session, "li", "x", "finance", None, GOOD, min_length=16)
        assert create_user(session, "li", "x", "finance", None, GOOD + "-longer", min_length=16).username == "li"


def _fail(engine, username: str, address: str, times: int) -> None:
    for _ in range(times):
        with session_scope(engine) as session:
            with pytest.raises(AccountError, match="用户名或密码错误"):
                authenticate(session, username, "wrong", address)
            session.commit()


def test_failed_logins_are_limited_per_name_and_age_by_wall_time_even_on_a_fixed_day(seeded_engine):
    clock.set_today(date(2025, 5, 6), time(9, 0))  # a demo or simulated day: the clock stands still
    with session_scope(seeded_engine) as session:
        create_user(session, "wang", "王五", "finance", None, "right-password")
    _fail(seeded_engine, "wang", "10.0.0.1", MAX_FAILURES_PER_USER)
    with session_scope(seeded_engine) as session:
        with pytest.raises(TooManyAttempts, match="登录失败次数过多"):
            authenticate(session, "wang", "right-password", "10.0.0.2")  # even the right password, from anywhere
        stamps = session.exec(select(LoginFailure.created_at)).all()
        assert all(abs(clock.wall_now() - stamp) < timedelta(minutes=1) for stamp in stamps)  # real time kept
    clock.set_today(date(2025, 5, 6), time(9, 16))  # the demo clock moving on releases nothing
    with session_scope(seeded_engine) as session:
        with pytest.raises(TooManyAttempts):
            authenticate(session, "wang", "right-password", "10.0.0.1")
    with session_scope(seeded_engine) as session:  # the window passing in wall time does
        session.exec(update(LoginFailure).values(created_at=clock.wall_now() - FAILURE_WINDOW - timedelta(minutes=1)))
    with session_scope(seeded_engine) as session:
        assert authenticate(session, "wang", "right-password", "10.0.0.1").username == "wang"
    with session_scope(seeded_engine) as session:
        assert session.exec(select(LoginFailure).where(LoginFailure.username == "wang")).all() == []


def test_failed_logins_are_limited_per_address_without_locking_out_other_addresses(seeded_engine):
    with session_scope(seeded_engine) as session:
        create_user(session, "zhou", "周", "finance", None, "right-password")
    for n in range(MAX_FAILURES_PER_ADDRESS // (MAX_FAILURES_PER_USER - 1)):  # under each name's own limit
        _fail(seeded_engine, f"guess{n}", "203.0.113.9", MAX_FAILURES_PER_USER - 1)
    with session_scope(seeded_engine) as session:
        with pytest.raises(TooManyAttempts):
            authenticate(session, "zhou", "right-password", "203.0.113.9")
        assert authenticate(session, "zhou", "right-password", "198.51.100.4").username == "zhou"


def test_login_page_rate_limit_and_cookie_flags(app):
    client = app.test_client()
    for _ in range(MAX_FAILURES_PER_USER):
        response = client.post("/login", data={"username": "caiwu", "password": "nope"})
        assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)
    blocked = client.post("/login", data={"username": "caiwu", "password": PASSWORD})
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.get_data(as_text=True)
    other = app.test_client().post(
        "/login", data={"username": "xxh", "password": PASSWORD}, base_url="https://perftrack.example"
    )
    cookie = other.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = app.test_client().post("/login", data={"username": "xxh", "password": PASSWORD})
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_login_redirects_only_within_the_site(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "xxh", "password": PASSWORD, "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"
    response = app.test_client().post(
        "/login", data={"username": "xxh", "password": PASSWORD, "next": "/reports/XXH/2025Q1"}
    )
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
        owner = create_user(session, "a1", "a1", "auditor", None, GOOD)
        other = create_user(session, "a2", "a2", "auditor", None, GOOD)
        record = issue_token(session, owner, "x").record
        with pytest.raises(AccountError, match="该令牌不存在"):
            revoke_token(session, other, record.id)


def test_password_change_and_deactivation(client_as, app):
    client = client_as("xxh")
    elsewhere = client_as("xxh")  # the same person, logged in on another machine
    wrong = client.post(
        "/account/password",
        data={"current": "x", "new": "new-Password-7", "repeat": "new-Password-7"},
        follow_redirects=True,
    )
    assert "当前密码不正确" in wrong.get_data(as_text=True)
    weak = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "newpassword", "repeat": "newpassword"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "至少两类字符" in weak
    assert elsewhere.get("/reports").status_code == 200  # a refused change ends nothing
    changed = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "new-Password-7", "repeat": "new-Password-7"},
        follow_redirects=True,
    )
    assert "密码已修改，其他已登录的会话均已退出" in changed.get_data(as_text=True)
    assert client.get("/reports").status_code == 200  # who changed it stays logged in
    ended = elsewhere.get("/reports")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert app.test_client().post("/login", data={"username": "xxh", "password": "new-Password-7"}).status_code == 302
    admin = client_as("admin")
    with session_scope(app.extensions["perftrack.engine"]) as session:
        user_id = session.exec(select(User.id).where(User.username == "xxh")).one()
    admin.post(f"/admin/users/{user_id}/active", data={"active": "0"})
    assert client.get("/reports").status_code == 302  # the open session ends with the account
    assert app.test_client().post("/login", data={"username": "xxh", "password": "new-Password-7"}).status_code == 401


def test_logout_ends_the_session_even_for_a_copy_of_its_cookie(client_as, app):
    client = client_as("caiwu")
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    assert stolen.get("/reports").status_code == 200
    assert client.post("/logout").status_code == 302
    replayed = stolen.get("/reports")
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]
    assert client_as("caiwu").get("/reports").status_code == 200  # logging in again works


def test_a_session_cookie_from_before_epochs_is_not_accepted(app):
    client = app.test_client()
    with client.session_transaction() as cookie:  # what the app wrote before: the bare user id
        cookie["_user_id"] = "2"
        cookie["_fresh"] = True
    assert client.get("/reports").status_code == 302


def test_api_tokens_expire(client_as, seeded_url, tmp_path):
    app = make_app(seeded_url, tmp_path / "instance7", {"PERFTRACK_TOKEN_DAYS": "7"}, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    client.post("/login", data={"username": "xxh", "password": PASSWORD})
    page = client.post("/account/tokens", data={"label": "短期脚本"}).get_data(as_text=True)
    token = page.split('id="new-token">')[1].split("<")[0]
    assert "令牌自创建起 7 天后失效" in page
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        record = session.exec(select(ApiToken).where(ApiToken.label == "短期脚本")).one()
        assert abs(record.expires_at - (clock.wall_now() + timedelta(days=7))) < timedelta(minutes=1)
        shown = record.expires_at.astimezone(clock.zone).strftime("%Y-%m-%d %H:%M")
    assert f'<td class="token-expiry">{shown}</td>' in client.get("/account").get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token}"}
    clock.set_today(date(2099, 1, 1))  # the demo clock does not age tokens; wall time does
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    with session_scope(engine) as session:
        session.exec(
            update(ApiToken)
            .where(ApiToken.label == "短期脚本")
            .values(expires_at=clock.wall_now() - timedelta(seconds=1))
        )
    expired = app.test_client().get("/api/v1/me", headers=headers)
    assert expired.status_code == 401 and "API 令牌" in expired.get_json()["message"]
    assert "已过期" in client.get("/account").get_data(as_text=True)
    engine.dispose()


def test_admin_creates_users_on_the_page(client_as):
    admin = client_as("admin")
    page = admin.post(
        "/admin/users",
        data={"username": "zhao", "display_name": "赵六", "role": "reporter", "division": "XXH", "password": GOOD},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已创建用户 zhao（处室填报人）" in page
    page = admin.post(
        "/admin/users", data={"username": "qian", "role": "reporter", "password": GOOD}, follow_redirects=True
    ).get_data(as_text=True)
    assert "必须属于一个处室" in page
    page = admin.post(
        "/admin/users", data={"username": "sun", "role": "auditor", "password": "password1"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "密码至少 10 位（当前 9 位）；密码过于常见，容易被猜中" in page


def test_cli_users_create_and_token(runner, app):
    weak = runner.invoke(
        main, ["users", "create", "--name", "sun", "--role", "head", "--division", "XXH", "--password", "12345678901"]
    )
    assert weak.exit_code != 0 and "至少两类字符" in weak.output
    result = runner.invoke(
        main, ["users", "create", "--name", "sun", "--role", "head", "--division", "XXH", "--password", GOOD]
    )
    assert result.exit_code == 0, result.output
    assert "已创建用户 sun（处室负责人，XXH）" in result.output
    bad = runner.invoke(
        main, ["users", "create", "--name", "sun", "--role", "head", "--division", "XXH", "--password", GOOD]
    )
    assert bad.exit_code != 0 and "已存在" in bad.output
    issued = runner.invoke(main, ["users", "token", "--name", "sun"])
    token = issued.stdout.strip()  # alone on stdout, for scripts; the expiry goes to stderr
    assert "有效期至" in issued.stderr
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (me["username"], me["role"]) == ("sun", "head")
    prompted = runner.invoke(
        main, ["users", "create", "--name", "zhou", "--role", "auditor"], input="Password-99\nPassword-99\n"
    )
    assert prompted.exit_code == 0 and "Password-99" not in prompted.output
