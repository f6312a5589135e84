"""Configuration from the environment, read and validated once at start.

The web app, the CLI and (later) the workers all call `load_settings()`, so a second
database is one `DATABASE_URL` away for every process.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    timezone: str
    instance_path: Path
    production: bool
    fixed_today: date | None  # PERFTRACK_TODAY: simulate a day of the year (demos, tests)
    max_upload_bytes: int
    max_attachment_bytes: int = 10 * 1024 * 1024

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _secret_key(instance: Path, production: bool, env: dict) -> str:
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    if production:
        raise SettingsError("SECRET_KEY 未设置：生产环境必须通过环境变量提供 SECRET_KEY")
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_settings(env: dict | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("PERFTRACK_INSTANCE", DEFAULT_INSTANCE)).resolve()
    production = env.get("PERFTRACK_ENV", "development") == "production"
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'perftrack.db'}"
    if not database_url.startswith(("sqlite:", "postgresql")):
        raise SettingsError(f"DATABASE_URL 不受支持：{database_url!r}（只支持 sqlite 和 postgresql）")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    timezone = env.get("PERFTRACK_TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"PERFTRACK_TIMEZONE 无效：{timezone!r}") from exc
    fixed_today = None
    if env.get("PERFTRACK_TODAY"):
        try:
            fixed_today = date.fromisoformat(env["PERFTRACK_TODAY"])
        except ValueError as exc:
            raise SettingsError(f"PERFTRACK_TODAY 应为 YYYY-MM-DD：{env['PERFTRACK_TODAY']!r}") from exc
    try:
        max_upload = int(env.get("PERFTRACK_MAX_UPLOAD_MB", "20")) * 1024 * 1024
    except ValueError as exc:
        raise SettingsError("PERFTRACK_MAX_UPLOAD_MB 应为整数") from exc
    try:
        max_attachment = int(env.get("PERFTRACK_MAX_ATTACHMENT_MB", "10")) * 1024 * 1024
    except ValueError as exc:
        raise SettingsError("PERFTRACK_MAX_ATTACHMENT_MB 应为整数") from exc
    if max_attachment > max_upload:
        raise SettingsError("PERFTRACK_MAX_ATTACHMENT_MB 不能大于 PERFTRACK_MAX_UPLOAD_MB")
    instance.mkdir(parents=True, exist_ok=True)
    return Settings(
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        secret_key=_secret_key(instance, production, env),
        timezone=timezone,
        instance_path=instance,
        production=production,
        fixed_today=fixed_today,
        max_upload_bytes=max_upload,
        max_attachment_bytes=max_attachment,
    )
