"""Login, logout, the user's own account (password, API tokens) and user administration."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from sqlmodel import select
from werkzeug.security import check_password_hash

from ..access import LoginUser, authorize
from ..accounts import (
    AccountError,
    TooManyAttempts,
    authenticate,
    create_user,
    end_sessions,
    issue_token,
    revoke_token,
    set_password,
    tokens_of,
)
from ..clock import clock
from ..domain.vocabulary import Role
from ..models import Division, User
from ..request_db import get_session
from ..user_admin import set_active
from . import decide, safe_next, web_bp


def _settings():
    return current_app.config["PERFTRACK_SETTINGS"]


@web_bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    session = get_session()
    try:
        user = authenticate(
            session,
            request.form.get("username", ""),
            request.form.get("password", ""),
            request.remote_addr or "unknown",
        )
    except TooManyAttempts as exc:
        session.commit()
        return render_template("login.html", error=str(exc), next=request.form.get("next", "")), 429
    except AccountError as exc:
        session.commit()  # keep the failure: it counts towards the limit
        return render_template(
            "login.html", error=str(exc), next=request.form.get("next", ""), username=request.form.get("username", "")
        ), 401
    session.commit()
    login_user(LoginUser(user))
    return redirect(safe_next(request.form.get("next"), url_for("web.index")))


@web_bp.post("/logout")
def logout():
    user = authorize("read_targets")
    session = get_session()
    end_sessions(session, user)  # a copy of the cookie taken before logging out is worthless too
    session.commit()
    logout_user()
    flash("已退出登录", "ok")
    return redirect(url_for("web.login"))


@web_bp.get("/account")
def account():
    user = authorize("read_targets")
    return _account_page(user, new_token=None)


def _account_page(user: User, new_token: str | None) -> str:
    return render_template(
        "account.html",
        tokens=tokens_of(get_session(), user),
        new_token=new_token,
        settings=_settings(),
        wall_now=clock.wall_now(),
    )


@web_bp.post("/account/password")
def account_password():
    user = authorize("read_targets")
    session = get_session()
    if not check_password_hash(user.password_hash, request.form.get("current", "")):
        flash("当前密码不正确", "error")
    elif request.form.get("new", "") != request.form.get("repeat", ""):
        flash("两次输入的新密码不一致", "error")
    else:
        try:
            set_password(session, user, request.form.get("new", ""), _settings().password_min_length)
            session.commit()
            login_user(LoginUser(user))  # this session goes on under the new epoch; every other one ends
            flash("密码已修改，其他已登录的会话均已退出", "ok")
        except AccountError as exc:
            flash(str(exc), "error")
    return redirect(url_for("web.account"))


@web_bp.post("/account/tokens")
def token_create():
    user = authorize("read_targets")
    session = get_session()
    try:
        issued = issue_token(session, user, request.form.get("label", ""), _settings().token_days)
    except AccountError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("web.account"))
    session.commit()
    return _account_page(user, new_token=issued.token)


@web_bp.post("/account/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):
    user = authorize("read_targets")
    decide(lambda session: revoke_token(session, user, token_id), "令牌已吊销")
    return redirect(url_for("web.account"))


@web_bp.get("/admin/users")
def users():
    authorize("manage_users")
    session = get_session()
    rows = session.exec(
        select(User, Division).join(Division, Division.id == User.division_id, isouter=True).order_by(User.username)
    ).all()
    return render_template(
        "users.html", rows=rows, divisions=session.exec(select(Division).order_by(Division.code)).all()
    )


@web_bp.post("/admin/users")
def user_create():
    authorize("manage_users")
    form = request.form
    decide(
        lambda session: create_user(
            session,
            form.get("username", ""),
            form.get("display_name", ""),
            form.get("role", ""),
            form.get("division") or None,
            form.get("password", ""),
            _settings().password_min_length,
        ),
        lambda user: f"已创建用户 {user.username}（{Role(user.role).label}）",
    )
    return redirect(url_for("web.users"))


@web_bp.post("/admin/users/<int:user_id>/active")
def user_active(user_id: int):
    admin = authorize("manage_users")

    def change(session):
        user = session.get(User, user_id)
        if user is None:
            raise AccountError("该用户不存在")
        return set_active(session, admin, user, request.form.get("active") == "1")

    decide(change, lambda u: f"用户 {u.username} 已{'启用' if u.active else '停用'}")
    return redirect(safe_next(request.form.get("next"), url_for("web.users")))
