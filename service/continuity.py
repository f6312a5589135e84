"""Year to year (docs/domain.md §10.3–§10.5): this year's projects linked to last year's, each linked
indicator's 历史值 (last year's annual actual) and last year's score, and targets relative to last
year read against that 历史值.

Proposals come from `service.domain.continuity`; finance confirms or changes them (the import
preview, the year's links page, `perftrack years link`).  History is a snapshot, refreshed when
links change and whenever asked (`perftrack years rollover` again, the 刷新 button), because last
year's Q4 report may still be accepted after this year's tables are in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete
from sqlmodel import Session, col, select

from .clock import clock
from .decision_error import DecisionError
from .domain.actuals import Actual, describe_actual
from .domain.continuity import Candidate, IndicatorCandidate, match_indicators, match_projects
from .domain.status import Reported
from .domain.targets import History, Target, decimal_to_json, parse_target
from .domain.vocabulary import LinkMethod, RunKind, RunState
from .finding_sync import sync_findings
from .models import (
    EvaluationRun,
    FindingRow,
    FiscalYear,
    Indicator,
    IndicatorLink,
    IndicatorResult,
    Project,
    ProjectLink,
    ProjectResult,
    id_of,
)
from .queries import indicator_by_code
from .stored_targets import target_columns, target_of
from .submitted import latest_values, submitted_reports

# ---------------------------------------------------------------- reading a target with its history


def read_indicator_target(
    raw: str,
    level2: str,
    name: str,
    description: str,
    year: int,
    history: History | None = None,
    stated_direction: str = "",
) -> Target:
    """The one way a stored indicator's target is read (import, correction, history refresh)."""
    return parse_target(
        raw, level2, name, description, fiscal_year=year, history=history, stated_direction=stated_direction or None
    )


@dataclass(frozen=True)
class Outcome:
    """What an indicator achieved: its annual actual so far (number and as read) and its latest score;
    for last year's indicator, its 历史值 and last year's score."""

    indicator_id: int
    value: Decimal | None
    unit: str
    text: str
    score: Decimal | None
    weight: Decimal | None

    @property
    def history(self) -> History | None:
        return None if self.value is None else History(self.value, self.unit)


def outcomes_of(session: Session, indicator_ids: list[int]) -> dict[int, Outcome]:
    """The latest submitted quarter's value (Q4 when sent; `service.submitted`) and the score of the
    year's self-evaluation (the locked run if there is one, else the latest)."""
    if not indicator_ids:
        return {}
    indicators = {
        id_of(i): i for i in session.exec(select(Indicator).where(col(Indicator.id).in_(indicator_ids))).all()
    }
    by_year: dict[int, list[Indicator]] = {}
    for indicator, year_id in session.exec(
        select(Indicator, Project.fiscal_year_id)
        .join(Project, col(Project.id) == col(Indicator.project_id))
        .where(col(Indicator.id).in_(indicator_ids))
    ).all():
        by_year.setdefault(year_id, []).append(indicator)
    values: dict[int, Reported] = {}
    for year_id, members in by_year.items():
        values |= latest_values(
            session,
            submitted_reports(session, year_id),
            list({i.project_id for i in members}),
            [id_of(i) for i in members],
        )
    scores = _scores(session, indicators)
    result: dict[int, Outcome] = {}
    for indicator_id, indicator in indicators.items():
        reported = values.get(indicator_id)
        actual = (
            Actual(number=reported.number, done=reported.done, done_on=reported.done_on, progress=reported.progress)
            if reported
            else None
        )
        score, weight = scores.get(indicator_id) or (None, None)
        result[indicator_id] = Outcome(
            indicator_id,
            reported.number if reported else None,
            indicator.unit,
            describe_actual(target_of(indicator), actual) if actual else "",
            score,
            weight,
        )
    return result


def scoring_run(session: Session, fiscal_year_id: int) -> EvaluationRun | None:
    """The run a year's scores are read from: the locked one, else the latest final run, else the latest
    finished trial."""
    return session.exec(
        select(EvaluationRun)
        .where(EvaluationRun.fiscal_year_id == fiscal_year_id, EvaluationRun.state == RunState.DONE)
        .order_by(
            col(EvaluationRun.locked).desc(),
            (col(EvaluationRun.kind) == RunKind.FINAL).desc(),
            col(EvaluationRun.id).desc(),
        )
    ).first()


