"""Logins, tokens and the current user: the web's side of the permission rules.

Every request passes `_authenticate` (pages: session cookie via Flask-Login; API: a
bearer token), and every view asks `authorize(action, division_id)` before it reads a
report or writes anything.  The rules themselves are the pure table in
`service.domain.permissions`; tests walk every URL rule.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from apiflask import HTTPError
from flask import Flask, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from .accounts import user_for_token
from .domain.permissions import Action, can
from .models import User
from .request_db import get_session

PUBLIC_ENDPOINTS = {"web.login", "web.static", "web.status_css"}
# API endpoints a logged-in browser may also read without a token (the pages' charts read theirs)
SESSION_API_ENDPOINTS = {"openapi.spec", "api.status_scale_view", "api.overview", "api.project_quarters_view"}
# What a user whose password an admin reset may still do before choosing a new one.
PASSWORD_CHANGE_ENDPOINTS = {"web.account", "web.account_password", "web.logout"}

login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.login_message = "请先登录"
login_manager.login_message_category = "error"


class LoginUser(UserMixin):
    """Flask-Login's view of a `User` row.  The session remembers "id:epoch", so raising the user's
    `session_epoch` (logout, password change) ends every session issued before."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = user.id

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_epoch}"


def _user_of_session(session_id: str) -> User | None:
    try:
        user_id, epoch = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None  # a cookie from before epochs existed
    user = get_session().get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return user


class _SecureWhenHttps(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS (behind nginx: ProxyFix)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))


def _return_to() -> str:
    """Where to go after logging in: this page, or for a form post the page the form was on."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return "/"


def authorize(action: str, division_id: int | None = None) -> User:
    """The current user, if allowed to do `action` (on `division_id`'s data); 403 otherwise."""
    user = g.get("user")
    if not can(user, action, division_id):
        raise Forbidden(f"您没有权限{Action(action).label}")
    return user


def current() -> User | None:
    return g.get("user")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.session_interface = _SecureWhenHttps()

    @login_manager.user_loader
    def _load(session_id: str):
        user = _user_of_session(session_id)
        return LoginUser(user) if user is not None else None

    @app.before_request
    def _authenticate():
        g.user = None
        if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.endpoint in SESSION_API_ENDPOINTS and current_user.is_authenticated:
            g.user = current_user.user
            return None
        if request.path.startswith("/api/"):
            header = request.headers.get("Authorization", "")
            session = get_session()
            user = user_for_token(session, header[7:].strip()) if header.startswith("Bearer ") else None
            if user is None:
                raise Unauthorized(
                    "需要有效的 API 令牌（Authorization: Bearer pt_…）",
                    www_authenticate=WWWAuthenticate("Bearer", {"realm": "perftrack"}),
                )
            if session.dirty:
                session.commit()  # last_used_at, at most every few minutes
            if user.must_change_password:
                raise HTTPError(
                    403,
                    "管理员已重置您的密码：请先登录网页设置新密码",
                    extra_data={"error": "password_change_required"},
                )
            g.user = user
            return None
        if not current_user.is_authenticated:
            return redirect(url_for("web.login", next=_return_to()))
        g.user = current_user.user
        if g.user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            return redirect(url_for("web.account"))  # the page says why
        return None

    @app.context_processor
    def _user():
        return {"user": g.get("user"), "can": lambda action, division_id=None: can(g.get("user"), action, division_id)}
