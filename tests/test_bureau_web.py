"""The organisation's pages: the unit and divisions (admin), users (admin), moving a project (finance),
and the year selector every page has."""

from __future__ import annotations

import io
import re

from sqlmodel import select

from service.db import session_scope
from service.models import Division, Organisation, Project, User

from .bureau_helpers import sheet


def _form(client, url: str, data: dict, **kw):
    return client.post(url, data=data, follow_redirects=True, **kw).get_data(as_text=True)


def test_admin_sets_the_unit_and_manages_divisions_on_the_page(client_as, app):
    admin = client_as("admin")
    page = _form(
        admin, "/admin/organisation", {"name": "天津市商务局", "code": "323101", "department": "天津市人民政府"}
    )
    assert "预算单位已设为 323101 天津市商务局，主管部门 天津市人民政府" in page
    page = _form(
        admin, "/admin/divisions", {"code": "kjc", "name": "科技处", "prefixes": "KJ，KX", "head_signoff": "1"}
    )
    assert "已添加处室 KJC 科技处" in page and ">KX<" in page
    assert "已存在" in _form(admin, "/admin/divisions", {"code": "KJC", "name": "重名"})
    assert "KJC 已更名为 科技创新处" in _form(admin, "/admin/divisions/KJC/rename", {"name": "科技创新处"})
    page = _form(admin, "/admin/divisions/KJC/retire", {})
    assert "科技创新处已撤销，释放前缀 KJ、KX" in page and "已撤销" in page
    assert "不能撤销" in _form(admin, "/admin/divisions/CWC/retire", {})
    assert "科技创新处已恢复" in _form(admin, "/admin/divisions/KJC/reactivate", {})
    bad = admin.post(
        "/admin/divisions/import",
        data={"file": (io.BytesIO(sheet(["代码", "名称"], [["1X", "坏代码"]])), "d.xlsx")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "第 2 行" in bad.get_data(as_text=True)
    good = admin.post(
        "/admin/divisions/import",
        content_type="multipart/form-data",
        follow_redirects=True,
        data={"file": (io.BytesIO(sheet(["代码", "名称", "前缀"], [["TZC", "投资促进处", "TZ"]], "csv")), "d.csv")},
    )
    assert "新增 1" in good.get_data(as_text=True)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        unit = session.exec(select(Organisation)).one()
        assert (unit.department, unit.from_tables, unit.updated_by) == ("天津市人民政府", False, "admin")
        assert session.exec(select(Division.name).where(Division.code == "TZC")).one() == "投资促进处"
    # Finance sees the unit and the prefixes, not the admin's forms (and may not post them).
    finance = client_as("caiwu")
    page = finance.get("/divisions").get_data(as_text=True)
    assert "323101 天津市商务局" in page and "division-add" not in page and "organisation-form" not in page
    assert finance.post("/admin/divisions", data={"code": "X", "name": "x"}).status_code == 403


def test_evaluation_form_names_the_organisations_department(client_as, app):
    from service.evaluation import execute_run, start_run
    from service.organisation import set_organisation

    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        set_organisation(session, "天津市商务局", "323101", "天津市人民政府办公厅", "admin")
        run = start_run(session, 2025, "caiwu")
        execute_run(session, run)
        run_id = run.id
    page = client_as("caiwu").get(f"/self-evaluation/runs/{run_id}/projects/2025-001").get_data(as_text=True)
    assert "天津市人民政府办公厅" in page


def test_admin_edits_resets_and_creates_users_on_the_pages(client_as, app):
    admin = client_as("admin")
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        kac_id = session.exec(select(User.id).where(User.username == "kac")).one()
    page = _form(
        admin,
        f"/admin/users/{kac_id}",
        {"display_name": "小王", "email": "wang@example.cn", "phone": "13800000000", "role": "head", "division": "KAC"},
    )
    assert "已保存用户 kac" in page and "wang@example.cn" in page
    assert "格式不正确" in _form(
        admin,
        f"/admin/users/{kac_id}",
        {"display_name": "小王", "email": "x@", "phone": "", "role": "head", "division": "KAC"},
    )
    reset = admin.post(f"/admin/users/{kac_id}/password", data={"password": ""}).get_data(as_text=True)
    temporary = re.search(r'id="temporary-password">([^<]+)<', reset).group(1)
    assert "下次登录时须修改" in reset and len(temporary) >= 16
    assert "待修改密码" in admin.get("/admin/users").get_data(as_text=True)
    page = _form(admin, f"/admin/users/{kac_id}/active", {"active": "0", "next": f"/admin/users/{kac_id}"})
    assert "用户 kac 已停用" in page
    with session_scope(engine) as session:
        admin_id = session.exec(select(User.id).where(User.username == "admin")).one()
    assert "不能停用或启用自己" in _form(admin, f"/admin/users/{admin_id}/active", {"active": "0"})
    bulk = admin.post(
        "/admin/users/import",
        content_type="multipart/form-data",
        data={
            "file": (
                io.BytesIO(
                    sheet(
                        ["用户名", "姓名", "角色", "处室"],
                        [["zhao", "赵", "填报人", "口岸管理处"], ["qian", "钱", "审计", ""]],
                    )
                ),
                "u.xlsx",
            )
        },
    )
    created = bulk.get_data(as_text=True)
    assert bulk.status_code == 200 and "已创建 2 个用户" in created and created.count("<code>") == 2
    refused = admin.post(
        "/admin/users/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(sheet(["用户名", "角色"], [["zhao", "审计"]])), "u.xlsx")},
    )
    assert refused.status_code == 422 and "已存在" in refused.get_data(as_text=True)
    assert client_as("caiwu").get(f"/admin/users/{kac_id}").status_code == 403


def test_finance_moves_a_project_on_its_page(client_as, app):
    finance = client_as("caiwu")
    page = _form(
        finance,
        "/projects/2025-001/move",
        {"year": "2025", "division": "WZC", "reason": "职能调整", "from_quarter": ""},
    )
    assert "已自第 1 季度起移交" in page and "职能调整" in page
    assert "移交项目必须填写原因" in _form(
        finance, "/projects/2025-002/move", {"year": "2025", "division": "WZC", "reason": ""}
    )
    with session_scope(app.extensions["perftrack.engine"]) as session:
        assert session.exec(select(Division.code).join(Project).where(Project.code == "2025-001")).one() == "WZC"
    assert client_as("kac").post("/projects/2025-003/move", data={"division": "KAC", "reason": "x"}).status_code == 403


def test_the_year_selector_is_remembered_and_leaves_detail_pages_for_their_list(client, app, seed_bytes):
    from service.continuity import rollover
    from service.importing import import_bytes

    from .bureau_helpers import next_year_tables

    with session_scope(app.extensions["perftrack.engine"]) as session:
        rollover(session, 2025, 2026)
        import_bytes(session, "2026.txt", next_year_tables(seed_bytes), 2026, "test")
    page = client.get("/projects").get_data(as_text=True)
    assert "2026 年度项目绩效目标" in page and 'id="year-picker"' in page
    moved = client.get("/year?year=2025&next=/projects/2026-001?year=2026")
    assert moved.headers["Location"].endswith("/projects?year=2025")
    assert "2025 年度项目绩效目标" in client.get("/projects").get_data(as_text=True)  # remembered
    assert client.get("/year?year=2026&next=/overview").headers["Location"].endswith("/overview?year=2026")
    assert client.get("/year?year=2025&next=//evil.example/x").headers["Location"].endswith("/?year=2025")
    for url in ("/overview", "/reports", "/deadlines", "/self-evaluation", "/findings", "/imports"):
        picker = client.get(url).get_data(as_text=True).split('id="year-picker"')[1].split("</form>")[0]
        assert '<option value="2025" selected>' in picker, url