def _scores(session: Session, indicators: dict[int, Indicator]) -> dict[int, tuple[Decimal, Decimal]]:
    project_ids = {i.project_id for i in indicators.values()}
    years = set(session.exec(select(Project.fiscal_year_id).where(col(Project.id).in_(project_ids))).all())
    scores: dict[int, tuple[Decimal, Decimal]] = {}
    for year_id in years:
        run = scoring_run(session, year_id)
        if run is None:
            continue
        for row in session.exec(
            select(IndicatorResult).where(
                IndicatorResult.run_id == run.id, col(IndicatorResult.indicator_id).in_(list(indicators))
            )
        ).all():
            scores[row.indicator_id] = (row.override_score if row.override_score is not None else row.score, row.weight)
    return scores


# ---------------------------------------------------------------- proposing links


@dataclass
class LinkProposal:
    previous_id: int
    previous_code: str
    previous_name: str
    method: str  # LinkMethod
    similarity: Decimal | None
    confirmed: bool = False  # a person already decided (a stored, confirmed link)


def previous_year(session: Session, year: int) -> FiscalYear | None:
    return session.exec(select(FiscalYear).where(FiscalYear.year == year - 1)).first()


def previous_projects(session: Session, year: int) -> list[Project]:
    last = previous_year(session, year)
    if last is None:
        return []
    return list(session.exec(select(Project).where(Project.fiscal_year_id == last.id).order_by(Project.code)).all())


def propose_links(
    session: Session, year: int, projects: list[tuple[str, str]], existing: dict[str, int] | None = None
) -> dict[str, LinkProposal]:
    """(code, title) of this year's projects → the previous-year project each continues.

    EXISTING maps codes of projects already stored to their ids: a link a person confirmed is kept."""
    previous = previous_projects(session, year)
    if not previous:
        return {}
    by_id = {id_of(p): p for p in previous}
    kept: dict[str, LinkProposal] = {}
    if existing:
        for link in session.exec(
            select(ProjectLink).where(col(ProjectLink.project_id).in_(list(existing.values())))
        ).all():
            code = next(c for c, pid in existing.items() if pid == link.project_id)
            old = by_id.get(link.previous_project_id)
            if old is not None and link.confirmed_at is not None:
                kept[code] = LinkProposal(id_of(old), old.code, old.name, link.method, link.similarity, True)
    taken = {p.previous_id for p in kept.values()}
    keys = {index: code for index, (code, _title) in enumerate(projects) if code not in kept}
    found = match_projects(
        [Candidate(i, projects[i][0], projects[i][1]) for i in keys],
        [Candidate(id_of(p), p.code, p.title) for p in previous if p.id not in taken],
    )
    for index, proposal in found.items():
        old = by_id[proposal.previous]
        kept[keys[index]] = LinkProposal(id_of(old), old.code, old.name, proposal.method, proposal.similarity)
    return kept


def choose_link(session: Session, year: int, previous_code: str | None) -> LinkProposal | None:
    """A person's choice: last year's project by code, or none."""
    if not previous_code:
        return None
    last = previous_year(session, year)
    old = (
        None
        if last is None
        else session.exec(
            select(Project).where(Project.fiscal_year_id == last.id, Project.code == previous_code)
        ).first()
    )
    if old is None:
        raise DecisionError(f"{year - 1} 年度没有项目 {previous_code}")
    return LinkProposal(id_of(old), old.code, old.name, LinkMethod.MANUAL, None, True)


def indicator_pairs(
    session: Session, previous_project_id: int, indicators: list[tuple[int, str, str, str]]
) -> dict[int, int]:
    """(key, level1, level2, name) of a project's indicators → key: the previous project's indicator id."""
    previous = session.exec(
        select(Indicator).where(Indicator.project_id == previous_project_id).order_by(col(Indicator.row_order))
    ).all()
    found = match_indicators(
        [IndicatorCandidate(*item) for item in indicators],
        [IndicatorCandidate(id_of(i), i.level1, i.level2, i.name) for i in previous],
    )
    return {key: proposal.previous for key, proposal in found.items()}


# ---------------------------------------------------------------- storing links


