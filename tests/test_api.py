"""The JSON API: filters, details, JSON errors, import upload, OpenAPI document."""

from __future__ import annotations

import io

from .documents import as_csv, flat_rows


def test_list_and_filter_projects(client):
    items = client.get("/api/v1/projects?year=2025").get_json()["items"]
    assert len(items) == 62
    central = client.get("/api/v1/projects?funding_level=中央").get_json()["items"]
    assert central and all(p["funding_level"] == "中央" for p in central)
    port = client.get("/api/v1/projects?division=KAC").get_json()["items"]
    assert {p["code"] for p in port} == {f"2025-0{n}" for n in range(10, 17)}
    flagged = client.get("/api/v1/projects?has_findings=true").get_json()["items"]
    assert "2025-001" in {p["code"] for p in flagged}
    assert all(p["open_findings"].get("warning") or p["open_findings"].get("error") for p in flagged)


def test_project_detail_has_readings_and_findings(client):
    body = client.get("/api/v1/projects/2025-018").get_json()
    assert body["budget"] == "598.44" and len(body["indicators"]) == 9
    cost = body["indicators"][5]
    assert cost["raw_value"] == "万元"
    assert cost["findings"][0]["code"] == "missing_number" and cost["findings"][0]["severity"] == "error"
    area = body["indicators"][1]["target"]
    assert (area["comparator"], area["value"], area["unit"]) == (">=", 1100000, "平方米")


def test_indicator_filters_and_detail(client):
    deadlines = client.get("/api/v1/indicators?kind=deadline&due_to=2025-06-30").get_json()["items"]
    assert {i["code"] for i in deadlines} == {"2025-015.03", "2025-052.03"}
    body = client.get("/api/v1/indicators/2025-042.03").get_json()
    assert body["target"]["due"] == "2025-07-31" and body["revisions"] == []


def test_findings_listing(client):
    errors = client.get("/api/v1/findings?severity=error").get_json()["items"]
    assert [f["indicator"] for f in errors] == ["2025-018.06"]


def test_errors_are_json(client):
    response = client.get("/api/v1/projects/2099-999")
    assert response.status_code == 404 and response.get_json()["message"] == "项目 2099-999 不存在"
    bad = client.get("/api/v1/indicators?kind=banana")
    assert bad.status_code == 422 and bad.is_json
    assert client.get("/api/v1/nothing-here").get_json()["error"] == "not_found"


def test_upload_import_and_rejection(client):
    ok = client.post("/api/v1/imports", data={"year": "2025", "file": (io.BytesIO(as_csv(flat_rows())), "flat.csv")})
    assert ok.status_code == 200 and ok.get_json()["created"] == 4
    rows = flat_rows()
    rows[0][4] = "-1"
    rejected = client.post("/api/v1/imports", data={"year": "2025", "file": (io.BytesIO(as_csv(rows)), "bad.csv")})
    assert rejected.status_code == 422
    body = rejected.get_json()
    assert body["error"] == "import_rejected"
    assert body["problems"][0] == {"location": "第 2 行", "field": "预算数", "message": "不能为负数（-1）"}


def test_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/projects",
        "/api/v1/projects/{code}",
        "/api/v1/indicators",
        "/api/v1/findings",
        "/api/v1/imports",
    ):
        assert path in spec["paths"]
