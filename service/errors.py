"""Errors as people and programs read them: application/problem+json under /api/ (its shape is
`service.api.problems`), an HTML page everywhere else.

One set of handlers for the whole application, so the API and the pages answer the
same error the same way and neither imports the other.
"""

from __future__ import annotations

from apiflask import HTTPError
from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from .api.problems import api_problem, http_problem


def render_error(error: HTTPException):
    """The HTML error page (Chinese), with the error's status code."""
    return render_template("error.html", error=error), error.code


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return http_problem(error) if _is_api_request() else render_error(error)

    @app.errorhandler(HTTPError)
    def _api_error(error: HTTPError):
        return api_problem(error)
