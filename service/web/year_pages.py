"""The year every page shows (the selector in the header), and the 年度 pages: opening the next year
and confirming which of last year's projects each project continues."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask import session as cookie
from werkzeug.exceptions import NotFound

from ..access import authorize
from ..continuity import confirm_links, links_of_year, previous_projects, refresh_history, rollover, set_link
from ..decision_error import DecisionError
from ..queries import project_by_code, years
from ..request_db import get_session
from . import decide, web_bp

# A detail page of one year's item has no twin in another year: the selector goes to its list instead.
LIST_OF_DETAIL = (
    ("/projects/", "web.projects"),
    ("/indicators/", "web.projects"),
    ("/reports/", "web.reports"),
    ("/self-evaluation/runs/", "web.evaluations"),
    ("/years/", "web.year_list"),
)


@web_bp.get("/year")
def select_year():
    """The header's selector: remember the year, back to the page (or its list)."""
    authorize("read_targets")
    year = request.args.get("year", type=int)
    if year in years(get_session()):
        cookie["year"] = year
    target = urlsplit(request.args.get("next") or "/")
    path = (
        target.path if target.path.startswith("/") and not target.netloc and not target.path.startswith("//") else "/"
    )
    for prefix, endpoint in LIST_OF_DETAIL:
        if path.startswith(prefix):
            return redirect(url_for(endpoint, year=year))
    return redirect(f"{path}?year={year}" if year else path)


@web_bp.get("/years")
def year_list():
    authorize("manage_targets")
    session = get_session()
    known = years(session)
    return render_template("years.html", known=known, next_year=(known[0] + 1) if known else None)


@web_bp.post("/years/rollover")
def year_rollover():
    authorize("manage_targets")
    start, end = request.form.get("from", type=int), request.form.get("to", type=int)
    if start is None or end is None:
        flash("请填写年度", "error")
        return redirect(url_for("web.year_list"))
    ok = decide(
        lambda session: rollover(session, start, end),
        lambda r: (
            f"{end} 年度{'已开启' if r.created else '已存在'}：{r.projects} 个项目，{r.linked} 个与上年关联，"
            f"按历史值重新解读 {r.reread} 个指标值"
        ),
    )
    return redirect(url_for("web.year_links", year=end) if ok else url_for("web.year_list"))


@web_bp.get("/years/<int:year>/links")
def year_links(year: int):
    authorize("manage_targets")
    session = get_session()
    try:
        rows = links_of_year(session, year)
    except DecisionError as exc:
        raise NotFound(str(exc)) from exc
    return render_template(
        "year_links.html",
        year=year,
        rows=rows,
        previous=previous_projects(session, year),
        pending=sum(1 for r in rows if r.link is not None and r.link.confirmed_at is None),
    )


@web_bp.post("/years/<int:year>/links")
def year_link_set(year: int):
    user = authorize("manage_targets")
    code, previous = request.form.get("project", ""), request.form.get("previous") or None

    def change(session):
        project = project_by_code(session, code, year)
        if project is None:
            raise DecisionError(f"{year} 年度没有项目 {code}")
        return set_link(session, project, previous, user.username)

    decide(
        change, lambda link: f"{code}：" + (f"接续上年项目 {link.previous_code}" if link else "新项目，不与上年关联")
    )
    return redirect(url_for("web.year_links", year=year) + f"#p-{code}")


@web_bp.post("/years/<int:year>/links/confirm")
def year_links_confirm(year: int):
    user = authorize("manage_targets")
    decide(lambda session: confirm_links(session, year, user.username), lambda n: f"已确认 {n} 个关联")
    return redirect(url_for("web.year_links", year=year))


@web_bp.post("/years/<int:year>/history")
def year_history_refresh(year: int):
    authorize("manage_targets")
    decide(
        lambda session: refresh_history(session, year=year),
        lambda n: f"已按上年最新报送的实际值刷新历史值；{n} 个相对上年的指标值已重新解读",
    )
    return redirect(url_for("web.year_links", year=year))