def store_link(
    session: Session, project: Project, link: LinkProposal | None, actor: str | None, refresh: bool = True
) -> list[int]:
    """Make PROJECT's link LINK (None: a new project), confirmed when ACTOR is a person's name.  Returns the
    project's indicators whose 历史值 then needs writing afresh; REFRESH False leaves that to the caller, which
    stores many links and refreshes them all in one pass (`refresh_history`)."""
    stored = session.exec(select(ProjectLink).where(ProjectLink.project_id == project.id)).first()
    if link is None:
        if stored is not None:
            session.delete(stored)
        session.exec(
            delete(IndicatorLink).where(
                col(IndicatorLink.indicator_id).in_(select(Indicator.id).where(Indicator.project_id == project.id))
            )
        )
        session.flush()
        return []
    other = session.exec(
        select(ProjectLink).where(
            ProjectLink.previous_project_id == link.previous_id, ProjectLink.project_id != project.id
        )
    ).first()
    if other is not None:
        taken_by = session.exec(select(Project.code).where(Project.id == other.project_id)).one()
        raise DecisionError(f"上年项目 {link.previous_code} 已与本年项目 {taken_by} 关联")
    if stored is None:
        stored = ProjectLink(project_id=id_of(project), previous_project_id=link.previous_id, method=link.method)
    stored.previous_project_id, stored.method, stored.similarity = link.previous_id, link.method, link.similarity
    if actor:
        stored.confirmed_by, stored.confirmed_at = actor, clock.now()
    session.add(stored)
    session.flush()
    return link_indicators(session, project, link.previous_id, refresh)


def link_indicators(session: Session, project: Project, previous_project_id: int, refresh: bool = True) -> list[int]:
    """Pair PROJECT's indicators with the previous project's and store each pair (with its history, unless
    REFRESH is False); returns the indicators' ids."""
    indicators = session.exec(
        select(Indicator).where(Indicator.project_id == project.id).order_by(col(Indicator.row_order))
    ).all()
    pairs = indicator_pairs(session, previous_project_id, [(id_of(i), i.level1, i.level2, i.name) for i in indicators])
    stored = {
        link.indicator_id: link
        for link in session.exec(
            select(IndicatorLink).where(col(IndicatorLink.indicator_id).in_([i.id for i in indicators]))
        ).all()
    }
    for indicator in indicators:
        previous_id = pairs.get(id_of(indicator))
        link = stored.get(id_of(indicator))
        if previous_id is None:
            if link is not None:
                session.delete(link)
                reread_target(session, indicator, None)
            continue
        if link is None:
            link = IndicatorLink(indicator_id=id_of(indicator), previous_indicator_id=previous_id)
        link.previous_indicator_id = previous_id
        session.add(link)
    session.flush()
    ids = [id_of(i) for i in indicators]
    if refresh:
        refresh_history(session, ids)
    return ids


def refresh_history(session: Session, indicator_ids: list[int] | None = None, year: int | None = None) -> int:
    """Write each link's 历史值 and last score afresh and re-read the targets that depend on them.
    Returns how many targets were read again."""
    query = select(IndicatorLink, Indicator).join(Indicator, col(Indicator.id) == col(IndicatorLink.indicator_id))
    if indicator_ids is not None:
        query = query.where(col(IndicatorLink.indicator_id).in_(indicator_ids))
    if year is not None:
        query = (
            query.join(Project, col(Project.id) == col(Indicator.project_id))
            .join(FiscalYear, col(FiscalYear.id) == col(Project.fiscal_year_id))
            .where(FiscalYear.year == year)
        )
    rows = session.exec(query).all()
    last = outcomes_of(session, [link.previous_indicator_id for link, _ in rows])
    now, reread, years = clock.now(), 0, dict[int, int]()
    for link, indicator in rows:
        known = last.get(link.previous_indicator_id)
        link.history_value, link.history_unit = (known.value, known.unit) if known else (None, "")
        link.history_text = known.text if known else ""
        link.last_score, link.last_weight = (known.score, known.weight) if known else (None, None)
        link.refreshed_at = now
        session.add(link)
        reread += reread_target(session, indicator, known.history if known else None, years)
    session.flush()
    return reread


def reread_target(
    session: Session, indicator: Indicator, history: History | None, years: dict[int, int] | None = None
) -> int:
    """Read INDICATOR's target again when it depends on last year; 1 when it was, else 0.
    YEARS caches project id -> its fiscal year over many calls."""
    years = {} if years is None else years
    if indicator.project_id not in years:
        years[indicator.project_id] = session.exec(
            select(FiscalYear.year)
            .join(Project, col(Project.fiscal_year_id) == col(FiscalYear.id))
            .where(Project.id == indicator.project_id)
        ).one()
    target = read_indicator_target(
        indicator.raw_value,
        indicator.level2,
        indicator.name,
        indicator.description,
        years[indicator.project_id],
        history,
        indicator.stated_direction,
    )
    if not any(f.code in ("from_history", "history_missing") for f in target.findings):
        return 0
    for name, value in target_columns(target).items():
        setattr(indicator, name, value)
    session.add(indicator)
    sync_findings(
        session, indicator.project_id, id_of(indicator), [(f.code, f.severity, f.message) for f in target.findings]
    )
    return 1


