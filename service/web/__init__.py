"""Server-rendered pages (Chinese).  Every view asks `service.access.authorize` first;
actions are recorded under the logged-in user's name.  Report pages: `reports.py`,
`indicators.py`; login and accounts: `auth.py`."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlmodel import select
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter

from ..access import authorize, can
from ..accounts import AccountError
from ..bureau_rules import set_head_signoff, set_prefix, set_report_due_days
from ..clock import clock
from ..continuity import compare_with_last_year, previous_projects
from ..decision_error import DecisionError
from ..domain.status import PROJECT_STATUSES
from ..domain.vocabulary import TARGET_FIELD_LABELS, VOCABULARY, FindingState, Severity
from ..exports.template import build_flat_template
from ..importing import READERS, ImportRejected, apply_plan, plan_import, read_source
from ..models import Division, DivisionPrefix, FindingRow, FiscalYear, ImportBatch, Indicator, ProjectStatusRow, id_of
from ..monitoring_read import latest_indicator_statuses, latest_project_statuses, project_quarters
from ..organisation import organisation, unit_names
from ..queries import (
    ProjectFilter,
    completion_dates,
    deadlines,
    divisions,
    finding_codes,
    findings_by_indicator,
    fiscal_year,
    indicators_of,
    list_findings,
    list_projects,
    project_by_code,
    revisions_of,
    visible_divisions,
    years,
)
from ..reporting.followup import recompute_later, sweep_after_import
from ..reporting.read import spend_history
from ..reporting.reports import ReportError
from ..request_db import get_session
from ..stored_targets import target_of
from ..target_decisions import accept_finding, accept_information, correct_target
from ..todo import todo_of
from ..transfers import readable_history, transfers_of
from .year_choice import selected_year, year_arg

FINDINGS_PER_PAGE = 25
web_bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")
MAX_ID = 2**31 - 1  # PostgreSQL's integer: no row has a larger id, and a larger bound value is a 500 there


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` in every path: a number the database's integer holds, else the URL does not match (404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


# Before any route of this blueprint is added, so each `<int:…>` rule is built with it.
web_bp.record_once(lambda state: state.app.url_map.converters.update(int=DatabaseIdConverter))


def id_arg(values, name: str) -> int | None:
    """An id given in a form or query string, None when absent; 400 when no row can have it."""
    text = values.get(name, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise BadRequest(f"编号「{text[:20]}」无效")
    return int(text)


UPLOAD_NAME = re.compile(r"^[0-9a-f]{64}\.(txt|docx|xlsx|csv)$")


@web_bp.app_template_filter("money")
def money(value) -> str:
    return "" if value is None else f"{Decimal(value):,.2f}"


@web_bp.app_template_filter("percent")
def percent(value) -> str:
    """A 0…1 share as a whole percentage (a title similarity of 0.874 reads 87%)."""
    return "" if value is None else f"{Decimal(value) * 100:.0f}%"


@web_bp.app_template_filter("localtime")
def localtime(value) -> str:
    """A stored UTC time as people read it (configured zone)."""
    return "" if value is None else value.astimezone(clock.zone).strftime("%Y-%m-%d %H:%M")


@web_bp.app_context_processor
def _vocabulary():
    """Every labelled state and kind by its class name (`{{ ReportState.label_of(report.state) }}`)."""
    return {
        **{words.__name__: words for words in VOCABULARY},
        "TARGET_FIELD_LABELS": TARGET_FIELD_LABELS,
        "today": clock.today(),
    }


def safe_next(target: str | None, default: str) -> str:
    """TARGET if it is a path on this site, else DEFAULT: no open redirect through a `next` field.

    Browsers read `/\\host` and `/<tab>/host` as `//host`, so backslashes, whitespace and control
    characters are refused along with anything naming a scheme or a host."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or any(c == "\\" or c.isspace() or not c.isprintable() for c in target)
    ):
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default


@web_bp.app_context_processor
def _year_selector():
    """The years for the header's selector and the one shown (for logged-in pages only)."""
    if g.get("user") is None:
        return {}
    return {"known_years": years(get_session()), "shown_year": selected_year(strict=False)}


def decide(change, success) -> bool:
    """Run CHANGE(session) and commit, flashing SUCCESS(result) (or the refusal's reason) to the user."""
    session = get_session()
    try:
        result = change(session)
        session.commit()
    except (DecisionError, AccountError, ReportError) as exc:
        session.rollback()
        flash(str(exc), "error")
        return False
    flash(success(result) if callable(success) else success, "ok")
    return True


