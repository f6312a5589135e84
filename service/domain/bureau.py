"""The organisation's own words: the budget unit named by a table's header line, and what a division
code, name and title prefix may be (docs/domain.md §10.1).  Pure."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

UNIT_LINE = re.compile(r"^\s*(?P<code>\d{3,12})\s*(?P<rest>\S.*?)\s*$")
DIVISION_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
PREFIX = re.compile(r"^[A-Z]{2,4}$")
NAME_MAX = 100
DIVISION_ENDINGS = ("处", "室", "科", "办", "中心", "办公室", "股")


@dataclass(frozen=True)
class BudgetUnit:
    """预算单位 as a table's header line names it: code and name."""

    code: str
    name: str


def read_unit_line(line: str, division_names: Sequence[str] = ()) -> BudgetUnit | None:
    """「323101天津市商务局财务处」 → 323101 天津市商务局: the code, then the unit's name without the
    preparing division's name at its end (a known division, else a trailing 「…处」 after 「局/委/厅/办」)."""
    text = unicodedata.normalize("NFKC", line or "").strip()
    match = UNIT_LINE.match(text)
    if match is None or text.startswith("单位"):
        return None
    name = re.sub(r"\s+", "", match.group("rest"))
    for division in sorted((d for d in division_names if d), key=len, reverse=True):
        if name.endswith(division) and len(name) > len(division):
            return BudgetUnit(match.group("code"), name[: -len(division)])
    unit = re.match(r"^(.+?(?:局|委员会|委|厅|办公室|院|中心|部))(.+(?:处|室|科))$", name)
    return BudgetUnit(match.group("code"), unit.group(1) if unit else name)


def division_code_problem(code: str) -> str | None:
    if not DIVISION_CODE.match(code or ""):
        return f"处室代码「{code}」应以大写英文字母开头，只含大写字母、数字、- 和 _，最长 32 个字符"
    return None


def division_name_problem(name: str) -> str | None:
    name = (name or "").strip()
    if not name:
        return "处室名称不能为空"
    if len(name) > NAME_MAX:
        return f"处室名称最长 {NAME_MAX} 个字符"
    return None


def prefix_problem(prefix: str) -> str | None:
    if not PREFIX.match(prefix or ""):
        return f"前缀应为 2–4 个英文字母：「{prefix}」"
    return None


def split_prefixes(text: str) -> list[str]:
    """「YW, KA、NM」 → ['YW', 'KA', 'NM'] (commas, 顿号, semicolons or spaces between)."""
    return [
        p.strip().upper() for p in re.split(r"[,，、;；\s]+", unicodedata.normalize("NFKC", text or "")) if p.strip()
    ]


YES = ("是", "Y", "YES", "TRUE", "1", "财务")
NO = ("", "否", "N", "NO", "FALSE", "0")


def read_yes_no(text: str) -> bool | None:
    """是/否 (or Y/N, 1/0); None when it is neither."""
    value = unicodedata.normalize("NFKC", text or "").strip().upper()
    if value in YES:
        return True
    if value in NO:
        return False
    return None


@dataclass(frozen=True)
class Ownership:
    """A division's span of quarters of a project (docs/domain.md §10.4)."""

    division_id: int
    first_quarter: int
    last_quarter: int


def ownerships(current_division_id: int, moves: list[tuple[int, int, int]]) -> list[Ownership]:
    """Who owned the project in which quarters, from its moves (from_quarter, from, to) in order; with
    no move, the current division owns the whole year."""
    if not moves:
        return [Ownership(current_division_id, 1, 4)]
    spans: list[Ownership] = []
    owner, start = moves[0][1], 1
    for from_quarter, _from_division, to_division in sorted(moves, key=lambda m: m[0]):
        if from_quarter > start:
            spans.append(Ownership(owner, start, from_quarter - 1))
        owner, start = to_division, from_quarter
    spans.append(Ownership(owner, start, 4))
    return spans


def owner_in(spans: list[Ownership], quarter: int) -> int:
    return next(s.division_id for s in spans if s.first_quarter <= quarter <= s.last_quarter)
