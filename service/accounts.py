"""Users, passwords, API tokens and the failed-login limit.

Passwords are stored with werkzeug's scrypt hash; tokens are random 256-bit strings of
which only the SHA-256 is kept.  Neither is ever logged.  The failed-login window and token
expiry run on wall time (`clock.wall_now`), never on the demo clock: a fixed day must not
freeze a lock or keep a token alive for ever.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from .clock import clock
from .domain.alerts import MUTABLE_KINDS
from .domain.inputs import InputError, clean_text
from .domain.passwords import DEFAULT_MIN_LENGTH, password_problems
from .domain.vocabulary import AlertKind, Role
from .models import ApiToken, Division, LoginFailure, User
from .notify.email import InvalidAddress, parse_address
from .notify.webhook import WebhookRefused
from .notify.webhook import new_secret as new_webhook_secret
from .notify.webhook import set_destination as set_webhook
from .settings import DEFAULT_TOKEN_DAYS

TOKEN_PREFIX = "pt_"
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
TOKEN_TOUCH = timedelta(minutes=5)  # how fresh a token's "last used" time is kept
# werkzeug's scrypt.  The test suite sets a one-round pbkdf2 here, as Django's test settings swap in a fast
# hasher: check_password_hash reads the method from each stored hash, so hashes of either kind verify.
PASSWORD_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked when the user does not exist, in the method real hashes use: timing does not tell which names exist."""
    return generate_password_hash("perftrack-no-such-user", method=method)


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why (Chinese)."""


class TooManyAttempts(AccountError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    username: str,
    display_name: str,
    role: str,
    division_code: str | None,
    password: str,
    min_length: int = DEFAULT_MIN_LENGTH,
) -> User:
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() or not c.isprintable() for c in username):
        raise AccountError("用户名不能为空、不能含空格或控制字符，最长 64 个字符")
    display_name = _clean(display_name or username, "显示名称", 100)
    if role not in Role.values():
        raise AccountError(f"角色「{role}」无效，可选：{', '.join(Role.values())}")
    division_id = None
    if Role(role).belongs_to_division:
        division = session.exec(select(Division).where(Division.code == (division_code or ""))).first()
        if division is None:
            raise AccountError(f"角色「{Role(role).label}」必须属于一个处室；处室代码「{division_code or ''}」不存在")
        if not division.active:
            raise AccountError(f"处室「{division.name}」已撤销，不能再分配用户")
        division_id = division.id
    elif division_code:
        raise AccountError(f"角色「{Role(role).label}」不属于某个处室，请不要指定处室")
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise AccountError(f"用户名「{username}」已存在")
    _check_password(password, username, min_length)
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        division_id=division_id,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def _clean(text: str | None, label: str, limit: int) -> str:
    """A single-line account field (display name, token label, address), normalised once."""
    try:
        return clean_text(text, limit, multiline=False)
    except InputError as exc:
        raise AccountError(f"{label}：{exc.message}") from exc


def password_problem(password: str, username: str, min_length: int = DEFAULT_MIN_LENGTH) -> str | None:
    """Why PASSWORD may not be USERNAME's (None: it may): the one password policy, for every way in."""
    problems = password_problems(password, username, min_length)
    return "；".join(problems) if problems else None


def _check_password(password: str, username: str, min_length: int) -> None:
    if problem := password_problem(password, username, min_length):
        raise AccountError(problem)


def set_password(session: Session, user: User, password: str, min_length: int = DEFAULT_MIN_LENGTH) -> None:
    """A new password; every session opened with the old one ends (`end_sessions`), and a reset's demand
    to choose one at the next login is met."""
    _check_password(password, user.username, min_length)
    user.password_hash = hash_password(password)
    user.must_change_password = False
    end_sessions(session, user)


def end_sessions(session: Session, user: User) -> None:
    """Every session cookie issued to USER so far stops being accepted (they carry the old epoch)."""
    user.session_epoch += 1
    session.add(user)


