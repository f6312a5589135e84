"""Which of this year's projects and indicators continue last year's (docs/domain.md §10.3).

Pure: candidates in, proposed links out.  A project continues one of last year's when both carry
the same stable code (one a budget system gave, not `年度-表号`), or else when their titles, without
prefix, funding level, years and boilerplate, are alike enough; each of last year's projects is
proposed at most once, the most alike pair first.  Indicators of linked projects are paired by
their levels and name, then by name similarity within the same 一级指标.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher

from .vocabulary import LinkMethod

TITLE_THRESHOLD = Decimal("0.60")  # below this, two titles are different projects
NAME_THRESHOLD = Decimal("0.60")
YEAR_CODE = re.compile(r"^(?:19|20)\d{2}-\d+$")  # `2025-010`: a table number in a year, not a stable code
_NOISE = [
    re.compile(r"\[bookmark:[^\]]*\]"),
    re.compile(r"^\s*\d+\s*[.．、]\s*"),  # table number
    re.compile(r"^[A-Z]{2,4}(?=[（(\u4e00-\u9fff\s])"),  # division prefix
    re.compile(r"[（(](?:市级|中央)[）)]"),
    re.compile(r"[（(]?(?:19|20)\d{2}\s*年?度?[）)]?"),
    re.compile(r"绩效目标表|项目|经费|专项"),
    re.compile(r"[\s\W_]+"),
]


def normalise_title(title: str) -> str:
    """The words that name a project, without what changes from year to year."""
    text = unicodedata.normalize("NFKC", title or "")
    for pattern in _NOISE:
        text = pattern.sub("", text)
    return text


def similarity(a: str, b: str) -> Decimal:
    """0…1, three decimals: how alike two normalised texts are."""
    if not a or not b:
        return Decimal(0)
    return Decimal(str(round(SequenceMatcher(None, a, b, autojunk=False).ratio(), 3)))


def stable_code(code: str | None) -> str | None:
    """A code that a continuing project keeps next year (a budget system's), or None (`2025-010`)."""
    if not code or YEAR_CODE.match(code):
        return None
    return code


@dataclass(frozen=True)
class Candidate:
    key: int  # the caller's id
    code: str | None
    title: str


@dataclass(frozen=True)
class Proposal:
    key: int
    previous: int
    method: LinkMethod
    similarity: Decimal | None


def match_projects(
    current: list[Candidate], previous: list[Candidate], threshold: Decimal = TITLE_THRESHOLD
) -> dict[int, Proposal]:
    """current key -> the previous project it continues (absent: a new project)."""
    proposals: dict[int, Proposal] = {}
    taken: set[int] = set()
    by_code = {stable_code(p.code): p for p in previous if stable_code(p.code)}
    for item in current:
        match = by_code.get(stable_code(item.code)) if stable_code(item.code) else None
        if match is not None and match.key not in taken:
            proposals[item.key] = Proposal(item.key, match.key, LinkMethod.CODE, None)
            taken.add(match.key)
    left = [c for c in current if c.key not in proposals]
    remaining = [p for p in previous if p.key not in taken]
    proposals.update(_by_similarity(left, remaining, normalise_title, threshold))
    return proposals


@dataclass(frozen=True)
class IndicatorCandidate:
    key: int
    level1: str
    level2: str
    name: str


def _name(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", text or ""))


def match_indicators(
    current: list[IndicatorCandidate], previous: list[IndicatorCandidate], threshold: Decimal = NAME_THRESHOLD
) -> dict[int, Proposal]:
    """Indicators of a continuing project paired with last year's: same levels and name, else alike names."""
    proposals: dict[int, Proposal] = {}
    taken: set[int] = set()
    exact: dict[tuple[str, str, str], IndicatorCandidate] = {}
    for p in previous:
        exact.setdefault((_name(p.level1), _name(p.level2), _name(p.name)), p)
    for item in current:
        match = exact.get((_name(item.level1), _name(item.level2), _name(item.name)))
        if match is not None and match.key not in taken:
            proposals[item.key] = Proposal(item.key, match.key, LinkMethod.TITLE, Decimal(1))
            taken.add(match.key)
    for level1 in {_name(c.level1) for c in current}:
        left = [Candidate(c.key, None, c.name) for c in current if c.key not in proposals and _name(c.level1) == level1]
        remaining = [
            Candidate(p.key, None, p.name) for p in previous if p.key not in taken and _name(p.level1) == level1
        ]
        found = _by_similarity(left, remaining, _name, threshold)
        taken.update(p.previous for p in found.values())
        proposals.update(found)
    return proposals


def _by_similarity(
    current: list[Candidate], previous: list[Candidate], normalise: Callable[[str], str], threshold: Decimal
) -> dict[int, Proposal]:
    """Greedy one-to-one pairing, the most alike pair first (ties: the earlier in each list)."""
    pairs = []
    previous_texts = [(p, normalise(p.title)) for p in previous]
    for i, item in enumerate(current):
        text = normalise(item.title)
        for j, (p, other) in enumerate(previous_texts):
            score = similarity(text, other)
            if score >= threshold:
                pairs.append((-score, i, j, item.key, p.key, score))
    pairs.sort()
    proposals, used_current, used_previous = {}, set(), set()
    for _neg, _i, _j, key, previous_key, score in pairs:
        if key in used_current or previous_key in used_previous:
            continue
        used_current.add(key)
        used_previous.add(previous_key)
        proposals[key] = Proposal(key, previous_key, LinkMethod.TITLE, score)
    return proposals
