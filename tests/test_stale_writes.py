"""Writers working from an older version: a stale workbook is refused with a per-cell comparison
(web and CLI), and a conflict in the web form keeps what was typed beside the current values."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from service.cli import main
from service.clock import clock
from service.db import session_scope
from service.models import ActualEntry, Indicator

from .reporting_helpers import snapshot

CODE = "2025-001.01"  # 全年任务量 ≥5项
RATE = "2025-001.02"  # 验收合格率 100%
FORM = "/reports/XXH/2025Q2"


@pytest.fixture(autouse=True)
def _early_july():
    clock.set_today(date(2025, 7, 3))


def _download(client):
    return load_workbook(io.BytesIO(client.get(f"{FORM}/workbook.xlsx").data))


def _upload(client, workbook):
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return client.post(f"{FORM}/workbook", data={"file": (buffer, "filled.xlsx")})


def _row(sheet, code):
    return next(row for row in sheet.iter_rows(min_row=2) if row[0].value == code)


def _current(app) -> dict[str, str]:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        rows = session.exec(
            select(Indicator.code, ActualEntry.number).join(ActualEntry).where(ActualEntry.is_current.is_(True))
        ).all()
    return {code: f"{number.normalize():f}" for code, number in rows if number is not None}


def _table(page: str, table_id: str) -> list[list[str]]:
    body = page.split(f'id="{table_id}"')[1].split("</table>")[0].split("<tbody>")[1]
    return [
        [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in body.split("</tr>")[:-1]
    ]


def test_a_stale_workbook_is_refused_with_each_cell_it_would_undo(client_as, app):
    xxh = client_as("xxh")
    xxh.post(f"{FORM}/save", data={"version": "0", f"v-{CODE}": "3", f"l-{CODE}": "确定能"})
    workbook = _download(xxh)  # 报告版本 1
    assert dict(workbook["说明"].iter_rows(values_only=True, max_col=2))["报告版本"] == 1
    xxh.post(f"{FORM}/save", data={"version": "1", f"v-{CODE}": "4", f"l-{CODE}": "确定能"})  # version 2, on the web
    _row(workbook["指标"], RATE)[8].value = "98"  # the change made offline in the old file
    before = snapshot(app.extensions["perftrack.engine"])
    response = _upload(xxh, workbook)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "工作簿已导入" not in page
    assert "该工作簿下载于报告版本 1，此后报告已更新到版本 2" in page
    assert _table(page, "workbook-conflicts") == [
        ["工作表「指标」第 2 行", CODE, "全年任务量", "实际完成值", "3", "4", "下载后他人已修改，文件中是旧值"],
        ["工作表「指标」第 3 行", RATE, "验收合格率", "实际完成值", "98", "（空）", "您在文件中的修改"],
    ]
    assert snapshot(app.extensions["perftrack.engine"]) == before and _current(app) == {CODE: "4"}
    fresh = _download(xxh)
    _row(fresh["指标"], RATE)[8].value = "98"
    assert _upload(xxh, fresh).status_code == 302 and _current(app) == {CODE: "4", RATE: "98"}


def test_an_unchanged_stale_workbook_is_no_conflict_and_a_versionless_one_is_refused(client_as, app):
    xxh = client_as("xxh")
    workbook = _download(xxh)  # version 0
    xxh.post(f"{FORM}/save", data={"version": "0", f"v-{CODE}": "4", f"l-{CODE}": "确定能"})
    workbook["指标"].delete_rows(2, 60)  # a file that asks for nothing writes nothing: not a conflict
    assert _upload(xxh, workbook).status_code == 302
    versionless = _download(xxh)
    versionless["说明"]["B4"].value = "最新"
    refused = _upload(xxh, versionless)
    assert refused.status_code == 422 and "「最新」不是报告版本号" in refused.get_data(as_text=True)


def test_the_cli_refuses_a_stale_workbook_naming_the_cells(client_as, runner, app, tmp_path):
    xxh = client_as("xxh")
    workbook = _download(xxh)
    _row(workbook["指标"], CODE)[8].value = "2"
    xxh.post(f"{FORM}/save", data={"version": "0", f"v-{CODE}": "4", f"l-{CODE}": "确定能"})
    path = tmp_path / "old.xlsx"
    workbook.save(path)
    result = runner.invoke(main, ["actuals", "import", str(path), "--as", "xxh", "--json"])
    assert result.exit_code == 2, result.output
    answer = json.loads(result.output)
    assert answer["problems"] == [
        {"location": "工作表「指标」第 2 行", "field": "实际完成值", "message": "文件：2；当前：4"},
        {"location": "工作表「指标」第 2 行", "field": "完成可能性", "message": "文件：（空）；当前：确定能"},
    ]
    assert _current(app) == {CODE: "4"}


class _FormFields(HTMLParser):
    """The values a browser would submit from #report-form."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "report-form":
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and attrs.get("name") and (attrs.get("type") != "checkbox" or "checked" in attrs):
            self.fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "select":
            self._select = attrs["name"]
            self.fields.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value", "\0")  # text follows when there is no value
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.fields[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data
        elif self._select and self.fields.get(self._select) == "\0":
            self.fields[self._select] = data.strip()

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _form(page: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(page)
    return {k: v for k, v in parser.fields.items() if k != "csrf_token"}


def test_a_conflict_in_the_form_keeps_what_was_typed_beside_the_current_values(client_as, app):
    alice, bob = client_as("xxh"), client_as("xxh")
    alice.post(f"{FORM}/save", data={"version": "0", f"v-{CODE}": "3", f"l-{CODE}": "确定能"})
    opened = _form(bob.get(FORM).get_data(as_text=True))  # Bob opens the form at version 1
    assert opened["version"] == "1" and opened[f"v-{CODE}"] == "3"
    alice.post(
        f"{FORM}/save",
        data={"version": "1", f"v-{CODE}": "4", f"l-{CODE}": "确定能", f"v-{RATE}": "90", f"l-{RATE}": "有可能"},
    )  # version 2
    typed = opened | {f"v-{RATE}": "98", f"l-{RATE}": "确定能", f"ct-{RATE}": "抽检延后"}
    response = bob.post(f"{FORM}/save", data=typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "报告已被他人修改（您打开时为版本 1，现为版本 2）：您填写的内容尚未保存，已保留在表单中" in page
    assert _table(page, "conflicts") == [
        [CODE, "全年任务量", "实际完成值", "3", "4", "他人已修改，表单已换成当前值"],
        [RATE, "验收合格率", "实际完成值", "98", "90", "双方都修改了，再次保存将以您填写的为准"],
        [RATE, "验收合格率", "完成可能性", "确定能", "有可能", "双方都修改了，再次保存将以您填写的为准"],
        [RATE, "验收合格率", "偏差原因分析", "抽检延后", "（空）", "您的修改，尚未保存"],
    ]
    kept = _form(page)
    assert kept["version"] == "2"
    assert (kept[f"v-{CODE}"], kept[f"v-{RATE}"], kept[f"l-{RATE}"], kept[f"ct-{RATE}"]) == (
        "4",
        "98",
        "确定能",
        "抽检延后",
    )
    assert _current(app) == {CODE: "4", RATE: "90"}  # nothing of Bob's was saved yet
    assert bob.post(f"{FORM}/save", data=kept).status_code == 302  # saving again keeps Alice's change and Bob's
    assert _current(app) == {CODE: "4", RATE: "98"}
