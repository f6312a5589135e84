"""How the API answers a request it cannot serve, and what its OpenAPI document says about it.

Every error under /api/ is one shape, `application/problem+json` (RFC 9457):
`{"type", "title", "status", "detail", "error", "message", "problems"?}`; `error` (a stable code)
and `message` (= detail) are kept for the clients written against the earlier `{error, message}`
body, and `problems` lists location, field and reason where a request was checked row by row.
JSON bodies are read strictly first (no NaN/Infinity, no number that overflows, no nesting the
parser cannot take), so such a body is a 400, not a 500 (`read_json_strictly`, run before every API
endpoint).  `service.errors` answers API errors with `http_problem` / `api_problem`; `document` puts
the bearer scheme and this shape into the OpenAPI document.
"""

from __future__ import annotations

import json
import math
import re

from apiflask import HTTPError
from flask import current_app, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_MIME = "application/problem+json"
TITLES = {
    400: "请求格式错误",
    401: "需要登录或 API 令牌",
    403: "没有权限",
    404: "未找到",
    405: "不支持的请求方法",
    409: "与当前状态冲突",
    412: "版本已变化",
    413: "请求内容过大",
    415: "不支持的文件类型",
    422: "数据校验失败",
    423: "已锁定",
    428: "缺少 If-Match 请求头",
    429: "请求过于频繁",
    500: "服务器内部错误",
}
# marshmallow's messages, as people read them here
FIELD_MESSAGES = [
    (re.compile(r"^Missing data for required field\.$"), "必填"),
    (re.compile(r"^Field may not be null\.$"), "不能为 null"),
    (re.compile(r"^Unknown field\.$"), "未知字段"),
    (re.compile(r"^Not a valid integer\.$"), "应为整数"),
    (re.compile(r"^Not a valid (number|decimal)\.$"), "应为数字"),
    (re.compile(r"^Not a valid boolean\.$"), "应为 true 或 false"),
    (re.compile(r"^Not a valid string\.$"), "应为文本"),
    (re.compile(r"^Not a valid date\.$"), "应为日期（YYYY-MM-DD）"),
    (re.compile(r"^Not a valid list\.$"), "应为列表"),
    (re.compile(r"^Not a valid mapping type\.$"), "应为对象"),
    (re.compile(r"^Not a valid file\.$"), "应为上传的文件"),
    (re.compile(r"^Invalid input type\.$"), "类型错误"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"应为以下之一：\1"),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"), r"应在 \1 到 \2 之间"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"长度不能超过 \1"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度应在 \1 到 \2 之间"),
]
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "问题类型（urn:perftrack:problem:<error>）"},
        "title": {"type": "string", "description": "问题类别（中文）"},
        "status": {"type": "integer", "description": "HTTP 状态码"},
        "detail": {"type": "string", "description": "说明（中文）"},
        "error": {"type": "string", "description": "稳定的错误代码（如 not_found、import_rejected、rejected）"},
        "message": {"type": "string", "description": "与 detail 相同（兼容旧客户端）"},
        "problems": {
            "type": "array",
            "description": "逐项的问题：位置、字段和原因",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


class UnsafeJSON(ValueError):
    """A JSON body the API does not read (the message says why, in Chinese)."""


def _refuse_constant(name: str):
    raise UnsafeJSON(f"JSON 中不允许 {name}：数值必须是有限的数字")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJSON(f"JSON 中的数字 {text[:40]} 超出范围")
    return value


def strict_json(data: bytes):
    """The body parsed as JSON, or UnsafeJSON naming why it is refused."""
    try:
        return json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise UnsafeJSON("JSON 嵌套层数过多") from exc
    except UnicodeDecodeError as exc:
        raise UnsafeJSON("请求体不是 UTF-8 编码的 JSON") from exc
    except json.JSONDecodeError as exc:
        raise UnsafeJSON(f"请求体不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）") from exc
    except UnsafeJSON:
        raise
    except ValueError as exc:  # an integer longer than Python converts
        raise UnsafeJSON("JSON 中的数字过长") from exc


def error_code(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_").replace("-", "_")


def problem(status: int, detail: str, error: str | None = None, problems: list | None = None, headers=None):
    """The problem+json response for STATUS."""
    error = error or error_code(status)
    body = {
        "type": f"urn:perftrack:problem:{error}",
        "title": TITLES.get(status, HTTP_STATUS_CODES.get(status, "")),
        "status": status,
        "detail": detail,
        "error": error,
        "message": detail,
    }
    if problems:
        body["problems"] = problems
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MIME
    if headers:
        response.headers.update(headers)
    return response


def _field_message(text: str) -> str:
    for pattern, replacement in FIELD_MESSAGES:
        if pattern.match(text):
            return pattern.sub(replacement, text)
    return text


def validation_problems(detail) -> list[dict]:
    """marshmallow's nested {location: {field: [messages]}} as a flat list of location, field, reason."""
    found: list[dict] = []

    def walk(node, location: str, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                step = f"[{key}]" if isinstance(key, int) or str(key).isdigit() else (f".{key}" if path else str(key))
                walk(value, location, f"{path}{step}")
        elif isinstance(node, (list, tuple)) and all(isinstance(m, str) for m in node):
            found.extend(
                {"location": location, "field": path or "（请求体）", "message": _field_message(m)} for m in node
            )
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                walk(value, location, f"{path}[{index}]")
        else:
            found.append({"location": location, "field": path or "（请求体）", "message": _field_message(str(node))})

    for location, fields in (detail or {}).items():
        walk(
            fields,
            {
                "json": "请求体",
                "query": "查询参数",
                "form": "表单",
                "files": "文件",
                "form_and_files": "表单",
                "path": "路径",
            }.get(location, location),
            "",
        )
    return found


def http_problem(error: HTTPException):
    """The problem+json answer to an HTTP error raised under /api/ (werkzeug's, or a view's abort)."""
    status = error.code or 500
    custom = error.description != type(error).description  # a message a view wrote for people
    detail = str(error.description if custom else TITLES.get(status, error.description))
    if isinstance(error, BadRequest) and isinstance(error.__context__, UnsafeJSON):
        detail = str(error.__context__)
    elif status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        detail = f"请求内容过大：上限 {_size(limit)}" if limit else TITLES[413]
    return problem(status, detail, headers=_allow(error))


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


def _allow(error: HTTPException) -> dict:
    """The headers the error itself carries that a client needs (Allow on 405, WWW-Authenticate on 401)."""
    headers = dict(error.get_headers())
    return {name: headers[name] for name in ("Allow", "WWW-Authenticate") if name in headers}


def api_problem(error: HTTPError):
    """The problem+json answer to apiflask's HTTPError (an endpoint's abort, or input validation)."""
    extra = error.extra_data if isinstance(error.extra_data, dict) else {}
    problems = extra.get("problems")
    if problems is None and isinstance(error.detail, dict) and error.detail:
        problems = validation_problems(error.detail)
    validation = error.message == "Validation error"  # apiflask's own words for a refused input
    detail = TITLES.get(error.status_code, "") if validation or not error.message else str(error.message)
    code = extra.get("error") or ("validation_error" if validation else None)
    return problem(error.status_code, detail, code, problems, error.headers)


def read_json_strictly():
    """Before any endpoint reads a JSON body (webargs parses it with the standard library, which takes
    NaN, Infinity and 1e999 and dies of deep nesting), refuse what the API will not read."""
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        try:
            strict_json(request.get_data(cache=True))
        except UnsafeJSON as exc:
            return problem(400, str(exc), "invalid_json")
    return None


def document(spec: dict) -> dict:
    """The bearer scheme and the one error shape in the OpenAPI document: every operation's error
    responses are problem+json, and any status not listed (`default`) is one too."""
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "个人 API 令牌（在「我的账户」创建，或 perftrack users token --name U），以 pt_ 开头",
    }
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPError", "ValidationError"):
        components["schemas"].pop(name, None)
    spec["security"] = [{"bearerAuth": []}]
    content = {PROBLEM_MIME: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, response in responses.items():
                if code != "default" and int(code) >= 400:
                    response["content"] = content
            for code in (400, 401, 403, 404, 413):
                responses.setdefault(str(code), {"description": TITLES[code], "content": content})
            responses["default"] = {"description": "其他错误（同一结构）", "content": content}
    return spec
