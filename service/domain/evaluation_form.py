"""The 项目支出绩效自评表 in the central layout (财预〔2020〕10号 annex, docs/domain.md §8.6), as rows of cells.

One model, built here from plain values, is what the web page, its print and the workbook render, so the
three show the same text.  Cells are listed per row as they start (an HTML table's way): a cell spanning rows
is not repeated in the rows below it; `place` gives every cell its grid position for a spreadsheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .closing import FINAL, TRIAL
from .scoring import ProjectScore, ScoringPolicy
from .targets import format_decimal

WIDTH = 9  # 栏目 | 一级 | 二级 | 三级 | 年度指标值 | 实际完成值 | 分值 | 得分 | 偏差原因分析及改进措施
TITLE = "项目支出绩效自评表"
SIGNATURES = ("填表人：", "项目负责人：", "财务负责人：", "填表日期：　　年　　月　　日")
FUND_ROWS = ("年度资金总额", "其中：当年财政拨款", "上年结转资金", "其他资金")


@dataclass
class Cell:
    text: str
    span: int = 1  # columns
    rows: int = 1
    head: bool = False
    align: str = "left"  # left | center | right
    number: Decimal | None = None  # the value behind a numeric cell (a spreadsheet keeps it as a number)
    places: int = 2
    money: bool = False  # 万元 with thousands separators


@dataclass
class FormIndicator:
    """One indicator line as scored: labels, target, actual, weight, score and explanation."""

    code: str
    level1: str
    level2: str
    name: str
    target: str
    actual: str
    weight: Decimal
    score: Decimal
    explanation: str = ""


@dataclass
class FormProject:
    code: str
    name: str
    department: str  # 主管部门
    unit: str  # 实施单位
    division: str  # 项目负责处室
    budget: Decimal  # 年初预算数
    fiscal_funds: Decimal | None
    other_funds: Decimal | None
    goals: list[str]
    outcome: str  # 实际完成情况, written by the division


@dataclass
class EvaluationForm:
    title: str
    subtitle: str
    marks: list[str]  # 试算 / 正式 / 归档 and exclusion lines, printed above the table
    rows: list[list[Cell]]
    notes: list[str]  # 说明
    signatures: tuple[str, ...]
    sources: list[str]  # where the values came from (report, version, state; target revision)
    width: int = WIDTH

    def texts(self) -> list[str]:
        """Every text of the form in reading order (what tests compare across page and workbook)."""
        return (
            [self.title, self.subtitle, *self.marks]
            + [c.text for row in self.rows for c in row]
            + ["说明：", *self.notes, *self.signatures, *self.sources]
        )


def unit_names(
    unit: str, department: str = "", unit_confirmed: bool = True, unit_setting: str = "", department_setting: str = ""
) -> tuple[str, str]:
    """(主管部门, 实施单位) on the form from the organisation's record (docs/domain.md §10.1): a name a person
    set wins; the deployment's settings (PERFTRACK_BUDGET_UNIT / PERFTRACK_DEPARTMENT) come before a name only
    read from a table's header line (UNIT_CONFIRMED false); the 主管部门 is the unit itself unless named."""
    name = unit if unit and unit_confirmed else (unit_setting or unit)
    return department or department_setting or name, name


def place(rows: list[list[Cell]]) -> list[tuple[int, int, Cell]]:
    """(row, column, cell), 1-based, skipping grid positions taken by cells spanning from rows above."""
    taken: set[tuple[int, int]] = set()
    placed = []
    for r, row in enumerate(rows, start=1):
        c = 1
        for cell in row:
            while (r, c) in taken:
                c += 1
            placed.append((r, c, cell))
            taken.update((r + dr, c + dc) for dr in range(cell.rows) for dc in range(cell.span))
            c += cell.span
    return placed


def _money(value: Decimal | None) -> Cell:
    if value is None:
        return Cell("", align="right")
    return Cell(f"{value:,.2f}", align="right", number=Decimal(value), money=True)


def _points(value: Decimal, places: int) -> Cell:
    quantum = Decimal(1).scaleb(-places)
    value = Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)
    return Cell(f"{value:.{places}f}", align="right", number=value, places=places)