def history_of(session: Session, indicator_id: int) -> History | None:
    link = session.exec(select(IndicatorLink).where(IndicatorLink.indicator_id == indicator_id)).first()
    if link is None or link.history_value is None:
        return None
    return History(link.history_value, link.history_unit)


# ---------------------------------------------------------------- the next year


@dataclass
class Rollover:
    year: int
    created: bool
    projects: int
    linked: int
    confirmed: int
    reread: int


def rollover(session: Session, from_year: int, to_year: int) -> Rollover:
    """Open TO_YEAR with FROM_YEAR's settings (idempotent), propose links for its projects that have
    none, and refresh every link's history (docs/domain.md §10.5)."""
    if to_year != from_year + 1:
        raise DecisionError(f"只能从一个年度转入下一年度（{from_year} → {from_year + 1}）")
    source = session.exec(select(FiscalYear).where(FiscalYear.year == from_year)).first()
    if source is None:
        raise DecisionError(f"没有 {from_year} 年度")
    target = session.exec(select(FiscalYear).where(FiscalYear.year == to_year)).first()
    created = target is None
    if target is None:
        target = FiscalYear(year=to_year, report_due_days=source.report_due_days)
        session.add(target)
        session.flush()
    projects = session.exec(
        select(Project).where(Project.fiscal_year_id == id_of(target)).order_by(col(Project.code))
    ).all()
    stored = {
        link.project_id
        for link in session.exec(
            select(ProjectLink).where(col(ProjectLink.project_id).in_([p.id for p in projects]))
        ).all()
    }
    unlinked = [p for p in projects if p.id not in stored]
    proposals = propose_links(session, to_year, [(p.code, p.title) for p in unlinked])
    for project in unlinked:
        if project.code in proposals:
            store_link(session, project, proposals[project.code], None, refresh=False)
    reread = refresh_history(session, year=to_year)
    links = session.exec(
        select(ProjectLink)
        .join(Project, col(Project.id) == col(ProjectLink.project_id))
        .where(Project.fiscal_year_id == id_of(target))
    ).all()
    return Rollover(to_year, created, len(projects), len(links), sum(1 for link in links if link.confirmed_at), reread)


@dataclass
class LinkRow:
    project: Project
    link: ProjectLink | None
    previous: Project | None


def links_of_year(session: Session, year: int) -> list[LinkRow]:
    fiscal_year = session.exec(select(FiscalYear).where(FiscalYear.year == year)).first()
    if fiscal_year is None:
        raise DecisionError(f"没有 {year} 年度")
    projects = session.exec(
        select(Project).where(Project.fiscal_year_id == fiscal_year.id).order_by(col(Project.code))
    ).all()
    links = {
        link.project_id: link
        for link in session.exec(
            select(ProjectLink).where(col(ProjectLink.project_id).in_([p.id for p in projects]))
        ).all()
    }
    previous = {
        p.id: p
        for p in session.exec(
            select(Project).where(col(Project.id).in_([link.previous_project_id for link in links.values()]))
        ).all()
    }
    rows = []
    for p in projects:
        link = links.get(id_of(p))
        rows.append(LinkRow(p, link, previous.get(link.previous_project_id) if link else None))
    return rows


def set_link(session: Session, project: Project, previous_code: str | None, actor: str) -> LinkProposal | None:
    """A person links PROJECT to last year's project PREVIOUS_CODE (None: a new project, no link)."""
    year = session.exec(select(FiscalYear.year).where(FiscalYear.id == project.fiscal_year_id)).one()
    link = choose_link(session, year, previous_code)
    store_link(session, project, link, actor)
    if link is None:
        indicator_ids = list(session.exec(select(Indicator.id).where(Indicator.project_id == project.id)).all())
        for indicator in session.exec(select(Indicator).where(col(Indicator.id).in_(indicator_ids))).all():
            reread_target(session, indicator, None)
    return link


