"""Year-end self-evaluation scores (绩效自评): explainable, under a configurable policy (pure).

Central defaults (docs/domain.md §8): 产出 50, 效益 30, 满意度 10, 预算执行率 10; proportional scores;
three bands for qualitative judgements; grades 优/良/中/差.  Every regional variant is a
`ScoringPolicy` field, off or central by default.  Every indicator result carries its basis in
Chinese (`实际 4项 ÷ 指标 ≥5项 × 分值 12.50 = 10.00`) so a person can redo it by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from .targets import Target, format_decimal
from .vocabulary import CEILINGS, Band, Comparator, Likelihood, Measure, ScoreFindingKind, TargetKind

HUNDRED = Decimal(100)


_MISMATCH_NOTE = {True: "已按比例调整", False: "按给定分值计，请财务处确认"}


def _d(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class ScoringPolicy:
    level_weights: dict[str, Any] = field(default_factory=lambda: {"产出指标": 50, "效益指标": 30, "满意度指标": 10})
    # First levels scored with another.
    level_aliases: dict[str, str] = field(default_factory=lambda: {"成本指标": "产出指标"})
    budget_weight: int = 10
    lower_better: str = "ratio"  # ratio: weight × target ÷ actual | linear: zero at twice the target
    bands: dict[str, list[Any]] = field(
        default_factory=lambda: {Band.ACHIEVED: [80, 100], Band.PARTLY: [60, 80], Band.NOT_ACHIEVED: [0, 60]}
    )
    band_default_percent: dict[str, Any] = field(
        default_factory=lambda: {Band.ACHIEVED: 100, Band.PARTLY: 60, Band.NOT_ACHIEVED: 0}
    )
    decimals: int = 2  # rounding of indicator scores: 2, or 0 for whole numbers
    far_above: Decimal = Decimal("0.30")  # an actual this far above target asks for its cause
    deduct_far_above: bool = False
    deduction_points: Decimal = Decimal(2)
    cap_by_execution: bool = False
    execution_caps: list[list[Any]] = field(default_factory=lambda: [[50, 59], [60, 69], [70, 79], [80, 89]])
    weight_mismatch: str = "keep"  # given 分值 not adding up to the level's weight: keep | rescale
    missing_level: str = "keep"  # a first level the project lacks: keep its points unearned | redistribute them
    grades: list[list[Any]] = field(default_factory=lambda: [[90, "优"], [80, "良"], [60, "中"], [0, "差"]])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoringPolicy:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"评分规则中有未知的设置：{', '.join(sorted(unknown))}")
        values: dict[str, Any] = {
            k: (Decimal(str(v)) if k in ("far_above", "deduction_points") else v) for k, v in data.items()
        }
        policy = cls(**values)
        if policy.lower_better not in ("ratio", "linear"):
            raise ValueError("lower_better 应为 ratio 或 linear")
        if policy.missing_level not in ("keep", "redistribute"):
            raise ValueError("missing_level 应为 keep 或 redistribute")
        if policy.budget_weight == 20 and sum(policy.level_weights.values()) == 90:
            policy = policy.with_budget_weight(20)
        return policy

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["far_above"], data["deduction_points"] = str(self.far_above), str(self.deduction_points)
        return data

    def with_budget_weight(self, weight: int) -> ScoringPolicy:
        """Budget execution worth WEIGHT points; the first levels rescaled to fill the rest."""
        total = sum(self.level_weights.values())
        scale = Decimal(100 - weight) / Decimal(total)
        levels = dict(
            zip(
                self.level_weights,
                allocate(Decimal(100 - weight), [_d(w) * scale for w in self.level_weights.values()], Decimal("0.01")),
                strict=False,
            )
        )
        return replace(self, budget_weight=weight, level_weights={k: str(v) for k, v in levels.items()})

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)

    def grade(self, total: Decimal) -> str:
        for floor, name in self.grades:
            if total >= floor:
                return str(name)
        return str(self.grades[-1][1])


@dataclass
class Review:
    """The reviewer's judgement of a qualitative or late indicator: band and percentage inside it."""

    band: str  # a Band
    percent: Decimal | None = None
    note: str = ""


