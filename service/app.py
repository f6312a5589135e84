"""`create_app`: the only place where extensions, error handlers and blueprints are wired."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from apiflask import APIFlask
from flask_wtf.csrf import CSRFProtect
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.routing import Rule

from . import access, errors, request_db, security
from .api import api_bp
from .clock import clock
from .db import make_engine
from .settings import Settings, load_settings
from .web import web_bp

csrf = CSRFProtect()


class SharedBuilderRule(Rule):
    """A URL rule whose builder (the function url_for calls) is compiled once per process, not once per app.

    werkzeug compiles two builders per rule as the rule is added: about 95 % of `create_app`'s time (110 ms
    on a slow 2-core machine), paid again by every app a process creates (the test suite creates hundreds).
    A builder depends only on the rule's parsed parts (`_trace`), so rules with the same parts share it.
    Rules with defaults (none of ours) are compiled as werkzeug does, since their builders also depend on
    the converters."""

    _builders: ClassVar[dict[tuple, Callable[..., tuple[str, str]]]] = {}

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        if self.defaults:
            return super()._compile_builder(append_unknown)
        key = (self.rule, tuple(self._trace), append_unknown)
        builder = self._builders.get(key)
        if builder is None:
            builder = self._builders[key] = super()._compile_builder(append_unknown)
        return builder


class SharedTemplateCode(BytecodeCache):
    """Compiled templates kept in memory for every app of the process.  Jinja checks each entry against
    the template's source checksum, so an edited template is compiled afresh."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedTemplateCode()


def create_app(settings: Settings | None = None, **config) -> APIFlask:
    settings = settings or load_settings()
    app = APIFlask(
        "service",  # the package, as Flask advises for packages
        title="perftrack API",
        version="1",
        static_folder=None,
        spec_path="/api/v1/openapi.json",
        docs_path=None,
        json_errors=False,
        instance_path=str(settings.instance_path),
    )
    app.url_rule_class = SharedBuilderRule
    app.jinja_options = {**app.jinja_options, "bytecode_cache": TEMPLATE_CODE}
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        SESSION_COOKIE_SECURE=settings.production,
        JSON_AS_ASCII=False,
        PERFTRACK_SETTINGS=settings,
        INFO={
            "description": "绩效目标登记、查询、填报与导入接口。认证：Authorization: Bearer <个人 API 令牌>。"
            "错误一律为 application/problem+json：{type, title, status, detail, error, message, problems?}"
        },
    )
    app.config.update(config)
    app.json.ensure_ascii = False
    clock.configure(settings.timezone, settings.fixed_today)
    app.extensions["perftrack.engine"] = make_engine(settings.database_url)

    csrf.init_app(app)
    request_db.init_app(app)
    access.init_app(app)
    security.init_app(app, settings)
    errors.register_error_handlers(app)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    app.register_blueprint(web_bp)
    return app
