"""Year-end self-evaluation scores (绩效自评): explainable, under a configurable policy (pure).

Central defaults (docs/domain.md §8): 产出 50, 效益 30, 满意度 10, 预算执行率 10; proportional scores;
three bands for qualitative judgements; grades 优/良/中/差.  Every regional variant is a
`ScoringPolicy` field, off or central by default.  Every indicator result carries its basis in
Chinese (`实际 4项 ÷ 指标 ≥5项 × 分值 12.50 = 10.00`) so a person can redo it by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from .targets import Target, format_decimal
from .vocabulary import CEILINGS, Band, Comparator, TargetKind

HUNDRED = Decimal(100)


_MISMATCH_NOTE = {True: "已按比例调整", False: "按给定分值计，请财务处确认"}


def _d(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class ScoringPolicy:
    level_weights: dict = field(default_factory=lambda: {"产出指标": 50, "效益指标": 30, "满意度指标": 10})
    level_aliases: dict = field(default_factory=lambda: {"成本指标": "产出指标"})  # first levels scored with another
    budget_weight: int = 10
    lower_better: str = "ratio"  # ratio: weight × target ÷ actual | linear: zero at twice the target
    bands: dict = field(
        default_factory=lambda: {Band.ACHIEVED: [80, 100], Band.PARTLY: [60, 80], Band.NOT_ACHIEVED: [0, 60]}
    )
    band_default_percent: dict = field(
        default_factory=lambda: {Band.ACHIEVED: 100, Band.PARTLY: 60, Band.NOT_ACHIEVED: 0}
    )
    decimals: int = 2  # rounding of indicator scores: 2, or 0 for whole numbers
    far_above: Decimal = Decimal("0.30")  # an actual this far above target asks for its cause
    deduct_far_above: bool = False
    deduction_points: Decimal = Decimal(2)
    cap_by_execution: bool = False
    execution_caps: list = field(default_factory=lambda: [[50, 59], [60, 69], [70, 79], [80, 89]])
    weight_mismatch: str = "keep"  # given 分值 not adding up to the level's weight: keep | rescale
    grades: list = field(default_factory=lambda: [[90, "优"], [80, "良"], [60, "中"], [0, "差"]])

    @classmethod
    def from_dict(cls, data: dict) -> ScoringPolicy:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"评分规则中有未知的设置：{', '.join(sorted(unknown))}")
        policy = cls(**{k: (Decimal(str(v)) if k in ("far_above", "deduction_points") else v) for k, v in data.items()})
        if policy.lower_better not in ("ratio", "linear"):
            raise ValueError("lower_better 应为 ratio 或 linear")
        if policy.budget_weight == 20 and sum(policy.level_weights.values()) == 90:
            policy = policy.with_budget_weight(20)
        return policy

    def to_dict(self) -> dict:
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
                return name
        return self.grades[-1][1]


@dataclass
class Review:
    """The reviewer's judgement of a qualitative or late indicator: band and percentage inside it."""

    band: str  # a Band
    percent: Decimal | None = None
    note: str = ""


@dataclass
class IndicatorInput:
    """An indicator as scored: its target, its 分值 and what was reported for the year."""

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


@dataclass
class ProjectInput:
    code: str
    indicators: list[IndicatorInput]
    budget: Decimal  # 年初预算数
    adjusted_budget: Decimal | None = None  # 全年预算数 reported
    spent: Decimal | None = None


@dataclass
class ScoreFinding:
    """Something finance should look at in a score (a missing actual, weights that do not add up…)."""

    code: str
    subject: str
    message: str


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

    def to_dict(self) -> dict:
        def num(value):
            return None if value is None else float(value)

        return {
            "project": self.project,
            "total": num(self.total),
            "grade": self.grade,
            "budget": {
                "budget": num(self.budget.budget),
                "spent": num(self.budget.spent),
                "rate": num(self.budget.rate),
                "weight": num(self.budget.weight),
                "score": num(self.budget.score),
                "basis": self.budget.basis,
            },
            "indicators": [
                {"code": i.code, "weight": num(i.weight), "actual": i.actual, "score": num(i.score), "basis": i.basis}
                for i in self.indicators
            ],
            "findings": [asdict(f) for f in self.findings],
        }


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