def _default_year(session) -> int | None:
    """The year the header's selector shows (?year=, the one picked, else the latest)."""
    return selected_year()


def _bool_arg(name: str) -> bool | None:
    return {"1": True, "0": False}.get(request.args.get(name, ""))


@web_bp.get("/")
def index():
    authorize("read_targets")
    return redirect(url_for("web.todo"))


@web_bp.get("/todo")
def todo():
    """我的待办: each person's tasks, each with the link where it is done."""
    user = authorize("read_targets")
    return render_template("todo.html", todo=todo_of(get_session(), user, clock.today()))


@web_bp.get("/projects")
def projects():
    user = authorize("read_targets")
    session = get_session()
    flt = ProjectFilter(
        year=_default_year(session),
        division=request.args.get("division") or None,
        funding_level=request.args.get("funding_level") or None,
        has_findings=_bool_arg("has_findings"),
        search=(request.args.get("q") or "").strip() or None,
    )
    rows = list_projects(session, flt)
    year = fiscal_year(session, flt.year) if flt.year else None
    visible = {d.id for d in visible_divisions(session, user)}
    statuses = (
        latest_project_statuses(
            session, year.id, clock.today(), [r["project"].id for r in rows if r["division"].id in visible]
        )
        if year
        else {}
    )
    for row in rows:
        row["status"] = statuses.get(row["project"].id)
    status = request.args.get("status") or None
    if status in PROJECT_STATUSES:
        rows = [r for r in rows if r["status"] is not None and r["status"].status == status]
    sort, descending = _project_sort(rows)
    totals = {
        "budget": sum((r["project"].budget for r in rows), Decimal(0)),
        "indicators": sum(r["indicator_count"] for r in rows),
        "flagged": sum(1 for r in rows if r["findings"].get(Severity.ERROR) or r["findings"].get(Severity.WARNING)),
    }
    return render_template(
        "projects.html",
        rows=rows,
        flt=flt,
        totals=totals,
        years=years(session),
        divisions=divisions(session),
        chosen_status=status,
        sort=sort,
        descending=descending,
        status_day=next(iter(statuses.values())).as_of if statuses else None,
    )


PROJECT_SORTS = {
    "code": lambda r: r["project"].code,
    "name": lambda r: r["project"].name,
    "division": lambda r: r["division"].code,
    "budget": lambda r: r["project"].budget,
    "indicators": lambda r: r["indicator_count"],
    # worst first; a project without a stored status last
    "status": lambda r: PROJECT_STATUSES.index(r["status"].status) if r["status"] else len(PROJECT_STATUSES),
    "execution": lambda r: _rate_of(r["status"]),
}


def _rate_of(status: ProjectStatusRow | None) -> Decimal:
    """A project's execution rate for sorting (unknown below every known one)."""
    return Decimal(status.execution_rate) if status and status.execution_rate is not None else Decimal(-1)


def _project_sort(rows: list[dict]) -> tuple[str, bool]:
    """Sort ROWS in place by the query's `sort` (a column) and `dir` (asc | desc); returns what was used."""
    sort = request.args.get("sort", "code")
    if sort not in PROJECT_SORTS:
        sort = "code"
    descending = request.args.get("dir") == "desc"
    rows.sort(key=PROJECT_SORTS[sort], reverse=descending)
    return sort, descending


@web_bp.get("/projects/<code>")
def project(code: str):
    user = authorize("read_targets")
    session = get_session()
    item = project_by_code(session, code, request.args.get("year", type=int))
    if item is None:
        raise NotFound(f"项目 {code} 不存在")
    indicators = indicators_of(session, item.id)
    comparison = compare_with_last_year(session, item)
    may_see_values = can(user, "view_report", item.division_id)
    status_day, statuses = latest_indicator_statuses(session, item.id) if may_see_values else (None, {})
    settings = current_app.config["PERFTRACK_SETTINGS"].status
    return render_template(
        "project.html",
        status_day=status_day,
        statuses=statuses,
        quarters=project_quarters(session, item, settings) if may_see_values else None,
        project=item,
        division=session.get(Division, item.division_id),
        year=session.get(FiscalYear, item.fiscal_year_id).year,
        indicators=indicators,
        readings={i.id: target_of(i).reading() for i in indicators},
        findings=findings_by_indicator(session, item.id),
        revisions=revisions_of(session, [i.id for i in indicators]),
        spend_history=readable_history(session, user, item, spend_history(session, item)),
        transfers=transfers_of(session, [id_of(item)]).get(id_of(item), []),
        all_divisions=divisions(session),
        comparison=comparison,
        previous_readings={
            row.previous.id: target_of(row.previous).reading()
            for row in comparison.indicators
            if row.previous is not None
        },
        trend=session.exec(
            select(ProjectStatusRow)
            .where(ProjectStatusRow.project_id == item.id)
            .order_by(ProjectStatusRow.as_of.desc())
            .limit(60)
        ).all()
        if can(user, "view_report", item.division_id)
        else [],
    )


