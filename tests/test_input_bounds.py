"""Numbers in URLs and forms that the database cannot hold are a 400 or 404 with a Chinese message,
never a 500: a year of twenty digits on the lists, ids beyond PostgreSQL's integer in paths, NaN
and Infinity as an override score or a grade percent.  On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlmodel import select

from service.db import make_engine, session_scope
from service.evaluation import execute_run, start_run
from service.importing import import_bytes
from service.migrate import upgrade

from .conftest import PASSWORD, SEED, USERS, make_app

CHINESE = re.compile(r"[\u4e00-\u9fff]")
HUGE = "99999999999999999999"
JUST_BEYOND_INT4 = str(2**31)


def _seed(url: str, seed_bytes: bytes) -> dict[str, str]:
    from service.accounts import create_user, issue_token
    from service.organisation import load_sample_divisions

    upgrade(url)
    engine = make_engine(url)
    tokens = {}
    with session_scope(engine) as session:
        load_sample_divisions(session)
        import_bytes(session, SEED.name, seed_bytes, 2025, "test")
        for username, role, division in USERS:
            user = create_user(session, username, username, role, division, PASSWORD)
            tokens[username] = issue_token(session, user, "tests").token
    with session_scope(engine) as session:
        execute_run(session, start_run(session, 2025, "caiwu"))  # a finished self-evaluation run (id 1)
    engine.dispose()
    return tokens


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded_database(request, tmp_path_factory, seed_bytes):
    """(copy, tokens): a database seeded once per module (with a finished run) and a function making a
    fresh copy of it for a test."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("bounds") / "seeded.db"
        tokens = _seed(f"sqlite:///{path}", seed_bytes)

        def copy(tmp_path) -> str:
            shutil.copyfile(path, tmp_path / "bounds.db")
            return f"sqlite:///{tmp_path / 'bounds.db'}"

        return copy, tokens
    server = request.getfixturevalue("postgres_server")
    url = server.create()
    tokens = _seed(url, seed_bytes)
    return (lambda _tmp_path: server.create(template=url.rsplit("/", 1)[1])), tokens


@pytest.fixture
def both(seeded_database, tmp_path):
    """(app, clients by username) on a copy of the seeded SQLite file or PostgreSQL database."""
    copy, tokens = seeded_database
    app = make_app(copy(tmp_path), tmp_path / "instance", WTF_CSRF_ENABLED=False)
    clients = {}
    for username in ("caiwu", "admin", "xxh"):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens[username]}"
        clients[username] = client
    yield app, clients
    app.extensions["perftrack.engine"].dispose()


def _refused(response, statuses=(400, 404)) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code in statuses, (response.status_code, text[:300])
    assert CHINESE.search(text) and "Traceback" not in text
    return text


def test_a_twenty_digit_year_on_the_lists_is_a_400_and_on_the_api_a_422(both):
    _app, clients = both
    caiwu = clients["caiwu"]
    for path in ("/projects", "/findings", "/deadlines", "/reports", "/overview", "/self-evaluation"):
        for year in (HUGE, f"-{HUGE}", "２０２５０"):
            assert "年度" in _refused(caiwu.get(f"{path}?year={year}"), (400,)), path
        assert caiwu.get(f"{path}?year=2025").status_code == 200, path
    for path in ("/api/v1/projects", "/api/v1/indicators", "/api/v1/findings", "/api/v1/reports"):
        response = caiwu.get(f"{path}?year={HUGE}")
        assert response.status_code == 422 and response.mimetype == "application/problem+json", path
        assert response.get_json()["problems"] == [
            {"location": "查询参数", "field": "year", "message": "应在 2000 到 2100 之间"}
        ], path
    _refused(caiwu.post("/imports/apply", data={"token": "0" * 64 + ".csv", "year": HUGE}), (400,))


def test_ids_beyond_the_database_integer_in_paths_are_a_404(both):
    _app, clients = both
    caiwu, admin = clients["caiwu"], clients["admin"]
    for number in (HUGE, JUST_BEYOND_INT4):
        _refused(caiwu.post("/inbox/read", data={"id": number}), (400,))
        for response in (
            caiwu.post(f"/findings/{number}/accept"),
            caiwu.get(f"/attachments/{number}"),
            caiwu.post(f"/attachments/{number}/remove"),
            caiwu.get(f"/self-evaluation/runs/{number}/projects/2025-001"),
            caiwu.get(f"/self-evaluation/runs/{number}/workbook.xlsx"),
            caiwu.post(f"/self-evaluation/runs/{number}/lock"),
            caiwu.post(f"/account/tokens/{number}/revoke"),
            admin.post(f"/admin/users/{number}/active"),
            caiwu.post(f"/years/{number}/due-days", data={"days": "10"}),
            caiwu.get(f"/reports/XXH/{number}Q1"),
            caiwu.get(f"/api/v1/reports/XXH/{number}Q1"),
            caiwu.post(f"/api/v1/periods/{number}Q1/lock", json={"locked": True}),
        ):
            _refused(response, (404,))


def test_nan_and_infinity_as_an_override_score_or_a_grade_percent(both):
    from service.models import IndicatorResult, ReviewerGrade

    app, clients = both
    caiwu = clients["caiwu"]
    url = "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.01"
    judged = "/self-evaluation/runs/1/projects/2025-001/indicators/2025-001.05"  # qualitative: graded
    for typed, refused in (
        ("NaN", "不是数字"),
        ("nan", "不是数字"),
        ("-Infinity", "不是数字"),
        ("inf", "不是数字"),
        ("sNaN", "不是数字"),
        ("1e999999", "不是数字"),
        ("1" * 400, "数值过大"),
        ("十二", "不是数字"),
    ):
        override = caiwu.post(f"{url}/override", data={"score": typed, "reason": "核实"}, follow_redirects=True)
        text = override.get_data(as_text=True)
        assert override.status_code == 200 and refused in text, typed
        grade = caiwu.post(f"{judged}/grade", data={"band": "达成", "percent": typed}, follow_redirects=True)
        text = grade.get_data(as_text=True)
        assert grade.status_code == 200 and ("不是数字" in text or "数值过大" in text), typed
    with session_scope(app.extensions["perftrack.engine"]) as session:
        assert (
            session.exec(
                select(IndicatorResult.override_score).where(IndicatorResult.override_score.is_not(None))
            ).all()
            == []
        )
        assert session.exec(select(ReviewerGrade)).all() == []
    # full-width digits are a number people type: 12 is within the weight 12.50
    override = caiwu.post(f"{url}/override", data={"score": "１２", "reason": "核实"}, follow_redirects=True)
    assert "已调整" in override.get_data(as_text=True)


def test_nan_as_a_grade_percent_in_the_grades_file(both, tmp_path):
    app, _clients = both
    from service.cli import main

    path = tmp_path / "grades.csv"
    path.write_text(
        "指标编号,评价档次,得分比例,说明\n2025-001.05,达成,NaN,x\n2025-003.04,达成,Infinity,y\n", encoding="utf-8"
    )
    result = app.test_cli_runner().invoke(main, ["grades", "import", str(path)])
    assert result.exit_code == 2 and "第 2 行 · 得分比例：「NaN」不是数字" in result.output
    assert "第 3 行 · 得分比例：「Infinity」不是数字" in result.output
