"""Server-rendered pages and their forms (Flask test client; the browser test drives a real one)."""

from __future__ import annotations

import io
import re

from sqlmodel import select

from service.db import session_scope
from service.models import FindingRow, Indicator, TargetRevision

from .conftest import make_app


def test_pages_render_in_chinese(client):
    for path, marker in [
        ("/projects", "41,449.50"),
        ("/projects/2025-017", "会展奖励总额"),
        ("/findings", "待核查问题"),
        ("/deadlines", "2025-03-31"),
        ("/imports", "导入绩效目标表"),
        ("/divisions", "口岸管理处"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert marker in response.get_data(as_text=True), path


def test_project_filters(client):
    page = client.get("/projects?funding_level=未注明").get_data(as_text=True)
    assert "2025-065" in page and "2025-001" not in page
    page = client.get("/projects?division=WZC").get_data(as_text=True)
    assert "<b>6</b>个项目" in page


def test_unknown_pages_are_html_errors(client):
    response = client.get("/projects/2099-001")
    assert response.status_code == 404 and "项目 2099-001 不存在" in response.get_data(as_text=True)


def _finding(app, indicator_code: str, code: str) -> int:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        return session.exec(
            select(FindingRow.id)
            .join(Indicator, Indicator.id == FindingRow.indicator_id)
            .where(Indicator.code == indicator_code, FindingRow.code == code)
        ).one()


def test_accept_a_reading(app, client):
    finding_id = _finding(app, "2025-007.05", "ambiguous_month")
    response = client.post(f"/findings/{finding_id}/accept", data={"note": "指全年12个月"}, follow_redirects=True)
    assert "已确认机器解读" in response.get_data(as_text=True)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        finding = session.get(FindingRow, finding_id)
        assert (finding.state, finding.note, finding.resolved_by) == ("accepted", "指全年12个月", "caiwu")


def test_correct_a_target_needs_a_reason_and_keeps_history(app, client):
    finding_id = _finding(app, "2025-001.06", "inverted_comparator")
    refused = client.post(
        f"/findings/{finding_id}/correct", data={"new_value": "≥90%", "reason": ""}, follow_redirects=True
    )
    assert "修改指标值必须填写原因" in refused.get_data(as_text=True)
    done = client.post(
        f"/findings/{finding_id}/correct", data={"new_value": "≥90%", "reason": "满意度应为下限"}, follow_redirects=True
    )
    assert "已更正为「≥90%」" in done.get_data(as_text=True)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        indicator = session.exec(select(Indicator).where(Indicator.code == "2025-001.06")).one()
        assert (indicator.raw_value, indicator.comparator, indicator.direction) == ("≥90%", ">=", "higher_better")
        revision = session.exec(select(TargetRevision)).one()
        assert (revision.old_value, revision.new_value, revision.reason) == ("≤90%", "≥90%", "满意度应为下限")
        assert session.get(FindingRow, finding_id).state == "corrected"
    page = client.get("/projects/2025-001").get_data(as_text=True)
    assert "修订：≤90% → ≥90%" in page and "原表：≤90%" in page


def test_import_preview_then_apply(app, client, seed_bytes):
    changed = seed_bytes.decode("utf-8").replace("\t≤23.38万元", "\t≤25万元", 1).encode("utf-8")
    preview = client.post("/imports/preview", data={"year": "2025", "file": (io.BytesIO(changed), "v2.txt")})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "确认导入" in text and "指标值 「≤23.38万元」→「≤25万元」" in text
    with session_scope(app.extensions["perftrack.engine"]) as session:  # the preview wrote nothing
        assert session.exec(select(Indicator.raw_value).where(Indicator.code == "2025-001.04")).one() == "≤23.38万元"
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    applied = client.post(
        "/imports/apply", data={"token": token, "file_name": "v2.txt", "year": "2025"}, follow_redirects=True
    )
    assert "更新 1" in applied.get_data(as_text=True)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        assert session.exec(select(Indicator.raw_value).where(Indicator.code == "2025-001.04")).one() == "≤25万元"


def test_import_rejection_lists_problems(client, seed_bytes):
    bad = seed_bytes.decode("utf-8").replace("\t23.38\n\t其中", "\t-23.38\n\t其中", 1).encode("utf-8")
    response = client.post("/imports/preview", data={"year": "2025", "file": (io.BytesIO(bad), "bad.txt")})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "文件被拒绝，未写入任何数据" in text and "金额不能为负数" in text


def test_template_download(client):
    response = client.get("/imports/template.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"


def test_set_prefix(app, client):
    client.post("/divisions/prefix", data={"prefix": "CB", "division": "BGS"}, follow_redirects=True)
    page = client.get("/divisions").get_data(as_text=True)
    assert re.search(r"办公室.*?CB", page, re.S)
    refused = client.post("/divisions/prefix", data={"prefix": "C1", "division": "BGS"}, follow_redirects=True)
    assert "前缀应为 2–4 个英文字母" in refused.get_data(as_text=True)


def test_forms_need_the_csrf_token(sqlite_url, tmp_path):
    app = make_app(sqlite_url, tmp_path / "csrf")
    response = app.test_client().post("/divisions/prefix", data={"prefix": "CB", "division": "BGS"})
    assert response.status_code == 400