@web_bp.get("/findings")
def findings():
    authorize("manage_targets")
    session = get_session()
    state = request.args.get("state", FindingState.OPEN)
    rows = list_findings(
        session,
        state=state or None,
        severity=request.args.get("severity") or None,
        code=request.args.get("code") or None,
        division=request.args.get("division") or None,
        year=_default_year(session),
    )
    total = len(rows)
    pages = max((total + FINDINGS_PER_PAGE - 1) // FINDINGS_PER_PAGE, 1)
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = rows[(page - 1) * FINDINGS_PER_PAGE : page * FINDINGS_PER_PAGE]
    readings = {i.id: target_of(i).reading() for _, _, i, _ in rows if i is not None}
    codes = finding_codes(session)
    return render_template(
        "findings.html",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        page_args={k: v for k, v in request.args.items() if k != "page"},
        readings=readings,
        state=state,
        codes=codes,
        divisions=divisions(session),
        args=request.args,
    )


def _finding_or_404(session, finding_id: int) -> FindingRow:
    finding = session.get(FindingRow, finding_id)
    if finding is None:
        raise NotFound("该问题不存在")
    return finding


@web_bp.post("/findings/<int:finding_id>/accept")
def finding_accept(finding_id: int):
    user = authorize("manage_targets")
    finding = _finding_or_404(get_session(), finding_id)
    decide(
        lambda session: accept_finding(session, finding, user.username, request.form.get("note", "")), "已确认机器解读"
    )
    return redirect(safe_next(request.form.get("next"), url_for("web.findings")))


@web_bp.post("/findings/accept-information")
def findings_accept_information():
    """Bulk accept of information-level findings, with one reason recorded on each."""
    user = authorize("manage_targets")
    session = get_session()
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    chosen = list(session.exec(select(FindingRow).where(FindingRow.id.in_(ids))).all()) if ids else []
    decide(
        lambda session: accept_information(session, chosen, user.username, request.form.get("reason", "")),
        lambda count: f"已确认 {count} 条提示",
    )
    return redirect(safe_next(request.form.get("next"), url_for("web.findings")))


@web_bp.post("/findings/<int:finding_id>/correct")
def finding_correct(finding_id: int):
    user = authorize("manage_targets")
    session = get_session()
    finding = _finding_or_404(session, finding_id)
    indicator = session.get(Indicator, finding.indicator_id) if finding.indicator_id else None
    if indicator is None:
        flash("该问题属于项目而非指标，无法修改指标值", "error")
        return redirect(url_for("web.findings"))
    try:
        correct_target(
            session,
            indicator,
            request.form.get("new_value", ""),
            user.username,
            request.form.get("reason", ""),
            finding,
        )
        recompute_later(session, current_app.config["PERFTRACK_SETTINGS"].redis_url, [indicator.project_id])
        session.commit()
        flash(f"指标 {indicator.code} 的指标值已更正为「{indicator.raw_value}」", "ok")
    except DecisionError as exc:
        session.rollback()
        flash(f"指标 {indicator.code}：{exc}", "error")
    return redirect(safe_next(request.form.get("next"), url_for("web.findings")))


@web_bp.get("/deadlines")
def deadline_list():
    authorize("read_targets")
    session = get_session()
    year = _default_year(session)
    division = request.args.get("division") or None
    rows = [r for r in deadlines(session, year) if division is None or r[2].code == division]
    return render_template(
        "deadlines.html",
        rows=rows,
        done=completion_dates(session, rows),
        year=year,
        years=years(session),
        division=division,
        divisions=divisions(session),
    )


# ---------------------------------------------------------------- imports


def _upload_dir() -> Path:
    path = Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@web_bp.get("/imports")
def imports():
    authorize("manage_targets")
    session = get_session()
    batches = session.exec(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(20)).all()
    return render_template("imports.html", batches=batches, year=_default_year(session) or clock.today().year)


@web_bp.post("/imports/preview")
def import_preview():
    authorize("manage_targets")
    session = get_session()
    upload = request.files.get("file")
    year = request.form.get("year", type=int)
    if upload is None or not upload.filename:
        flash("请选择要导入的文件", "error")
        return redirect(url_for("web.imports"))
    if year is None or not 2000 <= year <= 2100:
        flash("请填写有效的预算年度", "error")
        return redirect(url_for("web.imports"))
    suffix = Path(upload.filename).suffix.lower()
    data = upload.read()
    source = read_source(upload.filename, data)
    try:
        plan = plan_import(session, source, year, upload.filename, data)
    except ImportRejected as rejected:
        session.rollback()
        return render_template(
            "import_preview.html", problems=rejected.problems, file_name=upload.filename, year=year
        ), 422
    session.rollback()  # a preview writes nothing
    token = f"{hashlib.sha256(data).hexdigest()}{suffix}"
    if suffix in READERS:
        (_upload_dir() / token).write_bytes(data)
    return render_template(
        "import_preview.html",
        plan=plan,
        summary=plan.summary(),
        token=token,
        file_name=upload.filename,
        year=year,
        problems=None,
        previous=previous_projects(session, year) if plan.previous_year else [],
    )


@web_bp.post("/imports/apply")
def import_apply():
    user = authorize("manage_targets")
    session = get_session()
    token, file_name = request.form.get("token", ""), request.form.get("file_name", "upload")
    year = year_arg(request.form)
    path = _upload_dir() / token
    if not UPLOAD_NAME.match(token) or not path.exists() or year is None:
        flash("预览已失效，请重新上传文件", "error")
        return redirect(url_for("web.imports"))
    data = path.read_bytes()
    # The links finance confirmed or changed in the preview (one select per project).
    links = {key[5:]: value or None for key, value in request.form.items() if key.startswith("link-")} or None
    try:
        plan = plan_import(session, read_source(file_name, data), year, file_name, data, links)
        batch = apply_plan(session, plan, user.username, links_confirmed=links is not None)
        if batch is not None:
            sweep_after_import(session, current_app.config["PERFTRACK_SETTINGS"].redis_url, batch.id)
        session.commit()
    except ImportRejected as rejected:
        session.rollback()
        return render_template("import_preview.html", problems=rejected.problems, file_name=file_name, year=year), 422
    path.unlink(missing_ok=True)
    summary = plan.summary()
    if batch is None:
        flash("文件与已导入的内容完全相同，未做任何更改", "ok")
    else:
        flash(
            f"已导入「{file_name}」：新增 {summary['created']}，更新 {summary['updated']}，"
            f"未变 {summary['unchanged']} 个指标",
            "ok",
        )
    return redirect(url_for("web.projects", year=year))


@web_bp.get("/imports/template.xlsx")
def import_template():
    authorize("manage_targets")
    return send_file(
        build_flat_template(),
        as_attachment=True,
        download_name="绩效目标导入模板.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# ---------------------------------------------------------------- divisions


@web_bp.get("/divisions")
def division_list():
    authorize("manage_targets")
    session = get_session()
    mapping = session.exec(select(DivisionPrefix).order_by(DivisionPrefix.prefix)).all()
    return render_template(
        "divisions.html",
        divisions=divisions(session),
        mapping=mapping,
        unit=organisation(session),
        printed=unit_names(session, current_app.config["PERFTRACK_SETTINGS"]),
    )


@web_bp.post("/divisions/prefix")
def division_prefix():
    authorize("manage_targets")
    decide(
        lambda session: set_prefix(session, request.form.get("prefix", ""), request.form.get("division", "")),
        "前缀归属已保存，下次导入时生效",
    )
    return redirect(url_for("web.division_list"))


@web_bp.post("/divisions/<code>/signoff")
def division_signoff(code: str):
    authorize("manage_targets")
    decide(
        lambda session: set_head_signoff(session, code, request.form.get("required") == "1"),
        lambda d: f"{d.name}：报告{'须经处室负责人签认后提交' if d.requires_head_signoff else '由填报人直接提交'}",
    )
    return redirect(url_for("web.division_list"))


@web_bp.post("/years/<int:year>/due-days")
def year_due_days(year: int):
    authorize("lock_period")
    decide(
        lambda session: set_report_due_days(session, year, request.form.get("days", type=int, default=-1)),
        lambda y: f"{year} 年度季度报告的填报期限已改为季度结束后 {y.report_due_days} 天",
    )
    return redirect(url_for("web.reports", year=year))


from . import auth, bureau, evaluation, guard, monitor, reports, year_pages  # noqa: E402,F401  (routes and hooks on web_bp)
from . import indicators as indicator_pages  # noqa: E402,F401
