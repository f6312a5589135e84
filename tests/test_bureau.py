"""Your organisation: the budget unit, divisions added / renamed / retired / loaded from a sheet,
projects moved between divisions with their history, and user administration."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from service.accounts import AccountError, authenticate, create_user, issue_token
from service.cli import main
from service.db import make_engine, session_scope
from service.decision_error import DecisionError
from service.domain.bureau import BudgetUnit, read_unit_line
from service.importing import ImportRejected, import_bytes
from service.models import Division, DivisionPrefix, Indicator, Organisation, Project, ProjectTransfer, User
from service.organisation import (
    add_division,
    import_divisions,
    reactivate_division,
    rename_division,
    retire_division,
    set_organisation,
    unit_names,
)
from service.reporting.reports import load_scope
from service.settings import load_settings
from service.transfers import move_project
from service.user_admin import import_users, reset_password, set_active, update_user

from .bureau_helpers import sheet, submit_quarter
from .conftest import PASSWORD, make_app
from .workbooks import open_workbook

# Another unit's flat file, as its budget system exports it: 处室 column, comparator / value / unit split.
HEBEI = [
    "序号",
    "项目名称",
    "处室",
    "预算数",
    "一级指标",
    "二级指标",
    "三级指标",
    "指标性质",
    "指标值",
    "度量单位",
    "分值",
]
HEBEI_ROWS = [
    [1, "农产品市场监测", "市场处", 120, "产出指标", "数量指标", "监测品种", "≥", 30, "个", 20],
    [1, "", "", "", "", "质量指标", "数据报送及时率", "=", 100, "%", 20],
    [1, "", "", "", "满意度指标", "服务对象满意度指标", "企业满意度", "≥", 90, "%", 10],
    [2, "外贸企业培训", "外贸处", 45.5, "产出指标", "数量指标", "培训人次", "≥", 800, "人次", 30],
    [2, "", "", "", "效益指标", "社会效益指标", "企业外贸能力", "定性", "明显提升", "", 20],
]


@pytest.fixture
def empty_app(sqlite_url, tmp_path):
    app = make_app(sqlite_url, tmp_path / "instance", WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["perftrack.engine"].dispose()


def test_the_sample_divisions_load_on_a_database_without_divisions_only(empty_app):
    runner = empty_app.test_cli_runner()
    loaded = runner.invoke(main, ["divisions", "sample"])
    assert loaded.exit_code == 0 and "已载入示例处室 7 个" in loaded.output, loaded.output
    assert "CWC\t财务处" in runner.invoke(main, ["divisions", "list"]).output
    again = runner.invoke(main, ["divisions", "sample"])
    assert again.exit_code == 1 and "已有 7 个处室" in again.output


def test_a_new_bureau_from_an_empty_database_to_its_first_import(empty_app, tmp_path):
    """The README's "set up your own bureau", command by command."""
    runner = empty_app.test_cli_runner()
    flat = tmp_path / "2026年度绩效目标.xlsx"
    flat.write_bytes(sheet(HEBEI, HEBEI_ROWS))
    refused = runner.invoke(main, ["import", str(flat), "--year", "2026", "--json"])
    assert refused.exit_code == 2 and "尚未设置处室" in json.loads(refused.output)["problems"][0]["message"]

    result = runner.invoke(
        main, ["organisation", "set", "--name", "河北省商务厅", "--code", "412001", "--department", "河北省商务厅"]
    )
    assert result.exit_code == 0, result.output
    divisions = tmp_path / "处室.csv"
    divisions.write_bytes(
        sheet(
            ["代码", "名称", "前缀", "是否财务"],
            [["CWC", "财务处", "", "是"], ["SCC", "市场处", "SC", "否"], ["WMC", "外贸处", "WM、FT", "否"]],
            "csv",
        )
    )
    result = runner.invoke(main, ["divisions", "import", str(divisions)])
    assert result.exit_code == 0 and "新增 3" in result.output, result.output
    users = tmp_path / "用户.xlsx"
    users.write_bytes(
        sheet(
            ["用户名", "姓名", "角色", "处室", "邮箱", "手机"],
            [
                ["zhang", "张会计", "财务处", "", "zhang@example.cn", "13800000001"],
                ["li", "李填报", "填报人", "SCC", "", ""],
                ["wang", "王处长", "处室负责人", "外贸处", "", ""],
            ],
        )
    )
    out = tmp_path / "credentials.csv"
    result = runner.invoke(main, ["users", "import", str(users), "--out", str(out)])
    assert result.exit_code == 0 and "已创建 3 个用户" in result.output, result.output
    credentials = {
        line.split(",")[0]: line.split(",")[3] for line in out.read_text(encoding="utf-8-sig").splitlines()[1:]
    }
    assert set(credentials) == {"zhang", "li", "wang"}

    result = runner.invoke(main, ["import", str(flat), "--year", "2026", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["projects"], summary["indicators"]) == (2, 5)
    engine = empty_app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        owners = dict(session.exec(select(Project.code, Division.code).join(Division)).all())
        assert owners == {"2026-001": "SCC", "2026-002": "WMC"}
        unit = session.exec(select(Organisation)).one()
        assert (unit.code, unit.name, unit.from_tables) == ("412001", "河北省商务厅", False)
        zhang = session.exec(select(User).where(User.username == "zhang")).one()
        assert (zhang.role, zhang.email, zhang.phone, zhang.must_change_password) == (
            "finance",
            "zhang@example.cn",
            "13800000001",
            True,
        )
    # The first login asks for a new password before anything else.
    client = empty_app.test_client()
    assert client.post("/login", data={"username": "li", "password": credentials["li"]}).status_code == 302
    assert client.get("/projects").headers["Location"].endswith("/account")
    changed = client.post(
        "/account/password",
        data={"current": credentials["li"], "new": "li-new-password-7", "repeat": "li-new-password-7"},
    )
    assert changed.status_code == 302
    assert client.get("/projects").status_code == 200
    # Forms and exports name the organisation, not a built-in bureau.
    result = runner.invoke(main, ["export", "self-evaluation", "--year", "2026", "--out", str(tmp_path / "自评.xlsx")])
    assert result.exit_code == 0, result.output

    form = open_workbook(tmp_path / "自评.xlsx")["2026-001"]
    lines = [[v for v in row if v is not None] for row in form.iter_rows(values_only=True)]
    assert ["主管部门", "河北省商务厅", "实施单位", "河北省商务厅"] in lines
    assert any(line[:2] == ["项目负责处室", "市场处"] for line in lines), lines[:6]


def test_the_unit_is_read_from_the_tables_header_line_until_somebody_sets_it(engine, seed_bytes):
    with session_scope(engine) as session:
        import_bytes(session, "seed.txt", seed_bytes, 2025, "test")
        unit = session.exec(select(Organisation)).one()
        assert (unit.code, unit.name, unit.department, unit.from_tables) == ("323101", "天津市商务局", "", True)
        set_organisation(session, "天津市商务局", "323101", "天津市人民政府", "admin")
    other = seed_bytes.decode("utf-8").replace("323101天津市商务局财务处", "412001河北省商务厅财务处").encode("utf-8")
    with pytest.raises(ImportRejected) as rejected, session_scope(engine) as session:
        import_bytes(session, "other.txt", other, 2025, "test")
    assert rejected.value.problems[0].field == "预算单位"
    assert "412001 河北省商务厅" in rejected.value.problems[0].message
    with session_scope(engine) as session:
        with pytest.raises(DecisionError, match="数字"):
            set_organisation(session, "某局", "32A", "", "admin")


def test_a_header_line_names_the_unit_without_its_code_or_the_preparing_division():
    assert read_unit_line("323101天津市商务局财务处", ["财务处", "办公室"]) == BudgetUnit("323101", "天津市商务局")
    assert read_unit_line("110001北京市商务局", ["财务处"]) == BudgetUnit("110001", "北京市商务局")
    assert read_unit_line("412001 河北省商务厅外贸处") == BudgetUnit("412001", "河北省商务厅")
    assert read_unit_line("单位：万元") is None


def test_the_unit_page_and_command_say_what_the_forms_print_under_the_settings(sqlite_url, tmp_path):
    app = make_app(
        sqlite_url, tmp_path / "instance", {"PERFTRACK_DEPARTMENT": "天津市人民政府"}, WTF_CSRF_ENABLED=False
    )
    runner = app.test_cli_runner()
    assert runner.invoke(main, ["organisation", "set", "--name", "天津市商务局", "--code", "323101"]).exit_code == 0
    shown = runner.invoke(main, ["organisation", "show"]).output
    assert "主管部门：天津市商务局" in shown and "自评表打印为：主管部门 天津市人民政府，实施单位 天津市商务局" in shown
    with session_scope(app.extensions["perftrack.engine"]) as session:
        create_user(session, "admin", "管理员", "admin", None, PASSWORD)
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    page = client.get("/divisions").get_data(as_text=True)
    assert "自评表打印为：主管部门「天津市人民政府」，实施单位「天津市商务局」" in page
    app.extensions["perftrack.engine"].dispose()


def test_the_settings_name_the_unit_on_forms_only_where_a_person_has_not(engine, seed_bytes):
    """PERFTRACK_BUDGET_UNIT / PERFTRACK_DEPARTMENT come before a unit only read from a header line, and after
    one a person set: the organisation stays the one record (docs/decisions.md)."""
    settings = load_settings({"PERFTRACK_BUDGET_UNIT": "天津市商务局本级", "PERFTRACK_DEPARTMENT": "天津市人民政府"})
    with session_scope(engine) as session:
        assert unit_names(session, settings) == ("天津市人民政府", "天津市商务局本级")
        import_bytes(session, "seed.txt", seed_bytes, 2025, "test")
        assert unit_names(session) == ("天津市商务局", "天津市商务局")  # read from the header line
        assert unit_names(session, settings) == ("天津市人民政府", "天津市商务局本级")
        set_organisation(session, "天津市商务局", "323101", "", "admin")
        assert unit_names(session, settings) == ("天津市人民政府", "天津市商务局")
        set_organisation(session, "天津市商务局", "323101", "商务部", "admin")
        assert unit_names(session, settings) == ("商务部", "天津市商务局")


def test_divisions_add_rename_retire_reactivate(engine):
    with session_scope(engine) as session:
        added = add_division(session, "kjc", "科技处", ["KJ"], head_signoff=True)
        assert (added.code, added.requires_head_signoff) == ("KJC", True)
        with pytest.raises(DecisionError, match="已存在"):
            add_division(session, "KJC", "另一个")
        with pytest.raises(DecisionError, match="已存在"):
            add_division(session, "ZZZ", "科技处")
        with pytest.raises(DecisionError, match="已有财务处"):
            add_division(session, "CW2", "计划财务处", finance=True)
        with pytest.raises(DecisionError, match="2–4 个英文字母"):
            add_division(session, "ABC", "某处", ["K1"])
        rename_division(session, "KJC", "科技创新处")
        with pytest.raises(DecisionError, match="已被另一个处室使用"):
            rename_division(session, "KJC", "财务处")
        retired = retire_division(session, "KJC")
        assert retired.dropped_prefixes == ["KJ"]
        assert session.exec(select(DivisionPrefix).where(DivisionPrefix.prefix == "KJ")).first() is None
        with pytest.raises(DecisionError, match="已撤销"):
            retire_division(session, "KJC")
        with pytest.raises(DecisionError, match="财务处"):
            retire_division(session, "CWC")
        reactivate_division(session, "KJC")
        assert session.exec(select(Division.active).where(Division.code == "KJC")).one() is True


def test_division_sheet_is_all_or_nothing(engine):
    header = ["代码", "名称", "前缀", "是否财务"]
    bad = sheet(
        header,
        [
            ["KJC", "科技处", "KJ", "否"],
            ["kjc", "重复", "", "否"],
            ["TZC", "投资处", "K9", "否"],
            ["ZHC", "综合处", "", "也许"],
            ["BGS", "电子商务和信息化处", "", "否"],
        ],
    )
    with session_scope(engine) as session:
        before = [(d.code, d.name) for d in session.exec(select(Division).order_by(Division.code))]
        with pytest.raises(ImportRejected) as rejected:
            import_divisions(session, "d.xlsx", bad)
    problems = {(p.location, p.field) for p in rejected.value.problems}
    assert {("第 3 行", "代码"), ("第 4 行", "前缀"), ("第 5 行", "是否财务"), ("第 6 行", "名称")} <= problems
    with session_scope(engine) as session:
        assert [(d.code, d.name) for d in session.exec(select(Division).order_by(Division.code))] == before
        summary = import_divisions(
            session, "d.csv", sheet(header, [["KJC", "科技处", "KJ", "否"], ["BGS", "办公室（综合）", "", ""]], "csv")
        )
        assert summary == {"added": ["KJC"], "renamed": ["BGS"], "rows": 2}
        with pytest.raises(ImportRejected, match="恰好有一个财务处"):
            import_divisions(session, "d.csv", sheet(header, [["XXH", "电子商务和信息化处", "", "是"]], "csv"))


def test_a_retired_division_keeps_its_history_and_receives_no_new_project(app, seed_bytes):
    engine = app.extensions["perftrack.engine"]
    submit_quarter(engine, 2025, "XXH", 1, "xxh")
    with session_scope(engine) as session:
        owned = len(session.exec(select(Project).join(Division).where(Division.code == "XXH")).all())
        retired = retire_division(session, "XXH")
        assert retired.projects_this_year == owned > 0 and retired.dropped_prefixes == ["YW"]
    with session_scope(engine) as session:  # its report and projects stay
        assert load_scope(session, 2025, "XXH", 1).report.first_submitted_at is not None
        project = session.exec(select(Project).where(Project.code == "2025-001")).one()
        with pytest.raises(DecisionError, match="已撤销"):
            move_project(
                session, session.exec(select(Project).where(Project.code == "2025-010")).one(), "XXH", "合并", "caiwu"
            )
        with pytest.raises(AccountError, match="已撤销"):
            create_user(session, "new-xxh", "新人", "reporter", "XXH", "a-long-password-1")
        assert project.division_id == retired.division.id
    # Re-importing the year keeps its projects where they are; a new project named for it is refused.
    with session_scope(engine) as session:
        assert import_bytes(session, "seed.txt", seed_bytes, 2025, "test")["applied"] is False
    flat = sheet(
        ["项目编号", "项目名称", "处室", "预算数", "一级指标", "二级指标", "三级指标", "指标值"],
        [["2025-900", "新项目", "XXH", 10, "产出指标", "数量指标", "数量", "≥1个"]],
        "csv",
    )
    with pytest.raises(ImportRejected) as rejected, session_scope(engine) as session:
        import_bytes(session, "new.csv", flat, 2025, "test")
    assert rejected.value.problems[0].field == "处室" and "已撤销" in rejected.value.problems[0].message
    # The released prefix now sends new YW projects to finance, with a finding.
    titled = sheet(
        ["项目编号", "项目名称", "预算数", "一级指标", "二级指标", "三级指标", "指标值"],
        [["2025-901", "YW（市级）新系统运维", 10, "产出指标", "数量指标", "数量", "≥1个"]],
        "csv",
    )
    with session_scope(engine) as session:
        summary = import_bytes(session, "yw.csv", titled, 2025, "test")
        assert summary["findings"]["division_unassigned"] == 1
        owner = session.exec(select(Division.code).join(Project).where(Project.code == "2025-901")).one()
        assert owner == "CWC"


def test_moving_a_project_keeps_each_divisions_quarters_readable_by_it(app, client_as, seed_bytes):
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        create_user(session, "wzc", "外资处填报", "reporter", "WZC", "a-long-password-1")
    submit_quarter(engine, 2025, "XXH", 1, "xxh", {"2025-001.01": "2"})
    submit_quarter(engine, 2025, "WZC", 1, "wzc")
    submit_quarter(engine, 2025, "XXH", 2, "xxh", {"2025-001.01": "3"})
    with session_scope(engine) as session:
        project = session.exec(select(Project).where(Project.code == "2025-001")).one()
        with pytest.raises(DecisionError, match="原因"):
            move_project(session, project, "WZC", " ", "caiwu")
        with pytest.raises(DecisionError, match="2025Q3"):
            move_project(session, project, "WZC", "职能调整", "caiwu", from_quarter=2)
        transfer = move_project(session, project, "WZC", "职能调整：IDC 运维并入外资处", "caiwu")
        assert transfer.from_quarter == 3  # after every quarter either division has submitted
    submit_quarter(engine, 2025, "WZC", 2, "wzc")
    submit_quarter(engine, 2025, "WZC", 3, "wzc", {"2025-001.01": "4"})
    with session_scope(engine) as session:
        assert "2025-001.01" in load_scope(session, 2025, "XXH", 2).indicators
        assert "2025-001.01" not in load_scope(session, 2025, "XXH", 3).indicators
        assert "2025-001.01" in load_scope(session, 2025, "WZC", 3).indicators
        assert "2025-001.01" not in load_scope(session, 2025, "WZC", 2).indicators
        assert session.exec(select(ProjectTransfer.reason)).one().startswith("职能调整")
    with session_scope(engine) as session:  # re-importing the tables does not undo the move
        assert import_bytes(session, "seed.txt", seed_bytes, 2025, "test")["applied"] is False
        assert session.exec(select(Division.code).join(Project).where(Project.code == "2025-001")).one() == "WZC"
    old = client_as("xxh").get("/indicators/2025-001.01").get_data(as_text=True)
    assert "2025Q1" in old and "2025Q2" in old and "2025Q3" not in old
    client = app.test_client()
    client.post("/login", data={"username": "wzc", "password": "a-long-password-1"})
    new = client.get("/indicators/2025-001.01").get_data(as_text=True)
    assert "2025Q3" in new and "2025Q1" not in new
    page = client_as("caiwu").get("/projects/2025-001").get_data(as_text=True)
    assert "职能调整：IDC 运维并入外资处" in page and "2025Q3" in page


def test_user_administration(app, client_as):
    engine = app.extensions["perftrack.engine"]
    with session_scope(engine) as session:
        admin = session.exec(select(User).where(User.username == "admin")).one()
        kac = session.exec(select(User).where(User.username == "kac")).one()
        update_user(
            session,
            admin,
            kac,
            display_name="口岸处 小王",
            email="wang@example.cn",
            phone="+86 138-0000-0000",
            role="处室负责人",
            division="KAC",
        )
        assert (kac.role, kac.email, kac.phone) == ("head", "wang@example.cn", "+86 138-0000-0000")
        with pytest.raises(AccountError, match="邮箱"):
            update_user(
                session, admin, kac, display_name="x", email="not-an-address", phone="", role="head", division="KAC"
            )
        with pytest.raises(AccountError, match="必须属于一个处室"):
            update_user(session, admin, kac, display_name="x", email="", phone="", role="reporter", division="")
        with pytest.raises(AccountError, match="自己的角色"):
            update_user(session, admin, admin, display_name="admin", email="", phone="", role="finance", division="")
        update_user(
            session, admin, kac, display_name="口岸处 小王", email="", phone="", role="reporter", division="XXH"
        )
        assert kac.division_id == session.exec(select(Division.id).where(Division.code == "XXH")).one()
        with pytest.raises(AccountError, match="最后一位"):
            set_active(
                session, User(id=-1, username="cli", display_name="cli", role="admin", password_hash=""), admin, False
            )
        with pytest.raises(AccountError, match="至少"):
            reset_password(session, admin, kac, "short")
        with pytest.raises(AccountError, match="与用户名相同"):
            reset_password(session, admin, kac, "kac", min_length=3)
        with pytest.raises(AccountError, match="过于常见"):
            reset_password(session, admin, kac, "password123")
        assert not kac.must_change_password  # a refused reset changes nothing
        token = issue_token(session, kac, "脚本").token
        temporary = reset_password(session, admin, kac)
        assert kac.must_change_password and len(temporary) >= 16
    refused = app.test_client().get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["error"] == "password_change_required"
    client = app.test_client()
    assert client.post("/login", data={"username": "kac", "password": PASSWORD}).status_code == 401
    assert client.post("/login", data={"username": "kac", "password": temporary}).status_code == 302
    assert client.get("/reports").headers["Location"].endswith("/account")
    assert "管理员已重置您的密码" in client.get("/account").get_data(as_text=True)
    with session_scope(engine) as session:
        set_active(
            session,
            session.exec(select(User).where(User.username == "admin")).one(),
            session.exec(select(User).where(User.username == "kac")).one(),
            False,
        )
    assert client.get("/account").status_code == 302  # a deactivated user's session ends
    with session_scope(engine) as session:
        with pytest.raises(AccountError):
            authenticate(session, "kac", temporary, "test")


def test_user_sheet_is_all_or_nothing_and_names_row_and_column(engine):
    header = ["用户名", "姓名", "角色", "处室", "邮箱", "手机", "初始密码"]
    with session_scope(engine) as session:
        create_user(session, "taken", "已有", "auditor", None, "a-long-password-1")
    rows = [
        ["ok", "好人", "审计", "", "", "", ""],
        ["taken", "", "审计", "", "", "", ""],
        ["r1", "", "填报人", "", "", "", ""],
        ["r2", "", "处长", "NOPE", "", "", ""],
        ["r3", "", "上帝", "", "", "", ""],
        ["r4", "", "审计", "", "a@b", "", ""],
        ["r5", "", "审计", "", "", "12ab", ""],
        ["r6", "", "审计", "", "", "", "short"],
        ["ok", "", "审计", "", "", "", ""],
    ]
    with pytest.raises(ImportRejected) as rejected, session_scope(engine) as session:
        import_users(session, "u.xlsx", sheet(header, rows))
    found = {(p.location, p.field) for p in rejected.value.problems}
    assert found == {
        ("第 3 行", "用户名"),
        ("第 4 行", "处室"),
        ("第 5 行", "处室"),
        ("第 6 行", "角色"),
        ("第 7 行", "邮箱"),
        ("第 8 行", "手机"),
        ("第 9 行", "初始密码"),
        ("第 10 行", "用户名"),
    }
    with session_scope(engine) as session:
        assert session.exec(select(User.username)).all() == ["taken"]


def test_user_commands(runner, app):
    result = runner.invoke(
        main,
        ["users", "update", "--name", "kac", "--email", "kac@example.cn", "--phone", "022-12345678", "--role", "head"],
    )
    assert result.exit_code == 0, result.output
    reset = runner.invoke(main, ["users", "reset-password", "--name", "kac"])
    assert reset.exit_code == 0 and "临时密码" in reset.output
    assert runner.invoke(main, ["users", "deactivate", "--name", "kac"]).exit_code == 0
    assert runner.invoke(main, ["users", "deactivate", "--name", "admin"]).exit_code != 0  # the last admin
    assert runner.invoke(main, ["users", "activate", "--name", "kac"]).exit_code == 0
    with session_scope(app.extensions["perftrack.engine"]) as session:
        kac = session.exec(select(User).where(User.username == "kac")).one()
        assert (kac.email, kac.phone, kac.role, kac.active, kac.must_change_password) == (
            "kac@example.cn",
            "022-12345678",
            "head",
            True,
            True,
        )


def test_division_and_project_commands(runner, app):
    assert runner.invoke(main, ["divisions", "add", "KJC", "科技处", "--prefix", "KJ"]).exit_code == 0
    assert runner.invoke(main, ["divisions", "rename", "KJC", "科技创新处"]).exit_code == 0
    listing = runner.invoke(main, ["divisions", "list"]).output
    assert "KJC\t科技创新处\tKJ" in listing and "CWC\t财务处\t\t财务处" in listing
    moved = runner.invoke(main, ["projects", "move", "2025-001", "--to", "KJC", "--reason", "职能调整"])
    assert moved.exit_code == 0 and "2025Q1" in moved.output, moved.output
    retired = runner.invoke(main, ["divisions", "retire", "KJC"])
    assert retired.exit_code == 0 and "释放前缀 KJ" in retired.output and "1 个项目" in retired.output
    assert "已撤销" in runner.invoke(main, ["divisions", "list"]).output
    refused = runner.invoke(main, ["projects", "move", "2025-002", "--to", "KJC", "--reason", "x"])
    assert refused.exit_code == 1 and "已撤销" in refused.output
    assert runner.invoke(main, ["divisions", "reactivate", "KJC"]).exit_code == 0
    shown = json.loads(runner.invoke(main, ["organisation", "show", "--json"]).output)
    assert shown == {
        "name": "天津市商务局",
        "code": "323101",
        "department": "天津市商务局",
        "from_tables": True,
        "printed": {"department": "天津市商务局", "unit": "天津市商务局"},
    }


def test_codes_repeat_across_years_but_not_within_one(database_url, seed_bytes):
    """A continuing project keeps its budget-system code next year; within a year a code is one project."""
    from service.organisation import load_sample_divisions

    engine = make_engine(database_url)
    rows = [["ZX-001", "档案整理项目", "办公室", 33, "产出指标", "数量指标", "档案数量", "≥10330件"]]
    header = ["项目编号", "项目名称", "处室", "预算数", "一级指标", "二级指标", "三级指标", "指标值"]
    with session_scope(engine) as session:
        load_sample_divisions(session)
        import_bytes(session, "2025.csv", sheet(header, rows, "csv"), 2025, "test")
        import_bytes(session, "2026.csv", sheet(header, rows, "csv"), 2026, "test")
        assert len(session.exec(select(Project).where(Project.code == "ZX-001")).all()) == 2
    with pytest.raises(ImportRejected, match="重复"), session_scope(engine) as session:
        other = ["ZX-002", "文印项目", "办公室", 5, "产出指标", "数量指标", "文印数量", "≥100份"]
        import_bytes(session, "twice.csv", sheet(header, rows + [other] + rows, "csv"), 2026, "test")
    engine.dispose()


def test_the_closings_code_inputs_name_the_year_when_a_code_repeats(database_url, seed_bytes, tmp_path):
    """实际完成情况 loaded by project code, and a target corrected by indicator code, act on one year's."""
    from service.models import FiscalYear, ProjectReview, TargetRevision
    from service.organisation import load_sample_divisions
    from service.reviews import import_outcomes

    app = make_app(database_url, tmp_path / "instance")
    engine = app.extensions["perftrack.engine"]
    rows = [["ZX-001", "档案整理项目", "办公室", 33, "产出指标", "数量指标", "档案数量", "≥10330件"]]
    header = ["项目编号", "项目名称", "处室", "预算数", "一级指标", "二级指标", "三级指标", "指标值"]
    outcomes = sheet(["项目编号", "实际完成情况"], [["ZX-001", "档案已全部整理"]], "csv")
    with session_scope(engine) as session:
        load_sample_divisions(session)
        import_bytes(session, "2025.csv", sheet(header, rows, "csv"), 2025, "test")
        import_bytes(session, "2026.csv", sheet(header, rows, "csv"), 2026, "test")
        create_user(session, "bgs", "办公室填报", "reporter", "BGS", PASSWORD)
        create_user(session, "caiwu", "财务处", "finance", None, PASSWORD)
    with pytest.raises(ImportRejected, match="在 2025、2026 年度都有：请指定年度"), session_scope(engine) as session:
        import_outcomes(session, "o.csv", outcomes, session.exec(select(User).where(User.username == "bgs")).one())
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == "bgs")).one()
        assert import_outcomes(session, "o.csv", outcomes, user, year=2026) == 1
        reviewed = session.exec(select(Project.code, FiscalYear.year).join(FiscalYear).join(ProjectReview)).all()
        assert reviewed == [("ZX-001", 2026)]
    runner = app.test_cli_runner()
    corrected = runner.invoke(
        main, ["targets", "correct", "ZX-001.01", "≥10400件", "--as", "caiwu", "--reason", "口径调整", "--year", "2025"]
    )
    assert corrected.exit_code == 0, corrected.output
    with session_scope(engine) as session:
        revised = session.exec(select(FiscalYear.year).join(Project).join(Indicator).join(TargetRevision)).all()
        assert revised == [2025]
    engine.dispose()
