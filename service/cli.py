"""`perftrack …`: one entry point for every role and admin task (click, Flask CLI group)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup
from sqlmodel import select

from . import create_app
from .db import session_scope
from .domain.targets import parse_target
from .importing import ImportRejected, ensure_default_divisions, import_bytes
from .models import Division, DivisionPrefix, Project
from .settings import PROJECT_ROOT, SettingsError, load_settings

SAMPLE_FILE = PROJECT_ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"
SAMPLE_YEAR = 2025


def _engine():
    return current_app.extensions["perftrack.engine"]


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=False)
def main() -> None:
    """perftrack：预算绩效目标全年跟踪。"""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Run the Alembic migrations up to REVISION."""
    from .migrate import upgrade

    upgrade(current_app.config["PERFTRACK_SETTINGS"].database_url, revision)
    click.echo(f"数据库已升级到 {revision}")


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, default=SAMPLE_YEAR, show_default=True, help="预算年度")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--dry-run", is_flag=True, help="report what would change, write nothing")
@click.option("--as", "actor", default="cli", show_default=True, help="who imports (recorded)")
def import_command(path: Path, year: int, as_json: bool, dry_run: bool, actor: str) -> None:
    """Import a target table file (.txt export, .docx, .xlsx, .csv): all or nothing."""
    try:
        with session_scope(_engine()) as session:
            summary = import_bytes(session, path.name, path.read_bytes(), year, actor, dry_run=dry_run)
    except ImportRejected as rejected:
        if as_json:
            click.echo(json.dumps({"error": "import_rejected", "problems": [p.to_dict() for p in rejected.problems]},
                                  ensure_ascii=False, indent=2))
        else:
            click.echo("导入被拒绝，未写入任何数据：", err=True)
            for problem in rejected.problems:
                click.echo(f"  - {problem}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(f"{summary.get('message', '预览（未写入）')}：{summary['projects']} 个项目，{summary['indicators']} 个指标"
               f"（新增 {summary['created']}，更新 {summary['updated']}，未变 {summary['unchanged']}），"
               f"预算合计 {summary['budget_total']} 万元")
    if summary["missing"]:
        click.echo(f"文件中已不再包含的指标（未删除）：{', '.join(summary['missing'])}")
    for code, count in summary["findings"].items():
        click.echo(f"  待核查 {code}: {count}")


@main.group()
def targets() -> None:
    """The target-value grammar."""


@targets.command("parse", with_appcontext=False)
@click.argument("text")
@click.option("--level2", default=None, help="二级指标, e.g. 成本指标")
@click.option("--name", default=None, help="三级指标")
@click.option("--description", default=None, help="绩效指标描述")
@click.option("--year", type=int, default=None, help="fiscal year for dates without a year")
@click.option("--json", "as_json", is_flag=True)
def targets_parse(text, level2, name, description, year, as_json) -> None:
    """Show how TEXT (a 指标值) is read."""
    target = parse_target(text, level2=level2, name=name, description=description, fiscal_year=year)
    if as_json:
        click.echo(json.dumps(target.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{target.reading()}  [{target.kind}, {target.direction}]")
    for finding in target.findings:
        click.echo(f"  {finding.severity}: {finding.code} {finding.message}")


@main.group()
def divisions() -> None:
    """处室 and the title prefixes they own."""


@divisions.command("list")
def divisions_list() -> None:
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
    from .admin import set_prefix

    with session_scope(_engine()) as session:
        ensure_default_divisions(session)
        try:
            set_prefix(session, prefix, division_code)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"前缀 {prefix.upper()} → {division_code}")


@main.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Local all-in-one: migrate, load the sample year if absent, serve the web UI."""
    from .migrate import upgrade

    settings = current_app.config["PERFTRACK_SETTINGS"]
    upgrade(settings.database_url)
    with session_scope(_engine()) as session:
        has_sample = session.exec(select(Project.id).where(Project.code.like(f"{SAMPLE_YEAR}-%"))).first()
        if has_sample is None:
            summary = import_bytes(session, SAMPLE_FILE.name, SAMPLE_FILE.read_bytes(), SAMPLE_YEAR, "sample-data")
            click.echo(f"已载入示例年度 {SAMPLE_YEAR}：{summary['projects']} 个项目，{summary['indicators']} 个指标")
        else:
            click.echo(f"示例年度 {SAMPLE_YEAR} 已在数据库中，直接使用")
    click.echo(f"数据库：{settings.database_url}")
    click.echo(f"perftrack 已启动：http://{host}:{port}/")
    click.echo("演示账户：登录与角色随季度上报功能提供，当前页面无需登录。")
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True)


def run() -> None:  # pragma: no cover - console entry guard
    try:
        main()
    except SettingsError as exc:
        click.echo(f"配置错误：{exc}", err=True)
        sys.exit(2)
