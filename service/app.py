"""`create_app`: the only place where extensions, error handlers and blueprints are wired."""

from __future__ import annotations

from apiflask import APIFlask
from flask_wtf.csrf import CSRFProtect

from . import access, errors, request_db, security
from .api import api_bp
from .clock import clock
from .db import make_engine
from .settings import Settings, load_settings
from .web import web_bp

csrf = CSRFProtect()


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
