"""The report API: ETag / If-Match, idempotent writes, transitions, locks, history."""

from __future__ import annotations

import io
from datetime import date

import pytest

from service.clock import clock

from .reporting_helpers import snapshot

CODE = "2025-001.01"
URL = "/api/v1/reports/XXH/2025Q2"


@pytest.fixture(autouse=True)
def _early_july():
    clock.set_today(date(2025, 7, 3))


def _put(client, body, version):
    headers = {} if version is None else {"If-Match": f'"{version}"'}
    return client.put(URL, json=body, headers=headers)


def test_read_write_with_etag_and_idempotence(client_as, app):
    api = client_as("xxh")
    read = api.get(URL)
    assert read.status_code == 200 and read.headers["ETag"] == '"0"'
    body = read.get_json()
    assert body["state"] == "draft" and len(body["actuals"]) == 52 and body["due"] == "2025-07-10"
    first = next(a for a in body["actuals"] if a["indicator"] == CODE)
    assert (first["target"], first["measure"], first["expected_by_now"]) == ("≥5项", "cumulative", "2.5项")
    change = {
        "actuals": [{"indicator": CODE, "value": 3, "likelihood": "确定能"}],
        "spend": [{"project": "2025-001", "spent": "10.5"}],
    }
    saved = _put(api, change, 0)
    assert saved.status_code == 200 and saved.get_json() == {
        "version": 1,
        "changed": True,
        "actuals": [CODE],
        "spend": ["2025-001"],
    }
    assert saved.headers["ETag"] == '"1"'
    before = snapshot(app.extensions["perftrack.engine"])
    repeat = _put(api, change, 0)  # the same request again, even with the old ETag
    assert repeat.status_code == 200 and repeat.get_json()["changed"] is False
    assert snapshot(app.extensions["perftrack.engine"]) == before
    stale = _put(api, {"actuals": [{"indicator": CODE, "value": "4"}]}, 0)
    assert stale.status_code == 412 and "已被他人修改" in stale.get_json()["message"]
    assert _put(api, {"actuals": [{"indicator": CODE, "value": "4"}]}, None).status_code == 428
    value = next(a for a in api.get(URL).get_json()["actuals"] if a["indicator"] == CODE)
    assert (value["value"], value["light"]["code"], value["light"]["status"]) == ("3", "good", "on_track")


@pytest.mark.parametrize(
    "item, field, reason",
    [
        ({"indicator": CODE, "value": "abc"}, "实际完成值", "不是数字"),
        ({"indicator": "2025-001.02", "value": "101%"}, "实际完成值", "不能超过 100%"),
        ({"indicator": "2025-010.01", "value": "1"}, "指标编号", "属于口岸管理处"),
        ({"indicator": "nope", "value": "1"}, "指标编号", "不存在"),
    ],
)
def test_bad_values_are_422_with_problems_and_write_nothing(client_as, app, item, field, reason):
    api = client_as("xxh")
    before = snapshot(app.extensions["perftrack.engine"])
    response = _put(api, {"actuals": [{"indicator": "2025-001.03", "value": "99"}, item]}, 0)
    assert response.status_code == 422
    problem = response.get_json()["problems"][0]
    assert (problem["location"], problem["field"]) == ("actuals[1]", field) and reason in problem["message"]
    assert snapshot(app.extensions["perftrack.engine"]) == before


def test_workflow_through_the_api(client_as):
    xxh, finance = client_as("xxh"), client_as("caiwu")
    _put(xxh, {"actuals": [{"indicator": CODE, "value": "3", "likelihood": "确定能"}]}, 0)
    incomplete = xxh.post(f"{URL}/transitions", json={"action": "submit"}, headers={"If-Match": '"1"'})
    assert incomplete.status_code == 422 and incomplete.get_json()["problems"]
    early = finance.post(f"{URL}/transitions", json={"action": "accept"}, headers={"If-Match": '"1"'})
    assert early.status_code == 409 and "不能审核通过" in early.get_json()["message"]
    clock.set_today(date(2025, 7, 11))  # Q2 may be locked from the day after its due date
    locked = finance.post("/api/v1/periods/2025Q2/lock", json={"locked": True})
    assert locked.get_json() == {"period": "2025Q2", "locked": True, "changed": True}
    refused = _put(xxh, {"actuals": [{"indicator": CODE, "value": "4"}]}, 1)
    assert refused.status_code == 423
    assert finance.post("/api/v1/periods/2025Q2/lock", json={"locked": False}).status_code == 422
    finance.post("/api/v1/periods/2025Q2/lock", json={"locked": False, "reason": "补报"})
    history = xxh.get(f"/api/v1/indicators/{CODE}/history").get_json()["items"]
    assert [(h["after"], h["report_version"], h["source"]) for h in history] == [("3项；可能性：确定能", 1, "api")]


def test_attachments_through_the_api(client_as):
    api = client_as("xxh")
    ok = api.post(
        f"{URL}/attachments", data={"indicator": CODE, "file": (io.BytesIO(b"\x89PNG\r\n\x1a\nimg"), "p.png")}
    )
    assert ok.status_code == 201
    bad = api.post(f"{URL}/attachments", data={"indicator": CODE, "file": (io.BytesIO(b"GIF89a"), "p.png")})
    assert bad.status_code == 415 and "内容与扩展名" in bad.get_json()["message"]


def test_openapi_documents_the_report_endpoints(client_as):
    spec = client_as("xxh").get("/api/v1/openapi.json").get_json()
    assert {
        "/api/v1/reports/{division}/{period}",
        "/api/v1/reports/{division}/{period}/transitions",
        "/api/v1/periods/{period}/lock",
    } <= set(spec["paths"])
