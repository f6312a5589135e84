"""The organisation's pages: the budget unit and its divisions (admin), moving a project to another
division (finance, admin), and user administration (admin)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlmodel import select
from werkzeug.exceptions import NotFound

from ..access import authorize
from ..accounts import AccountError
from ..importing import ImportRejected
from ..models import Division, User
from ..organisation import (
    add_division,
    import_divisions,
    reactivate_division,
    rename_division,
    retire_division,
    set_organisation,
)
from ..queries import project_by_code
from ..reporting.followup import recompute_later
from ..request_db import get_session
from ..transfers import move_project
from ..user_admin import import_users, reset_password, update_user
from . import decide, web_bp


def _back():
    return redirect(url_for("web.division_list"))


@web_bp.post("/admin/organisation")
def organisation_set():
    user = authorize("manage_bureau")
    form = request.form
    decide(
        lambda s: set_organisation(
            s, form.get("name", ""), form.get("code", ""), form.get("department", ""), user.username
        ),
        lambda unit: f"预算单位已设为 {unit.code} {unit.name}，主管部门 {unit.department or unit.name}",
    )
    return _back()


@web_bp.post("/admin/divisions")
def division_add():
    authorize("manage_bureau")
    form = request.form
    prefixes = [p for p in form.get("prefixes", "").replace("，", ",").replace("、", ",").split(",") if p.strip()]
    decide(
        lambda s: add_division(
            s,
            form.get("code", ""),
            form.get("name", ""),
            prefixes,
            form.get("finance") == "1",
            form.get("head_signoff") == "1",
        ),
        lambda d: f"已添加处室 {d.code} {d.name}",
    )
    return _back()


@web_bp.post("/admin/divisions/<code>/rename")
def division_rename(code: str):
    authorize("manage_bureau")
    decide(lambda s: rename_division(s, code, request.form.get("name", "")), lambda d: f"{d.code} 已更名为 {d.name}")
    return _back()


@web_bp.post("/admin/divisions/<code>/retire")
def division_retire(code: str):
    authorize("manage_bureau")
    decide(
        lambda s: retire_division(s, code),
        lambda r: (
            f"{r.division.name}已撤销"
            + (f"，释放前缀 {'、'.join(r.dropped_prefixes)}" if r.dropped_prefixes else "")
            + (
                f"；它仍负责最近年度的 {r.projects_this_year} 个项目（照常填报），可在项目页移交"
                if r.projects_this_year
                else ""
            )
        ),
    )
    return _back()


@web_bp.post("/admin/divisions/<code>/reactivate")
def division_reactivate(code: str):
    authorize("manage_bureau")
    decide(lambda s: reactivate_division(s, code), lambda d: f"{d.name}已恢复")
    return _back()


@web_bp.post("/admin/divisions/import")
def division_import():
    authorize("manage_bureau")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择处室表（.xlsx 或 .csv）", "error")
        return _back()
    session = get_session()
    try:
        summary = import_divisions(session, upload.filename, upload.read())
        session.commit()
    except ImportRejected as rejected:
        session.rollback()
        return render_template(
            "sheet_problems.html", title="处室表未导入", problems=rejected.problems, back=url_for("web.division_list")
        ), 422
    flash(f"已导入 {summary['rows']} 个处室（新增 {len(summary['added'])}，更名 {len(summary['renamed'])}）", "ok")
    return _back()


# ---------------------------------------------------------------- moving a project


@web_bp.post("/projects/<code>/move")
def project_move(code: str):
    user = authorize("manage_targets")
    year = request.form.get("year", type=int)
    quarter = request.form.get("from_quarter", type=int)

    def change(session):
        project = project_by_code(session, code, year)
        if project is None:
            raise NotFound(f"项目 {code} 不存在")
        transfer = move_project(
            session, project, request.form.get("division", ""), request.form.get("reason", ""), user.username, quarter
        )
        recompute_later(session, current_app.config["PERFTRACK_SETTINGS"].redis_url, [project.id])
        return transfer

    decide(change, lambda t: f"项目 {code} 已自第 {t.from_quarter} 季度起移交；此前各季度仍属原处室")
    return redirect(url_for("web.project", code=code, year=year))


# ---------------------------------------------------------------- users


def _user_or_404(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("该用户不存在")
    return user


@web_bp.get("/admin/users/<int:user_id>")
def user_detail(user_id: int):
    authorize("manage_users")
    session = get_session()
    return render_template(
        "user.html",
        person=_user_or_404(session, user_id),
        temporary=None,
        divisions=session.exec(select(Division).order_by(Division.code)).all(),
    )


@web_bp.post("/admin/users/<int:user_id>")
def user_update(user_id: int):
    admin = authorize("manage_users")
    form = request.form
    decide(
        lambda s: update_user(
            s,
            admin,
            _user_or_404(s, user_id),
            display_name=form.get("display_name", ""),
            email=form.get("email", ""),
            phone=form.get("phone", ""),
            role=form.get("role", ""),
            division=form.get("division", ""),
        ),
        lambda u: f"已保存用户 {u.username}",
    )
    return redirect(url_for("web.user_detail", user_id=user_id))


@web_bp.post("/admin/users/<int:user_id>/password")
def user_password_reset(user_id: int):
    admin = authorize("manage_users")
    session = get_session()
    person = _user_or_404(session, user_id)
    try:
        temporary = reset_password(
            session,
            admin,
            person,
            request.form.get("password") or None,
            current_app.config["PERFTRACK_SETTINGS"].password_min_length,
        )
        session.commit()
    except AccountError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("web.user_detail", user_id=user_id))
    flash(f"用户 {person.username} 的密码已重置，下次登录时须修改", "ok")
    return render_template(
        "user.html",
        person=person,
        temporary=None if request.form.get("password") else temporary,
        divisions=session.exec(select(Division).order_by(Division.code)).all(),
    )


@web_bp.post("/admin/users/import")
def user_import():
    authorize("manage_users")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择用户表（.xlsx 或 .csv）", "error")
        return redirect(url_for("web.users"))
    session = get_session()
    try:
        created = import_users(
            session, upload.filename, upload.read(), current_app.config["PERFTRACK_SETTINGS"].password_min_length
        )
        session.commit()
    except ImportRejected as rejected:
        session.rollback()
        return render_template(
            "sheet_problems.html", title="用户表未导入", problems=rejected.problems, back=url_for("web.users")
        ), 422
    return render_template("users_created.html", created=created)
