"""User administration by an admin (docs/domain.md §1.5): contact details, role and division,
password reset (the user must choose a new password at the next login), deactivation and
reactivation, and bulk creation from a sheet (`perftrack users import`).  Passwords go through
`accounts.set_password` / `create_user`, so the one password policy applies everywhere.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from .accounts import AccountError, create_user, password_problem, set_password
from .domain.inputs import InputError, clean_text
from .domain.passwords import DEFAULT_MIN_LENGTH
from .domain.vocabulary import Role
from .importers.sheet_rows import SheetUnreadable, header_columns, read_sheet_rows
from .importers.source import ImportProblem, ImportRejected
from .models import Division, User

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE = re.compile(r"^\+?[\d\s-]{5,24}$")
USER_SHEET = ["用户名", "姓名", "角色", "处室", "邮箱", "手机", "初始密码"]
OPTIONAL_COLUMNS = ("姓名", "处室", "邮箱", "手机", "初始密码")
# what people write in the 角色 column: the stored value, its label, or the short word
ROLE_WORDS = {
    **{r.value: r for r in Role},
    **{r.label: r for r in Role},
    "管理员": Role.ADMIN,
    "财务": Role.FINANCE,
    "填报人": Role.REPORTER,
    "负责人": Role.HEAD,
    "处长": Role.HEAD,
    "审计": Role.AUDITOR,
}


def temporary_password(min_length: int = DEFAULT_MIN_LENGTH) -> str:
    """A one-time password for the user to replace at the first login: every character class, longer
    than the policy asks."""
    return f"{secrets.token_urlsafe(max(12, min_length))}-Pt{secrets.randbelow(90) + 10}"


def email_problem(email: str) -> str | None:
    if email and (len(email) > 200 or not EMAIL.match(email)):
        return f"邮箱「{email}」格式不正确"
    return None


def phone_problem(phone: str) -> str | None:
    if phone and (not PHONE.match(phone) or sum(c.isdigit() for c in phone) < 5):
        return f"手机「{phone}」应为数字（可含 +、- 和空格）"
    return None


def clean_field(value: str | None, label: str, limit: int) -> str:
    """A single-line account field as stored (`inputs.clean_text`); a refusal names the field."""
    try:
        return clean_text(value, limit, multiline=False)
    except InputError as exc:
        raise AccountError(f"{label}：{exc.message}") from exc


def read_role(text: str) -> Role | None:
    return ROLE_WORDS.get(unicodedata.normalize("NFKC", text or "").strip())


def _active_admins(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(User).where(col(User.role) == Role.ADMIN, col(User.active).is_(True))
    ).one()


def _division_for(session: Session, role: Role, division_key: str) -> Division | None:
    """The division a user of ROLE belongs to (by code or name); refuses a retired one."""
    if not role.belongs_to_division:
        if division_key:
            raise AccountError(f"角色「{role.label}」不属于某个处室，请不要指定处室")
        return None
    division = (
        session.exec(
            select(Division).where((Division.code == division_key.upper()) | (Division.name == division_key))
        ).first()
        if division_key
        else None
    )
    if division is None:
        raise AccountError(f"角色「{role.label}」必须属于一个处室；处室「{division_key}」不存在")
    if not division.active:
        raise AccountError(f"处室「{division.name}」已撤销，不能再分配用户")
    return division


def update_user(
    session: Session, admin: User, user: User, *, display_name: str, email: str, phone: str, role: str, division: str
) -> User:
    """An admin changes a user's name, contact details, role and division."""
    display_name = clean_field(display_name, "姓名", 100)
    email, phone = clean_field(email, "邮箱", 200), clean_field(phone, "手机", 32)
    if not display_name:
        raise AccountError("姓名不能为空")
    for problem in (email_problem(email), phone_problem(phone)):
        if problem:
            raise AccountError(problem)
    new_role = read_role(role)
    if new_role is None:
        raise AccountError(f"角色「{role}」无效，可选：{'、'.join(r.label for r in Role)}")
    if user.id == admin.id and new_role != user.role:
        raise AccountError("不能修改自己的角色（请另一位管理员操作）")
    if user.role == Role.ADMIN and new_role != Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise AccountError("这是最后一位启用的系统管理员，不能改为其他角色")
    current = session.get(Division, user.division_id) if user.division_id else None
    key = (division or "").strip()
    target: Division | None
    if current is not None and key in (current.code, current.name) and new_role.belongs_to_division:
        target = current  # unchanged: a user may stay in a division that was retired since
    else:
        target = _division_for(session, new_role, key)
    user.display_name, user.email, user.phone = display_name, email or None, phone or None
    user.role, user.division_id = new_role.value, target.id if target else None
    session.add(user)
    session.flush()
    return user


