"""Errors as people and programs read them: JSON under /api/, an HTML page everywhere else.

One set of handlers for the whole application, so the API and the pages answer the
same error the same way and neither imports the other.
"""

from __future__ import annotations

from apiflask import HTTPError
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

ERROR_MESSAGES = {
    400: "请求格式错误",
    401: "需要登录或 API 令牌",
    403: "没有权限",
    404: "未找到",
    405: "不支持的请求方法",
    413: "上传文件过大",
    422: "数据校验失败",
    500: "服务器内部错误",
}


def render_error(error: HTTPException):
    """The HTML error page (Chinese), with the error's status code."""
    return render_template("error.html", error=error), error.code


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if not _is_api_request():
            return render_error(error)
        custom = error.description != type(error).description  # a message a view wrote for people
        body = {
            "error": error.name.lower().replace(" ", "_"),
            "message": error.description if custom else ERROR_MESSAGES.get(error.code, error.description),
        }
        return jsonify(body), error.code

    @app.errorhandler(HTTPError)
    def _api_error(error: HTTPError):
        body = {"error": str(error.status_code), "message": error.message or ERROR_MESSAGES.get(error.status_code, "")}
        if error.detail:
            body["detail"] = error.detail
        if isinstance(error.extra_data, dict):
            body.update(error.extra_data)
        return jsonify(body), error.status_code, error.headers