def authenticate(session: Session, username: str, password: str, remote_addr: str) -> User:
    """The user, or AccountError.  Too many recent failures for the name or the address block trying."""
    username = (username or "").strip()
    since = clock.wall_now() - FAILURE_WINDOW
    by_user = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.created_at >= since)
    ).one()
    by_address = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.remote_addr == remote_addr, LoginFailure.created_at >= since)
    ).one()
    if by_user >= MAX_FAILURES_PER_USER or by_address >= MAX_FAILURES_PER_ADDRESS:
        minutes = int(FAILURE_WINDOW.total_seconds() // 60)
        raise TooManyAttempts(f"登录失败次数过多，请 {minutes} 分钟后再试")
    user = session.exec(select(User).where(User.username == username)).first()
    valid = check_password_hash(user.password_hash if user else _dummy_hash(PASSWORD_METHOD), password or "")
    if user is None or not valid or not user.active:
        session.add(LoginFailure(username=username[:64], remote_addr=remote_addr[:64]))
        session.flush()
        raise AccountError("用户名或密码错误")
    session.exec(delete(LoginFailure).where(or_(LoginFailure.username == username, LoginFailure.created_at < since)))
    return user


MAX_EMAIL, MAX_WEBHOOK_URL = 200, 500  # the columns' lengths


def set_notification_settings(
    session: Session,
    user: User,
    email: str | None,
    webhook_url: str | None,
    notify_email: bool,
    email_digest: bool,
    allowed_networks=(),
    muted_kinds: list[str] | None = None,
) -> User:
    """Where USER's notices go besides the inbox: email (each or a daily digest) and a webhook, whose
    destination must be one a webhook may call (ALLOWED_NETWORKS besides public addresses); and the
    informational kinds USER does not want at all (MUTED_KINDS, only those §7 lets one mute)."""
    muted = sorted(set(muted_kinds or []))
    refused = [kind for kind in muted if kind not in MUTABLE_KINDS]
    if refused:
        raise AccountError(f"以下提醒不能关闭：{'、'.join(AlertKind.label_of(kind) for kind in refused)}")
    email = _clean(email, "邮箱地址", MAX_EMAIL) or None
    webhook_url = _clean(webhook_url, "Webhook 地址", MAX_WEBHOOK_URL) or None
    if email:
        try:
            email = parse_address(email)  # exactly one address: a list would be delivered to each
        except InvalidAddress as exc:
            raise AccountError(str(exc)) from exc
    record = session.get(User, user.id)
    try:
        set_webhook(record, webhook_url, allowed_networks)
    except WebhookRefused as exc:
        raise AccountError(str(exc)) from exc
    record.email, record.notify_email, record.email_digest = email, notify_email, email_digest
    if muted_kinds is not None:
        record.muted_kinds = muted
    session.add(record)
    session.flush()
    return record


def rotate_webhook_secret(session: Session, user: User) -> User:
    """A new signing secret for USER's webhook (the receiver must be given it)."""
    record = session.get(User, user.id)
    if record.webhook_url is None:
        raise AccountError("还没有设置 Webhook 地址")
    record.webhook_secret = new_webhook_secret()
    session.add(record)
    session.flush()
    return record


@dataclass
class IssuedToken:
    token: str  # shown once
    record: ApiToken


def issue_token(session: Session, user: User, label: str, days: int = DEFAULT_TOKEN_DAYS) -> IssuedToken:
    """A new token, valid for DAYS days of wall time."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        user_id=user.id,
        label=_clean(label, "令牌名称", 100) or "API",
        token_hash=hash_token(token),
        hint=token[:10],
        expires_at=clock.wall_now() + timedelta(days=days),
    )
    session.add(record)
    session.flush()
    return IssuedToken(token, record)


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    record = session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id:
        raise AccountError("该令牌不存在")
    if record.revoked_at is None:
        record.revoked_at = clock.now()
        session.add(record)
    return record


def user_for_token(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.exec(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > clock.wall_now(),
        )
    ).first()
    if row is None or not row[1].active:
        return None
    record, user = row
    now = clock.now()
    if record.last_used_at is None or now - record.last_used_at > TOKEN_TOUCH:  # not a write per API call
        record.last_used_at = now
        session.add(record)
    return user


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())).all())
