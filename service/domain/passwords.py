"""The password policy: what a new password must be, with the reasons in Chinese.

Pure: the caller passes the minimum length (a setting); the small list of common passwords
ships beside this module.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

DEFAULT_MIN_LENGTH = 10
MIN_CHARACTER_CLASSES = 2
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def character_classes(password: str) -> int:
    """How many of lower-case letters, upper-case letters, digits and other characters occur."""
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not (c.islower() or c.isupper() or c.isdigit()) for c in password),
        )
    )


def password_problems(password: str, username: str, min_length: int = DEFAULT_MIN_LENGTH) -> list[str]:
    """Every reason PASSWORD may not be used by USERNAME (empty when it may)."""
    password = password or ""
    if not password.strip():
        return ["密码不能为空或全是空格"]
    problems = []
    if len(password) < min_length:
        problems.append(f"密码至少 {min_length} 位（当前 {len(password)} 位）")
    lowered = password.strip().lower()
    name = (username or "").strip().lower()
    if name and (lowered == name or lowered == name[::-1]):
        problems.append("密码不能与用户名相同")
    if lowered in common_passwords():
        problems.append("密码过于常见，容易被猜中")
    if character_classes(password) < MIN_CHARACTER_CLASSES:
        problems.append("密码须包含至少两类字符（小写字母、大写字母、数字、符号）")
    return problems