@dataclass
class IndicatorInput:
    """An indicator as scored: its target, its 分值, what was reported for the year and what a person said."""

    code: str
    level1: str
    raw_value: str  # 指标值 as written, quoted in the basis
    target: Target
    weight: Decimal | None = None  # 分值 given by the table or finance
    actual: Decimal | None = None
    done: bool | None = None
    done_on: date | None = None
    progress: str = ""
    review: Review | None = None
    flags: tuple[str, ...] = ()  # codes of the target's open findings (warnings and errors)
    likelihood: str = ""  # 确定能 | 有可能 | 不可能, as the division reported it

    @property
    def cumulative(self) -> bool:
        """A year-to-date count or amount (labelled 截至 Qn before the year's report)."""
        return self.target.measure == Measure.CUMULATIVE


@dataclass
class ProjectInput:
    code: str
    indicators: list[IndicatorInput]
    budget: Decimal  # 年初预算数
    adjusted_budget: Decimal | None = None  # 全年预算数 reported
    spent: Decimal | None = None
    as_of: date | None = None  # a trial's as-of date: deadlines after it are not yet due; None at year end
    through: str = ""  # the quarter the values run to when it is not the year's last, e.g. "Q3"


@dataclass
class ScoreFinding:
    """Something finance should look at in a score (a missing actual, weights that do not add up…)."""

    code: str
    subject: str
    message: str


# Target findings whose usual meaning the machine knows: the comparator was written the wrong way round.
CORRECTED_COMPARATORS = {"inverted_comparator": "满意度指标写成了上限", "vacuous_bound": "比率上限恒成立"}
FLIPPED = {Comparator.AT_MOST: Comparator.AT_LEAST, Comparator.LESS_THAN: Comparator.MORE_THAN}
LIKELIHOOD_BANDS: dict[str, Band] = {  # keyed by the stored text a report carries
    Likelihood.CERTAIN: Band.ACHIEVED,
    Likelihood.POSSIBLE: Band.PARTLY,
    Likelihood.IMPOSSIBLE: Band.NOT_ACHIEVED,
}


@dataclass
class IndicatorScore:
    code: str
    weight: Decimal
    actual: str
    score: Decimal
    basis: str


@dataclass
class BudgetScore:
    budget: Decimal
    spent: Decimal | None
    rate: Decimal | None  # percent, 2 decimals
    weight: Decimal
    score: Decimal
    basis: str


@dataclass
class ProjectScore:
    project: str
    total: Decimal
    grade: str
    budget: BudgetScore
    indicators: list[IndicatorScore]
    findings: list[ScoreFinding]
    level_weights: dict[str, Decimal] = field(default_factory=dict)  # each first level's points in this project

    def budget_dict(self) -> dict[str, Any]:
        b = self.budget
        return {
            "budget": _num(b.budget),
            "spent": _num(b.spent),
            "rate": _num(b.rate),
            "weight": _num(b.weight),
            "score": _num(b.score),
            "basis": b.basis,
        }

    def to_dict(self) -> dict[str, Any]:
        num = _num
        return {
            "project": self.project,
            "total": num(self.total),
            "grade": self.grade,
            "budget": self.budget_dict(),
            "indicators": [
                {"code": i.code, "weight": num(i.weight), "actual": i.actual, "score": num(i.score), "basis": i.basis}
                for i in self.indicators
            ],
            "findings": [asdict(f) | {"label": ScoreFindingKind.label_of(f.code)} for f in self.findings],
        }


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def allocate(total: Decimal, shares: list[Decimal], quantum: Decimal) -> list[Decimal]:
    """Round SHARES to QUANTUM so they add up exactly to TOTAL (largest remainder)."""
    floors = [(s / quantum).to_integral_value(rounding=ROUND_FLOOR) * quantum for s in shares]
    left = int(((total - sum(floors)) / quantum).to_integral_value(rounding=ROUND_HALF_UP))
    order = sorted(range(len(shares)), key=lambda i: shares[i] - floors[i], reverse=True)
    for i in order[: max(0, left)]:
        floors[i] += quantum
    return floors


