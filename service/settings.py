"""Configuration from the environment, read and validated once at start.

The web app, the CLI and (later) the workers all call `load_settings()`, so a second
database is one `DATABASE_URL` away for every process.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .domain.status import StatusSettings

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
    status: StatusSettings = StatusSettings()
    base_url: str = "http://127.0.0.1:5000"  # links in notices
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "perftrack@localhost"
    smtp_starttls: bool = False
    webhook_secret: str = ""  # HMAC key of webhook signatures (defaults to SECRET_KEY)
    scoring_policy: dict | None = None  # PERFTRACK_SCORING_POLICY: the region's self-evaluation rules (JSON file)

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


def _status_settings(env: dict) -> StatusSettings:
    """The regional variants of the monitoring rules (central defaults when unset)."""
    mode = env.get("PERFTRACK_PROGRESS_MODE", "quarterly")
    if mode not in ("quarterly", "daily"):
        raise SettingsError(f"PERFTRACK_PROGRESS_MODE 应为 quarterly 或 daily：{mode!r}")
    try:
        tolerance = Decimal(env.get("PERFTRACK_AT_RISK_TOLERANCE", "10")) / 100
        lag_points = Decimal(env.get("PERFTRACK_BUDGET_LAG_POINTS", "10"))
        due_soon = int(env.get("PERFTRACK_DUE_SOON_DAYS", "30"))
    except (InvalidOperation, ValueError) as exc:
        raise SettingsError("PERFTRACK_AT_RISK_TOLERANCE / PERFTRACK_BUDGET_LAG_POINTS / PERFTRACK_DUE_SOON_DAYS 应为数字") from exc
    return StatusSettings(progress_mode=mode, at_risk_tolerance=tolerance, due_soon_days=due_soon,
                          budget_lag_points=lag_points)


def _scoring_policy(env: dict) -> dict | None:
    """The regional variants of the scoring rules, validated at start (None: the central defaults)."""
    path = env.get("PERFTRACK_SCORING_POLICY")
    if not path:
        return None
    from .domain.scoring import ScoringPolicy

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        ScoringPolicy.from_dict(data)
    except (OSError, ValueError, TypeError) as exc:
        raise SettingsError(f"PERFTRACK_SCORING_POLICY 无效（{path}）：{exc}") from exc
    return data


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
    secret_key = _secret_key(instance, production, env)
    try:
        smtp_port = int(env.get("SMTP_PORT", "25"))
    except ValueError as exc:
        raise SettingsError("SMTP_PORT 应为整数") from exc
    return Settings(
        status=_status_settings(env),
        scoring_policy=_scoring_policy(env),
        base_url=env.get("PERFTRACK_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        smtp_host=env.get("SMTP_HOST") or None,
        smtp_port=smtp_port,
        smtp_user=env.get("SMTP_USER") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_from=env.get("SMTP_FROM", "perftrack@localhost"),
        smtp_starttls=env.get("SMTP_STARTTLS", "0") == "1",
        webhook_secret=env.get("PERFTRACK_WEBHOOK_SECRET") or secret_key,
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        secret_key=secret_key,
        timezone=timezone,
        instance_path=instance,
        production=production,
        fixed_today=fixed_today,
        max_upload_bytes=max_upload,
        max_attachment_bytes=max_attachment,
    )
