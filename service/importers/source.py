"""What every importer produces: the projects and indicator rows of one file, as written.

Readers (text export, .docx, flat .xlsx/.csv) turn their format into these plain
records and collect `ImportProblem`s; `service.importing` decides what they mean for
the database.  Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..domain.vocabulary import Severity


@dataclass(frozen=True)
class ImportProblem:
    """One reason a file is rejected: where (table/sheet/row), which field, why (Chinese)."""

    location: str
    field: str
    message: str

    def to_dict(self) -> dict:
        return {"location": self.location, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.location} · {self.field}：{self.message}"


MAX_LISTED_PROBLEMS = 500  # a refusal of input lists this many, then says how many more there are


def bounded(problems: list[ImportProblem], limit: int = MAX_LISTED_PROBLEMS) -> list[ImportProblem]:
    """PROBLEMS, or the first LIMIT of them and one line counting the rest (a 20,000-row request of
    mistakes is refused with a readable answer, not 20,000 lines)."""
    if len(problems) <= limit:
        return problems
    rest = len(problems) - limit
    return problems[:limit] + [ImportProblem("请求", "问题", f"还有 {rest:,} 处问题未列出，请先改正以上问题")]


class ImportRejected(Exception):
    """The file was not imported; `problems` name table/row, field and reason."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = bounded(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class ProjectFinding:
    """A doubt about a project as written (not fatal), for a person to settle; stored as a `FindingRow`."""

    code: str
    severity: Severity
    message: str


@dataclass
class SourceIndicator:
    row_no: int  # 1-based position within the project's table
    level1: str
    level2: str
    name: str
    description: str
    raw_value: str
    weight: Decimal | None = None
    location: str = ""
    stated_direction: str = ""  # 指标方向 (正向/反向) when the table has that column


@dataclass
class SourceProject:
    code: str | None  # given by flat files; derived from year + table number otherwise
    table_no: int | None
    title: str
    prefix: str | None
    funding_level: str | None  # 市级 | 中央 | None
    name: str
    budget: Decimal | None
    fiscal_funds: Decimal | None = None
    other_funds: Decimal | None = None
    use_of_funds: str = ""
    goals: list[str] = field(default_factory=list)
    division: str | None = None  # explicit 处室 (flat files)
    budget_unit: str = (
        ""  # the header line naming the budget unit (「323101天津市商务局财务处」), read into the organisation
    )
    indicators: list[SourceIndicator] = field(default_factory=list)
    findings: list[ProjectFinding] = field(default_factory=list)
    location: str = ""


@dataclass
class SourceFile:
    format: str  # text | docx | xlsx | csv
    projects: list[SourceProject] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    years_mentioned: list[int] = field(default_factory=list)