def _fmt(value: Decimal, places: int = 2) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):.{places}f}"


def needs_review(indicator: IndicatorInput) -> bool:
    """Only a person can score it: a qualitative indicator, or a deadline missed or met late."""
    target = indicator.target
    if target.kind == TargetKind.QUALITATIVE:
        return True
    if target.kind != TargetKind.DEADLINE:
        return False
    on_time = indicator.done and (target.due is None or indicator.done_on is None or indicator.done_on <= target.due)
    return not on_time


def _level_weights(
    project: ProjectInput, policy: ScoringPolicy, present: set[str], findings: list[ScoreFinding]
) -> dict[str, Decimal]:
    """Each first level's points; a level the project lacks keeps its points unearned (flagged) or, by policy,
    hands them to the others in proportion."""
    weights = {level: _d(w) for level, w in policy.level_weights.items()}
    missing = [level for level in weights if level not in present]
    if not missing:
        return weights
    redistribute = policy.missing_level == "redistribute" and len(missing) < len(weights)
    for level in missing:
        findings.append(
            ScoreFinding(
                "missing_level",
                project.code,
                f"项目没有{level}，该级 {format_decimal(weights[level])} 分"
                + ("已按比例分配给其他一级指标" if redistribute else "无从得分（请核实指标表是否缺项）"),
            )
        )
    if not redistribute:
        return weights
    total = sum(weights.values(), Decimal(0))
    kept = [level for level in weights if level in present]
    base = sum(weights[level] for level in kept)
    shares = allocate(total, [weights[level] * total / base for level in kept], policy.quantum)
    return dict(zip(kept, shares, strict=True))