def reset_password(
    session: Session, admin: User, user: User, password: str | None = None, min_length: int = DEFAULT_MIN_LENGTH
) -> str:
    """A new password for USER (a temporary one when none is given), to be changed at the next login;
    every session USER had ends."""
    if user.id == admin.id:
        raise AccountError("请在「我的账户」修改自己的密码")
    password = password or temporary_password(min_length)
    set_password(session, user, password, min_length)
    user.must_change_password = True
    session.add(user)
    session.flush()
    return password


def set_active(session: Session, admin: User, user: User, active: bool) -> User:
    if user.id == admin.id:
        raise AccountError("不能停用或启用自己")
    if not active and user.role == Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise AccountError("这是最后一位启用的系统管理员，不能停用")
    user.active = active
    session.add(user)
    session.flush()
    return user


# ---------------------------------------------------------------- a sheet of users


@dataclass(frozen=True)
class CreatedUser:
    username: str
    display_name: str
    role: str
    password: str  # shown once; the user changes it at the first login


def import_users(
    session: Session, file_name: str, data: bytes, min_length: int = DEFAULT_MIN_LENGTH
) -> list[CreatedUser]:
    """Rows 「用户名,姓名,角色,处室,邮箱,手机,初始密码」 (姓名 to 初始密码 optional): every user created with
    a temporary password (or the one given) to change at the first login.  All or nothing; raises
    ImportRejected naming the row, the column and the reason."""
    try:
        rows = read_sheet_rows(file_name, data)
    except SheetUnreadable as unreadable:
        raise ImportRejected([unreadable.problem]) from unreadable
    if not rows:
        raise ImportRejected([ImportProblem("文件", "表头", "文件是空的")])
    columns = header_columns(rows[0][1], USER_SHEET, optional=OPTIONAL_COLUMNS)
    if isinstance(columns, str):
        raise ImportRejected([ImportProblem(rows[0][0], "表头", columns)])
    existing = set(session.exec(select(User.username)).all())
    problems: list[ImportProblem] = []
    wanted: list[tuple[dict[str, str], Role]] = []
    seen: dict[str, str] = {}
    for location, cells in rows[1:]:
        record = {name: (cells[i].strip() if i < len(cells) else "") for name, i in columns.items()}
        if not any(record.values()):
            continue
        row_problems = _check_user_row(session, location, record, existing, seen, min_length)
        problems += row_problems
        role = read_role(record["角色"])
        if not row_problems and role is not None:
            wanted.append((record, role))
    if not wanted and not problems:
        problems.append(ImportProblem("文件", "内容", "文件中没有任何用户"))
    if problems:
        raise ImportRejected(problems)
    created = []
    for record, role in wanted:
        password = record.get("初始密码") or temporary_password(min_length)
        division = _division_for(session, role, record.get("处室", ""))
        user = create_user(
            session,
            record["用户名"],
            record.get("姓名") or record["用户名"],
            role.value,
            division.code if division else None,
            password,
            min_length,
        )
        user.email, user.phone = record.get("邮箱") or None, record.get("手机") or None
        user.must_change_password = True
        session.add(user)
        created.append(CreatedUser(user.username, user.display_name, role.label, password))
    session.flush()
    return created


def _check_user_row(
    session: Session, location: str, record: dict[str, str], existing: set[str], seen: dict[str, str], min_length: int
) -> list[ImportProblem]:
    problems: list[ImportProblem] = []
    username = record["用户名"]
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        problems.append(ImportProblem(location, "用户名", "用户名不能为空、不能含空格，最长 64 个字符"))
    elif username in existing:
        problems.append(ImportProblem(location, "用户名", f"用户名「{username}」已存在"))
    elif username in seen:
        problems.append(ImportProblem(location, "用户名", f"用户名「{username}」在表中重复（另见{seen[username]}）"))
    seen.setdefault(username, location)
    role = read_role(record["角色"])
    if role is None:
        problems.append(
            ImportProblem(location, "角色", f"「{record['角色']}」不是角色，可选：{'、'.join(r.label for r in Role)}")
        )
    else:
        try:
            _division_for(session, role, record.get("处室", ""))
        except AccountError as exc:
            problems.append(ImportProblem(location, "处室", str(exc)))
    for field, check, limit in (("姓名", None, 100), ("邮箱", email_problem, 200), ("手机", phone_problem, 32)):
        try:
            record[field] = clean_text(record.get(field, ""), limit, multiline=False)
        except InputError as exc:
            problems.append(ImportProblem(location, field, exc.message))
            continue
        if check is not None and (problem := check(record[field])):
            problems.append(ImportProblem(location, field, problem))
    if record.get("初始密码") and (problem := password_problem(record["初始密码"], username, min_length)):
        problems.append(ImportProblem(location, "初始密码", problem))
    return problems