def _weights(project: ProjectInput, policy: ScoringPolicy, findings: list[ScoreFinding]) -> dict[str, Decimal]:
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
    weights: dict[str, Decimal] = {}
    for level, level_weight in policy.level_weights.items():
        level_weight = _d(level_weight)
        items = by_level.get(level, [])
        if not items:
            findings.append(
                ScoreFinding(
                    "missing_level", project.code, f"项目没有{level}，该级 {format_decimal(level_weight)} 分无从得分"
                )
            )
            continue
        given = [i.weight for i in items]
        if all(w is not None for w in given):
            if sum(given) != level_weight:
                findings.append(
                    ScoreFinding(
                        "weights_mismatch",
                        project.code,
                        f"{level}各指标分值合计 {format_decimal(sum(given))}，应为 {format_decimal(level_weight)}"
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
    return weights


def score_project(project: ProjectInput, policy: ScoringPolicy = ScoringPolicy()) -> ProjectScore:
    findings: list[ScoreFinding] = []
    weights = _weights(project, policy, findings)
    scores = [_score_indicator(i, weights.get(i.code, Decimal(0)), policy, findings) for i in project.indicators]
    budget = _score_budget(project, policy)
    total = sum((s.score for s in scores), Decimal(0)) + budget.score
    if policy.cap_by_execution and budget.rate is not None:
        for below, cap in policy.execution_caps:
            if budget.rate < below and total > cap:
                findings.append(
                    ScoreFinding(
                        "capped_by_execution",
                        project.code,
                        f"预算执行率 {_fmt(budget.rate)}% 低于 {below}%，总分上限 {cap}",
                    )
                )
                total = Decimal(cap)
                break
    total = min(max(total, Decimal(0)), HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return ProjectScore(project.code, total, policy.grade(total), budget, scores, findings)


def _score_budget(project: ProjectInput, policy: ScoringPolicy) -> BudgetScore:
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
    return BudgetScore(
        budget,
        project.spent,
        percent,
        weight,
        score,
        f"执行数 {_fmt(project.spent)} ÷ {label} {_fmt(budget)} = {_fmt(percent)}%，"
        f"× 分值 {format_decimal(weight)}{'（执行率按 100% 计）' if rate > 1 else ''} = {_fmt(score, policy.decimals)}",
    )


def _score_indicator(
    i: IndicatorInput, weight: Decimal, policy: ScoringPolicy, findings: list[ScoreFinding]
) -> IndicatorScore:
    q = policy.quantum

    def done(score: Decimal, basis: str, actual: str) -> IndicatorScore:
        score = min(max(score, Decimal(0)), weight).quantize(q, rounding=ROUND_HALF_UP)
        if score > weight:  # whole-number rounding of a fractional 分值 never gives more than the 分值
            score = weight.quantize(q, rounding=ROUND_FLOOR)
        return IndicatorScore(i.code, weight, actual, score, basis)

    w = format_decimal(weight) if policy.decimals == 0 else _fmt(weight)
    if i.target.kind in (TargetKind.DEADLINE, TargetKind.QUALITATIVE):
        return _judged(i, weight, w, policy, findings, done)
    if i.actual is None:
        findings.append(ScoreFinding("missing_actual", i.code, f"「{i.target.name}」没有实际完成值，得分 0"))
        return done(Decimal(0), f"未填报实际完成值，得分 0（分值 {w}）", "")
    actual, target, unit = i.actual, i.target.value, i.target.unit
    shown = f"{format_decimal(actual)}{unit}"
    if target is None:
        findings.append(
            ScoreFinding(
                "no_target_number", i.code, f"「{i.target.name}」的指标值「{i.raw_value}」没有数值，需人工评分"
            )
        )
        return done(Decimal(0), f"指标值「{i.raw_value}」无数值，得分 0，待人工评分", shown)
    lower = i.target.comparator in CEILINGS
    if not lower and target and actual >= target * (1 + policy.far_above):
        findings.append(
            ScoreFinding(
                "far_above_target",
                i.code,
                f"「{i.target.name}」实际 {shown} 超过指标 {i.raw_value} "
                f"{int(policy.far_above * 100)}% 以上，请说明原因（指标是否设定过低）",
            )
        )
    if lower:
        reached = actual < target or (actual == target and i.target.comparator == Comparator.AT_MOST)
        if reached:
            return done(weight, f"实际 {shown} 未超过指标 {i.raw_value}，得满分 {w}", shown)
        if policy.lower_better == "linear":
            factor = max(Decimal(0), (2 * target - actual) / target) if target else Decimal(0)
            score = weight * factor
            rounded = _fmt(score.quantize(q, rounding=ROUND_HALF_UP), policy.decimals)
            return done(
                score,
                f"实际 {shown} 超过指标 {i.raw_value}：(2 × {format_decimal(target)} − {format_decimal(actual)}) "
                f"÷ {format_decimal(target)} × 分值 {w} = {rounded}",
                shown,
            )
        score = weight * target / actual
        return done(
            score,
            f"指标 {i.raw_value} ÷ 实际 {shown} × 分值 {w} = "
            f"{_fmt(score.quantize(q, rounding=ROUND_HALF_UP), policy.decimals)}",
            shown,
        )
    reached = actual > target if i.target.comparator == Comparator.MORE_THAN else actual >= target
    if reached or not target:
        score, basis = weight, f"实际 {shown} 达到指标 {i.raw_value}，得满分 {w}"
    else:
        score = weight * actual / target
        basis = (
            f"实际 {shown} ÷ 指标 {i.raw_value} × 分值 {w} = "
            f"{_fmt(score.quantize(q, rounding=ROUND_HALF_UP), policy.decimals)}"
        )
    if policy.deduct_far_above and target and actual >= target * (1 + policy.far_above):
        score -= policy.deduction_points
        basis += f"；超出指标 {int(policy.far_above * 100)}% 以上，扣 {format_decimal(policy.deduction_points)} 分"
    return done(score, basis, shown)


def _judged(i, weight, w, policy, findings, done) -> IndicatorScore:
    review = i.review
    if i.target.kind == TargetKind.DEADLINE:
        actual = f"{i.done_on.isoformat()} 完成" if i.done and i.done_on else ("已完成" if i.done else "年末未完成")
        if review is None:
            if i.done and (i.target.due is None or i.done_on is None or i.done_on <= i.target.due):
                return done(
                    weight, f"按期完成（截止 {i.target.due.isoformat() if i.target.due else '—'}），得满分 {w}", actual
                )
            if i.done is None:
                findings.append(ScoreFinding("missing_actual", i.code, f"「{i.target.name}」没有填报完成情况，得分 0"))
                return done(Decimal(0), f"未填报完成情况，得分 0（分值 {w}）", "")
            review = Review(Band.PARTLY if i.done else Band.NOT_ACHIEVED)
    else:
        actual = i.progress
        if review is None:
            if not i.progress:
                findings.append(ScoreFinding("missing_actual", i.code, f"「{i.target.name}」没有填报进展情况，得分 0"))
                return done(Decimal(0), f"未填报进展情况，得分 0（分值 {w}）", "")
            findings.append(
                ScoreFinding(
                    "awaiting_review", i.code, f"定性指标「{i.target.name}」尚待财务处评定档次，暂按「达成」计"
                )
            )
            review = Review(Band.ACHIEVED)
    low, high = policy.bands[review.band]
    percent = _d(review.percent) if review.percent is not None else _d(policy.band_default_percent[review.band])
    if not low <= percent <= high:
        findings.append(
            ScoreFinding(
                "percent_outside_band",
                i.code,
                f"得分比例 {format_decimal(percent)}% 不在「{review.band}」档 {low}–{high}% 内，按档内边界计",
            )
        )
        percent = min(max(percent, _d(low)), _d(high))
    score = weight * percent / HUNDRED
    note = f"（{review.note}）" if review.note else ""
    return done(
        score,
        f"评定「{review.band}」{format_decimal(percent)}% × 分值 {w} = "
        f"{_fmt(score.quantize(policy.quantum, rounding=ROUND_HALF_UP), policy.decimals)}{note}",
        actual,
    )