def confirm_links(session: Session, year: int, actor: str) -> int:
    """Finance confirms every proposed link of YEAR as it stands; returns how many."""
    count = 0
    for row in links_of_year(session, year):
        if row.link is not None and row.link.confirmed_at is None:
            row.link.confirmed_by, row.link.confirmed_at = actor, clock.now()
            session.add(row.link)
            count += 1
    session.flush()
    return count


@dataclass
class IndicatorComparison:
    indicator: Indicator
    outcome: Outcome | None  # this year so far
    previous: Indicator | None
    link: IndicatorLink | None


@dataclass
class ProjectComparison:
    """A project this year beside last year: targets, actuals and scores (the project page)."""

    link: ProjectLink | None
    previous: Project | None
    total: Decimal | None  # this year's latest self-evaluation
    previous_total: Decimal | None
    indicators: list[IndicatorComparison]


def compare_with_last_year(session: Session, project: Project) -> ProjectComparison:
    link = session.exec(select(ProjectLink).where(ProjectLink.project_id == project.id)).first()
    previous = session.get(Project, link.previous_project_id) if link else None
    indicators = session.exec(
        select(Indicator).where(Indicator.project_id == project.id).order_by(col(Indicator.row_order))
    ).all()
    links = {
        x.indicator_id: x
        for x in session.exec(
            select(IndicatorLink).where(col(IndicatorLink.indicator_id).in_([i.id for i in indicators]))
        ).all()
    }
    previous_indicators = {
        i.id: i
        for i in session.exec(
            select(Indicator).where(col(Indicator.id).in_([x.previous_indicator_id for x in links.values()]))
        ).all()
    }
    outcomes = outcomes_of(session, [id_of(i) for i in indicators])
    rows = []
    for indicator in indicators:
        link_of = links.get(id_of(indicator))
        rows.append(
            IndicatorComparison(
                indicator,
                outcomes.get(id_of(indicator)),
                previous_indicators.get(link_of.previous_indicator_id) if link_of else None,
                link_of,
            )
        )
    return ProjectComparison(
        link, previous, _total(session, project), _total(session, previous) if previous else None, rows
    )


def _total(session: Session, project: Project) -> Decimal | None:
    run = scoring_run(session, project.fiscal_year_id)
    if run is None:
        return None
    result = session.exec(
        select(ProjectResult).where(ProjectResult.run_id == run.id, ProjectResult.project_id == project.id)
    ).first()
    if result is None:
        return None
    return result.override_total if result.override_total is not None else result.total


def describe_indicator(session: Session, code: str, year: int | None = None) -> dict:
    """One indicator's stored reading, its 历史值 and last year's score, and its findings
    (`perftrack indicators show`)."""
    found = indicator_by_code(session, code, year)
    if found is None:
        raise DecisionError(f"指标 {code} 不存在" + (f"于 {year} 年度" if year else ""))
    indicator, project, division = found
    target = target_of(indicator)
    link = session.exec(select(IndicatorLink).where(IndicatorLink.indicator_id == indicator.id)).first()
    previous = session.get(Indicator, link.previous_indicator_id) if link else None
    findings = session.exec(
        select(FindingRow).where(FindingRow.indicator_id == indicator.id).order_by(col(FindingRow.id))
    ).all()
    last_year = None
    if link is not None and previous is not None:
        last_year = {
            "indicator": previous.code,
            "project": session.exec(select(Project.code).where(Project.id == previous.project_id)).one(),
            "raw_value": previous.raw_value,
            "history_text": link.history_text,
            "score": decimal_to_json(link.last_score),
            "weight": decimal_to_json(link.last_weight),
            "refreshed_at": link.refreshed_at.isoformat(),
        }
    return {
        "code": indicator.code,
        "year": session.exec(select(FiscalYear.year).where(FiscalYear.id == project.fiscal_year_id)).one(),
        "project": project.code,
        "division": division.code,
        "level1": indicator.level1,
        "level2": indicator.level2,
        "name": indicator.name,
        "raw_value": indicator.raw_value,
        "source_value": indicator.source_value,
        "stated_direction": indicator.stated_direction or None,
        **{k: v for k, v in target.to_dict().items() if k != "findings"},
        "reading": target.reading(),
        "history": None
        if link is None or link.history_value is None
        else {"value": decimal_to_json(link.history_value), "unit": link.history_unit, "text": link.history_text},
        "last_year": last_year,
        "findings": [
            {"code": f.code, "severity": f.severity, "message": f.message, "state": f.state} for f in findings
        ],
    }