def _dash() -> Cell:
    return Cell("—", align="center")


def notes_for(policy: ScoringPolicy) -> list[str]:
    """The form's 说明, from the scoring rules in force (a region's variants print their own rules)."""
    levels = "、".join(
        f"{level.removesuffix('指标')} {format_decimal(Decimal(str(points)))}"
        for level, points in policy.level_weights.items()
    )
    bands = "、".join(f"{band} {low}–{high}%" for band, (low, high) in policy.bands.items())
    lower = (
        "反向指标按指标值与实际值之比"
        if policy.lower_better == "ratio"
        else "反向指标按两倍指标值减实际值后与指标值之比，达到两倍时为 0"
    )
    grading = "，".join(f"{floor} 分及以上{name}" if floor else f"其余{name}" for floor, name in policy.grades)
    notes = [
        f"1. 金额单位：万元。总分 100 分：{levels}，预算执行率 {policy.budget_weight}；预算执行率得分为分值乘以执行率，"
        "最高为分值，超预算执行须说明原因。",
        f"2. 定量指标未达到的，按实际值与指标值之比（{lower}）乘以分值计分；定性指标及未按期完成的时效指标按{bands}"
        "计分；未完成指标值的须说明偏差原因及改进措施。",
        f"3. 评价等级：{grading}。",
    ]
    if policy.deduct_far_above:
        notes.append(
            f"{len(notes) + 1}. 实际值超过指标值 {int(policy.far_above * 100)}% 及以上的，扣 "
            f"{format_decimal(policy.deduction_points)} 分。"
        )
    if policy.cap_by_execution:
        caps = "；".join(f"执行率低于 {below}% 的总分不超过 {cap} 分" for below, cap in policy.execution_caps)
        notes.append(f"{len(notes) + 1}. {caps}。")
    return notes