def _weights(
    project: ProjectInput, policy: ScoringPolicy, findings: list[ScoreFinding]
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    by_level: dict[str, list[IndicatorInput]] = {}
    for indicator in project.indicators:
        level = policy.level_aliases.get(indicator.level1, indicator.level1)
        if level not in policy.level_weights:
            findings.append(
                ScoreFinding(
                    "unknown_level", indicator.code, f"一级指标「{indicator.level1}」不在评分规则中，按 0 分值计"
                )
            )
            continue
        by_level.setdefault(level, []).append(indicator)
    levels = _level_weights(project, policy, set(by_level), findings)
    weights: dict[str, Decimal] = {}
    for level, level_weight in levels.items():
        items = by_level.get(level, [])
        if not items:
            continue
        given = [i.weight for i in items if i.weight is not None]
        if len(given) == len(items):
            if sum(given) != level_weight:
                findings.append(
                    ScoreFinding(
                        "weights_mismatch",
                        project.code,
                        f"{level}各指标分值合计 {format_decimal(sum(given, Decimal(0)))}，"
                        f"应为 {format_decimal(level_weight)}"
                        f"（{_MISMATCH_NOTE[policy.weight_mismatch == 'rescale']}）",
                    )
                )
                if policy.weight_mismatch == "rescale":
                    shares = (
                        [w * level_weight / sum(given) for w in given]
                        if sum(given)
                        else [level_weight / len(given)] * len(given)
                    )
                    given = allocate(level_weight, shares, policy.quantum)
            weights.update({i.code: w for i, w in zip(items, given, strict=False)})
        else:
            shares = [level_weight / len(items)] * len(items)
            weights.update(
                {i.code: w for i, w in zip(items, allocate(level_weight, shares, policy.quantum), strict=False)}
            )
    return weights, levels


def score_project(project: ProjectInput, policy: ScoringPolicy = ScoringPolicy()) -> ProjectScore:
    findings: list[ScoreFinding] = []
    weights, levels = _weights(project, policy, findings)
    scores = [
        _score_indicator(i, weights.get(i.code, Decimal(0)), policy, findings, project) for i in project.indicators
    ]
    budget = _score_budget(project, policy, findings)
    total, grade = project_total(project.code, scores, budget, policy, findings)
    return ProjectScore(project.code, total, grade, budget, scores, findings, levels)


def project_total(
    code: str, scores: list[IndicatorScore], budget: BudgetScore, policy: ScoringPolicy, findings: list[ScoreFinding]
) -> tuple[Decimal, str]:
    """The total of the indicator and budget scores (the execution cap when the policy has it) and its grade."""
    total = sum((s.score for s in scores), Decimal(0)) + budget.score
    if policy.cap_by_execution and budget.rate is not None:
        for below, cap in policy.execution_caps:
            if budget.rate < below and total > cap:
                findings.append(
                    ScoreFinding(
                        "capped_by_execution", code, f"预算执行率 {_fmt(budget.rate)}% 低于 {below}%，总分上限 {cap}"
                    )
                )
                total = Decimal(cap)
                break
    total = min(max(total, Decimal(0)), HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return total, policy.grade(total)


def _score_budget(project: ProjectInput, policy: ScoringPolicy, findings: list[ScoreFinding]) -> BudgetScore:
    weight = Decimal(policy.budget_weight)
    budget = project.adjusted_budget if project.adjusted_budget is not None else project.budget
    label = "全年预算数" if project.adjusted_budget is not None else "预算数"
    if project.spent is None or not budget:
        return BudgetScore(
            budget,
            project.spent,
            None,
            weight,
            Decimal(0),
            "未报执行数，预算执行率得分 0" if project.spent is None else f"{label}为 0，无法计算执行率",
        )
    rate = project.spent / budget
    score = (weight * min(rate, Decimal(1))).quantize(policy.quantum, rounding=ROUND_HALF_UP)
    percent = (rate * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    over = ""
    if rate > 1:
        over = "（执行率按 100% 计；超预算执行，须说明原因）"
        findings.append(
            ScoreFinding(
                "over_budget",
                project.code,
                f"执行数 {_fmt(project.spent)} 万元超过{label} {_fmt(budget)} 万元（执行率 {_fmt(percent)}%），"
                "请说明超预算支出的原因及资金来源",
            )
        )
    return BudgetScore(
        budget,
        project.spent,
        percent,
        weight,
        score,
        f"执行数 {_fmt(project.spent)} ÷ {label} {_fmt(budget)} = {_fmt(percent)}%，"
        f"× 分值 {format_decimal(weight)}{over} = {_fmt(score, policy.decimals)}",
    )


def _clip(score: Decimal, weight: Decimal, policy: ScoringPolicy) -> Decimal:
    score = min(max(score, Decimal(0)), weight).quantize(policy.quantum, rounding=ROUND_HALF_UP)
    if score > weight:  # whole-number rounding of a fractional 分值 never gives more than the 分值
        score = weight.quantize(policy.quantum, rounding=ROUND_FLOOR)
    return score


def _weight_text(weight: Decimal, policy: ScoringPolicy) -> str:
    return format_decimal(weight) if policy.decimals == 0 else _fmt(weight)


def _score_indicator(
    i: IndicatorInput, weight: Decimal, policy: ScoringPolicy, findings: list[ScoreFinding], project: ProjectInput
) -> IndicatorScore:
    q = policy.quantum

    def done(score: Decimal, basis: str, actual: str) -> IndicatorScore:
        return IndicatorScore(i.code, weight, actual, _clip(score, weight, policy), basis)

    w = _weight_text(weight, policy)
    if i.target.kind in (TargetKind.DEADLINE, TargetKind.QUALITATIVE):
        return _judged(i, weight, w, policy, findings, done, project.as_of)
    if i.actual is None:
        findings.append(ScoreFinding("missing_actual", i.code, f"「{i.target.name}」没有实际完成值，得分 0"))
        return done(Decimal(0), f"未填报实际完成值，得分 0（分值 {w}）", "")
    actual, target, unit = i.actual, i.target.value, i.target.unit
    shown = f"{format_decimal(actual)}{unit}"
    cell = f"{shown}（截至 {project.through}）" if i.cumulative and project.through else shown
    if target is None:
        findings.append(
            ScoreFinding(
                "no_target_number", i.code, f"「{i.target.name}」的指标值「{i.raw_value}」没有数值，需人工评分"
            )
        )
        return done(Decimal(0), f"指标值「{i.raw_value}」无数值，得分 0，待人工评分", cell)
    comparator, raw, prefix = i.target.comparator, i.raw_value, ""
    doubt = next((code for code in CORRECTED_COMPARATORS if code in i.flags), None)
    if doubt and comparator in FLIPPED:
        comparator = FLIPPED[comparator]
        raw = f"{Comparator.label_of(comparator)}{format_decimal(target)}{unit}"
        prefix = f"指标值「{i.raw_value}」按「{raw}」理解："
        findings.append(
            ScoreFinding(
                "scored_corrected",
                i.code,
                f"「{i.target.name}」的指标值「{i.raw_value}」已标记待核查（{CORRECTED_COMPARATORS[doubt]}），"
                f"按「{raw}」计分；请在待核查中确认原值或更正指标值",
            )
        )
    lower = comparator in CEILINGS
    if not lower and target and actual >= target * (1 + policy.far_above):
        findings.append(
            ScoreFinding(
                "far_above_target",
                i.code,
                f"「{i.target.name}」实际 {shown} 超过指标 {raw} "
                f"{int(policy.far_above * 100)}% 以上，请说明原因（指标是否设定过低）",
            )
        )
    if lower:
        reached = actual < target or (actual == target and comparator == Comparator.AT_MOST)
        if reached:
            return done(weight, f"{prefix}实际 {shown} 未超过指标 {raw}，得满分 {w}", cell)
        if policy.lower_better == "linear":
            factor = max(Decimal(0), (2 * target - actual) / target) if target else Decimal(0)
            score = weight * factor
            rounded = _fmt(score.quantize(q, rounding=ROUND_HALF_UP), policy.decimals)
            return done(
                score,
                f"{prefix}实际 {shown} 超过指标 {raw}：(2 × {format_decimal(target)} − {format_decimal(actual)}) "
                f"÷ {format_decimal(target)} × 分值 {w} = {rounded}",
                cell,
            )
        score = weight * target / actual
        return done(
            score,
            f"{prefix}指标 {raw} ÷ 实际 {shown} × 分值 {w} = "
            f"{_fmt(score.quantize(q, rounding=ROUND_HALF_UP), policy.decimals)}",
            cell,
        )
    reached = actual > target if comparator == Comparator.MORE_THAN else actual >= target
    if reached or not target:
        score, basis = weight, f"{prefix}实际 {shown} 达到指标 {raw}，得满分 {w}"
    else:
        score = weight * actual / target
        basis = (
            f"{prefix}实际 {shown} ÷ 指标 {raw} × 分值 {w} = "
            f"{_fmt(score.quantize(q, rounding=ROUND_HALF_UP), policy.decimals)}"
        )
    if policy.deduct_far_above and target and actual >= target * (1 + policy.far_above):
        score -= policy.deduction_points
        basis += f"；超出指标 {int(policy.far_above * 100)}% 以上，扣 {format_decimal(policy.deduction_points)} 分"
    return done(score, basis, cell)


def judged_actual(i: IndicatorInput, as_of: date | None = None) -> str:
    """What the 实际完成值 cell says for a deadline or qualitative indicator."""
    if i.target.kind != TargetKind.DEADLINE:
        return i.progress
    due = i.target.due
    if not i.done and as_of is not None and due is not None and due > as_of:
        return f"未到期（截止 {due.isoformat()}）"
    return f"{i.done_on.isoformat()} 完成" if i.done and i.done_on else ("已完成" if i.done else "年末未完成")


def graded_score(
    code: str, weight: Decimal, review: Review, policy: ScoringPolicy, findings: list[ScoreFinding]
) -> tuple[Decimal, str]:
    """A reviewer's band and percentage as a score and its basis (also used when a grade is given on a run)."""
    low, high = policy.bands[review.band]
    percent = _d(review.percent) if review.percent is not None else _d(policy.band_default_percent[review.band])
    if not low <= percent <= high:
        findings.append(
            ScoreFinding(
                "percent_outside_band",
                code,
                f"得分比例 {format_decimal(percent)}% 不在「{review.band}」档 {low}–{high}% 内，按档内边界计",
            )
        )
        percent = min(max(percent, _d(low)), _d(high))
    score = _clip(weight * percent / HUNDRED, weight, policy)
    note = f"（{review.note}）" if review.note else ""
    return score, (
        f"评定「{review.band}」{format_decimal(percent)}% × 分值 {_weight_text(weight, policy)} = "
        f"{_fmt(score, policy.decimals)}{note}"
    )


def _judged(
    i: IndicatorInput,
    weight: Decimal,
    w: str,
    policy: ScoringPolicy,
    findings: list[ScoreFinding],
    done: Callable[[Decimal, str, str], IndicatorScore],
    as_of: date | None,
) -> IndicatorScore:
    review = i.review
    actual = judged_actual(i, as_of)
    prefix = ""
    due = i.target.due
    if i.target.kind == TargetKind.DEADLINE:
        if review is None:
            if i.done and (due is None or i.done_on is None or i.done_on <= due):
                return done(weight, f"按期完成（截止 {due.isoformat() if due else '—'}），得满分 {w}", actual)
            if not i.done and as_of is not None and due is not None and due > as_of:
                band = LIKELIHOOD_BANDS.get(i.likelihood, Band.ACHIEVED)
                findings.append(
                    ScoreFinding(
                        "not_due",
                        i.code,
                        f"「{i.target.name}」截止 {due.isoformat()}，截至 {as_of.isoformat()} "
                        f"尚未到期，暂按完成可能性「{i.likelihood or '未报'}」计",
                    )
                )
                review, prefix = Review(band), f"未到期，按完成可能性「{i.likelihood or '未报'}」暂计："
            elif i.done is None:
                findings.append(ScoreFinding("missing_actual", i.code, f"「{i.target.name}」没有填报完成情况，得分 0"))
                return done(Decimal(0), f"未填报完成情况，得分 0（分值 {w}）", "")
            else:
                band = Band.PARTLY if i.done else Band.NOT_ACHIEVED
                findings.append(
                    ScoreFinding(
                        "awaiting_review",
                        i.code,
                        f"时效指标「{i.target.name}」{'逾期完成' if i.done else '未按期完成'}，"
                        f"尚待财务处评定档次，暂按「{band}」计",
                    )
                )
                review = Review(band)
    elif review is None:
        if not i.progress:
            findings.append(ScoreFinding("missing_actual", i.code, f"「{i.target.name}」没有填报进展情况，得分 0"))
            return done(Decimal(0), f"未填报进展情况，得分 0（分值 {w}）", "")
        findings.append(
            ScoreFinding("awaiting_review", i.code, f"定性指标「{i.target.name}」尚待财务处评定档次，暂按「达成」计")
        )
        review = Review(Band.ACHIEVED)
    score, basis = graded_score(i.code, weight, review, policy, findings)
    return IndicatorScore(i.code, weight, actual, score, prefix + basis)
