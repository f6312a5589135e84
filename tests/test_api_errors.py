"""One error shape for the API (application/problem+json), JSON bodies read strictly (deep nesting,
NaN, Infinity, overflowing numbers are a 400), request bodies limited, and the OpenAPI document
declaring its bearer scheme and the error shape."""

from __future__ import annotations

import io
import json
import re

import pytest

CHINESE = re.compile(r"[\u4e00-\u9fff]")
PUT = "/api/v1/reports/XXH/2025Q2"


def _assert_problem(response, status: int, error: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["type"].startswith("urn:perftrack:problem:")
    assert CHINESE.search(body["title"]) and CHINESE.search(body["detail"]) and body["message"] == body["detail"]
    if error is not None:
        assert body["error"] == error and body["type"] == f"urn:perftrack:problem:{error}"
    return body


def test_every_kind_of_error_has_the_problem_shape(app, client_as, tokens):
    anonymous = app.test_client()
    _assert_problem(anonymous.get("/api/v1/projects"), 401, "unauthorized")
    assert anonymous.get("/api/v1/projects").headers["WWW-Authenticate"].startswith("Bearer")
    xxh, caiwu = client_as("xxh"), client_as("caiwu")
    assert "没有权限" in _assert_problem(xxh.post("/api/v1/periods/2025Q2/lock", json={"locked": True}), 403)["detail"]
    _assert_problem(caiwu.get("/api/v1/nothing-here"), 404, "not_found")
    assert _assert_problem(caiwu.get("/api/v1/projects/2099-999"), 404, "not_found")["detail"] == "项目 2099-999 不存在"
    not_allowed = caiwu.delete("/api/v1/projects")
    _assert_problem(not_allowed, 405, "method_not_allowed")
    assert "GET" in not_allowed.headers["Allow"]
    invalid = _assert_problem(caiwu.get("/api/v1/projects?year=abc&funding_level=x"), 422, "validation_error")
    assert {(p["location"], p["field"]) for p in invalid["problems"]} == {
        ("查询参数", "year"),
        ("查询参数", "funding_level"),
    }
    assert {p["message"] for p in invalid["problems"]} == {"应为整数", "应为以下之一：市级, 中央, 未注明"}
    missing = _assert_problem(xxh.put(PUT, json={"actuals": [{"value": "1"}]}, headers={"If-Match": '"0"'}), 422)
    assert missing["problems"] == [{"location": "请求体", "field": "actuals[0].indicator", "message": "必填"}]
    _assert_problem(xxh.put(PUT, json={"actuals": []}), 428)
    rejected = _assert_problem(
        xxh.put(PUT, json={"actuals": [{"indicator": "nope", "value": "1"}]}, headers={"If-Match": '"0"'}),
        422,
        "rejected",
    )
    assert rejected["problems"][0]["location"] == "actuals[0]"


def test_a_cell_value_must_be_text_or_a_number(client_as):
    xxh = client_as("xxh")
    for value in ([1, 2], {"a": 1}, True):
        body = _assert_problem(
            xxh.put(PUT, json={"actuals": [{"indicator": "2025-001.01", "value": value}]}, headers={"If-Match": '"0"'}),
            422,
        )
        assert body["problems"] == [{"location": "请求体", "field": "actuals[0].value", "message": "应为文本或数字"}]


@pytest.mark.parametrize(
    "raw, reason, error",
    [
        ("[" * 2000 + "]" * 2000, "嵌套层级过深", "bad_request"),  # refused at the door for pages and API alike
        ('{"actuals": [{"indicator": "2025-001.01", "value": NaN}]}', "不允许 NaN", "invalid_json"),
        ('{"actuals": [{"indicator": "2025-001.01", "value": -Infinity}]}', "不允许 -Infinity", "invalid_json"),
        ('{"actuals": [{"indicator": "2025-001.01", "value": 1e999}]}', "超出范围", "invalid_json"),
        ('{"actuals": [{"indicator": "2025-001.01", "value": ' + "9" * 5000 + "}]}", "数字过长", "invalid_json"),
        ('{"actuals": [', "不是有效的 JSON", "invalid_json"),
    ],
)
def test_unsafe_json_bodies_are_refused_with_400(client_as, raw, reason, error):
    response = client_as("xxh").put(PUT, data=raw, content_type="application/json", headers={"If-Match": '"0"'})
    assert reason in _assert_problem(response, 400, error)["detail"]


def test_request_bodies_are_limited_for_json_too(app, client_as):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    body = json.dumps({"actuals": [{"indicator": "2025-001.01", "cause_text": "长" * 40_000}]})
    response = client_as("xxh").put(PUT, data=body, content_type="application/json", headers={"If-Match": '"0"'})
    assert _assert_problem(response, 413, "request_entity_too_large")["detail"] == "请求内容过大：上限 64 KB"
    upload = client_as("caiwu").post(
        "/api/v1/imports", data={"file": (io.BytesIO(b"x" * 100_000), "a.csv"), "year": "2025"}
    )
    _assert_problem(upload, 413)


def test_the_openapi_document_declares_bearer_auth_and_one_error_shape(client_as):
    spec = client_as("caiwu").get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert spec["security"] == [{"bearerAuth": []}]
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"} and "problems" in problem["properties"]
    assert "HTTPError" not in spec["components"]["schemas"] and "ValidationError" not in spec["components"]["schemas"]
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert len(operations) >= 15
    for operation in operations:
        errors = {code: r for code, r in operation["responses"].items() if code == "default" or int(code) >= 400}
        assert {"401", "403", "404", "default"} <= set(errors)
        for response in errors.values():
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