def build_form(
    year: int,
    project: FormProject,
    result: ProjectScore,
    indicators: list[FormIndicator],
    policy: ScoringPolicy,
    *,
    kind: str = FINAL,
    as_of: date | None = None,
    archive_version: int | None = None,
    exclusion: str = "",
    sources: list[str] | None = None,
    computed_on: date | None = None,
) -> EvaluationForm:
    places = policy.decimals
    trial = kind == TRIAL
    title = f"{TITLE}（试算）" if trial else TITLE
    marks = []
    if trial:
        marks.append(f"试算：按截至 {as_of.isoformat() if as_of else '—'} 的数据计算，不是正式自评结果")
    elif archive_version:
        marks.append(
            f"正式计算 · 归档版本 {archive_version}" + (f" · 计算于 {computed_on.isoformat()}" if computed_on else "")
        )
    else:
        marks.append(f"{FINAL.label}（尚未锁定归档）" + (f" · 计算于 {computed_on.isoformat()}" if computed_on else ""))
    if exclusion:
        marks.append(exclusion)
    budget = result.budget
    rows: list[list[Cell]] = [
        [Cell("项目名称", span=2, head=True), Cell(project.name, span=7)],
        [
            Cell("主管部门", span=2, head=True),
            Cell(project.department, span=2),
            Cell("实施单位", head=True),
            Cell(project.unit, span=4),
        ],
        [
            Cell("项目负责处室", span=2, head=True),
            Cell(project.division, span=2),
            Cell("项目编号", head=True),
            Cell(project.code, span=4),
        ],
        [
            Cell("项目资金（万元）", head=True, rows=5),
            Cell("", span=2, head=True),
            *(
                Cell(t, head=True, align="center")
                for t in ("年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分")
            ),
        ],
    ]
    everything_fiscal = (
        project.fiscal_funds is not None and project.fiscal_funds == project.budget and not project.other_funds
    )
    total_rate = Cell(f"{budget.rate:.2f}%" if budget.rate is not None else "", align="right")
    rows.append(
        [
            Cell(FUND_ROWS[0], span=2),
            _money(project.budget),
            _money(budget.budget),
            _money(budget.spent),
            _points(budget.weight, 0 if budget.weight == budget.weight.to_integral_value() else 2),
            total_rate,
            _points(budget.score, places),
        ]
    )
    rows.append(
        [
            Cell(FUND_ROWS[1], span=2),
            _money(project.fiscal_funds),
            _money(budget.budget if everything_fiscal else None),
            _money(budget.spent if everything_fiscal else None),
            _dash(),
            _dash(),
            _dash(),
        ]
    )
    rows.append(
        [
            Cell(FUND_ROWS[2], span=2),
            Cell("", align="right"),
            Cell("", align="right"),
            Cell("", align="right"),
            _dash(),
            _dash(),
            _dash(),
        ]
    )
    rows.append(
        [
            Cell(FUND_ROWS[3], span=2),
            _money(project.other_funds),
            Cell("", align="right"),
            Cell("", align="right"),
            _dash(),
            _dash(),
            _dash(),
        ]
    )
    rows.append(
        [
            Cell("年度总体目标", head=True, rows=2),
            Cell("预期目标", span=4, head=True, align="center"),
            Cell("实际完成情况", span=4, head=True, align="center"),
        ]
    )
    rows.append([Cell("\n".join(project.goals) or project.name, span=4), Cell(project.outcome, span=4)])
    block = _indicator_rows(indicators, result, policy, places)
    rows.append(
        [
            Cell("绩效指标", head=True, rows=len(block) + 1),
            *(
                Cell(t, head=True, align="center")
                for t in (
                    "一级指标",
                    "二级指标",
                    "三级指标",
                    "年度指标值",
                    "实际完成值",
                    "分值",
                    "得分",
                    "偏差原因分析及改进措施",
                )
            ),
        ]
    )
    rows += block
    full = (
        sum((Decimal(str(w)) for w in result.level_weights.values()), Decimal(0)) + budget.weight
        if result.level_weights
        else Decimal(100)
    )
    rows.append(
        [
            Cell("总分", span=6, head=True, align="center"),
            _points(full, 0 if full == full.to_integral_value() else 2),
            _points(result.total, 2),
            Cell(""),
        ]
    )
    rows.append([Cell("评价等级", span=6, head=True, align="center"), Cell(result.grade, span=3, align="center")])
    return EvaluationForm(title, f"（{year} 年度）", marks, rows, notes_for(policy), SIGNATURES, sources or [])


def _indicator_rows(
    indicators: list[FormIndicator], result: ProjectScore, policy: ScoringPolicy, places: int
) -> list[list[Cell]]:
    """The indicator block: merged 一级 cells with the level's points (产出指标（50分）), merged 二级 cells."""
    groups: dict[str, dict[str, list[FormIndicator]]] = {}
    for indicator in indicators:
        groups.setdefault(indicator.level1, {}).setdefault(indicator.level2, []).append(indicator)
    rows: list[list[Cell]] = []
    for level1, seconds in groups.items():
        points = sum((i.weight for items in seconds.values() for i in items), Decimal(0))
        first_of_level = True
        for level2, items in seconds.items():
            for n, indicator in enumerate(items):
                row = []
                if first_of_level:
                    row.append(
                        Cell(f"{level1}（{format_decimal(points)}分）", rows=sum(len(v) for v in seconds.values()))
                    )
                    first_of_level = False
                if n == 0:
                    row.append(Cell(level2, rows=len(items)))
                row += [
                    Cell(indicator.name),
                    Cell(indicator.target),
                    Cell(indicator.actual),
                    _points(indicator.weight, places),
                    _points(indicator.score, places),
                    Cell(indicator.explanation),
                ]
                rows.append(row)
    present = {policy.level_aliases.get(level, level) for level in groups}
    for level, points in result.level_weights.items():  # a first level the project lacks keeps its points, unearned
        if level not in present:
            points = Decimal(str(points))
            rows.append(
                [
                    Cell(f"{level}（{format_decimal(points)}分）"),
                    Cell("—", align="center"),
                    Cell("项目无此级指标"),
                    Cell("—", align="center"),
                    Cell("—", align="center"),
                    _points(points, places),
                    _points(Decimal(0), places),
                    Cell(""),
                ]
            )
    return rows
