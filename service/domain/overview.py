"""The bureau's figures at a glance: totals of budget, spend and execution against 序时进度, projects and
indicators by status, for the whole bureau and per division (docs/domain.md §6.10).  The overview page,
its charts, `perftrack status --json` and the monitoring workbook's summary sheet all add up here.  Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from .status import PROJECT_STATUSES, WORST_FIRST
from .vocabulary import Status

TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class ProjectFigures:
    """One project's stored or computed status and money (万元)."""

    code: str
    name: str
    division: str
    status: str
    counts: dict[str, int]
    budget: Decimal
    spent: Decimal | None
    expected_rate: Decimal | None  # 序时进度 of its spend, in %
    budget_lagging: bool


@dataclass
class Totals:
    projects: int = 0
    indicators: int = 0
    budget: Decimal = Decimal(0)
    spent: Decimal = Decimal(0)
    budget_lagging: int = 0
    project_statuses: dict[str, int] = field(default_factory=dict)
    indicator_statuses: dict[str, int] = field(default_factory=dict)
    _expected_weight: Decimal = Decimal(0)  # Σ budget × 序时进度

    def add(self, project: ProjectFigures) -> None:
        self.projects += 1
        self.budget += project.budget
        self.spent += project.spent or 0
        self.budget_lagging += project.budget_lagging
        self._expected_weight += project.budget * (project.expected_rate or 0)
        self.project_statuses[project.status] = self.project_statuses.get(project.status, 0) + 1
        for status, count in project.counts.items():
            self.indicator_statuses[status] = self.indicator_statuses.get(status, 0) + count
            self.indicators += count

    @classmethod
    def of(
        cls,
        projects: int,
        budget: Decimal,
        spent: Decimal,
        expected_weight: Decimal,
        budget_lagging: int,
        project_statuses: dict[str, int],
        indicator_statuses: dict[str, int],
    ) -> Totals:
        """Totals added up elsewhere (by the database): EXPECTED_WEIGHT is Σ budget × 序时进度."""
        return cls(
            projects,
            sum(indicator_statuses.values()),
            budget,
            spent,
            budget_lagging,
            project_statuses,
            indicator_statuses,
            expected_weight,
        )

    def merge(self, other: Totals) -> None:
        """Add OTHER's figures to these (divisions into the bureau)."""
        self.projects += other.projects
        self.indicators += other.indicators
        self.budget += other.budget
        self.spent += other.spent
        self.budget_lagging += other.budget_lagging
        self._expected_weight += other._expected_weight
        for mine, theirs in (
            (self.project_statuses, other.project_statuses),
            (self.indicator_statuses, other.indicator_statuses),
        ):
            for status, count in theirs.items():
                mine[status] = mine.get(status, 0) + count

    @property
    def rate(self) -> Decimal | None:
        """Spent ÷ budget in force, in %."""
        return (self.spent / self.budget * 100).quantize(TWO_PLACES) if self.budget else None

    @property
    def expected_rate(self) -> Decimal | None:
        """序时进度 of the total: the projects' own, weighted by budget (they may cover different month-ends)."""
        return (self._expected_weight / self.budget).quantize(TWO_PLACES) if self.budget else None

    def to_dict(self) -> dict[str, object]:
        return {
            "projects": self.projects,
            "indicators": self.indicators,
            "budget": self.budget.quantize(TWO_PLACES),
            "spent": self.spent.quantize(TWO_PLACES),
            "execution_rate": self.rate,
            "expected_rate": self.expected_rate,
            "budget_lagging": self.budget_lagging,
            "project_statuses": {
                s.value: self.project_statuses[s] for s in PROJECT_STATUSES if s in self.project_statuses
            },
            "indicator_statuses": {
                s.value: self.indicator_statuses[s] for s in WORST_FIRST if s in self.indicator_statuses
            },
        }


def _ordered(counts: dict[str, int], order: tuple[Status, ...]) -> dict[str, int]:
    return {status.value: counts[status] for status in order if status in counts}


def summarize(projects: Iterable[ProjectFigures]) -> tuple[Totals, dict[str, Totals]]:
    """The bureau's totals and each division's (in the order the projects come)."""
    bureau, divisions = Totals(), dict[str, Totals]()
    for project in projects:
        bureau.add(project)
        divisions.setdefault(project.division, Totals()).add(project)
    return bureau, divisions
