"""Configuration from the environment, read and validated once at start.

The web app, the CLI and (later) the workers all call `load_settings()`, so a second
database is one `DATABASE_URL` away for every process.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .domain.passwords import DEFAULT_MIN_LENGTH as DEFAULT_PASSWORD_MIN_LENGTH
from .domain.status import StatusSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
DEFAULT_TOKEN_DAYS = 90


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
    evidence_quota_bytes: int = 500 * 1024 * 1024  # evidence one division may store per year
    max_attachments_per_report: int = 200
    status: StatusSettings = StatusSettings()
    base_url: str = "http://127.0.0.1:5000"  # links in notices
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "perftrack@localhost"
    smtp_starttls: bool = False
    # Trusted reverse proxies in front of the app (ProxyFix): the real client address and scheme come
    # from that many X-Forwarded-For / X-Forwarded-Proto hops.  1 behind the shipped nginx, 0 when exposed.
    proxy_hops: int = 0
    # Networks webhooks may reach besides the public internet (loopback, private ranges are refused otherwise)
    webhook_allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    token_days: int = DEFAULT_TOKEN_DAYS  # an API token expires this many days after it is issued
    password_min_length: int = DEFAULT_PASSWORD_MIN_LENGTH
    scoring_policy: dict | None = None  # PERFTRACK_SCORING_POLICY: the region's self-evaluation rules (JSON file)
    # PERFTRACK_DEPARTMENT / PERFTRACK_BUDGET_UNIT: 主管部门 and 实施单位 on the 自评表 where no person has set the
    # organisation's (organisation.unit_names); a name only read from a header line gives way to them
    department: str = ""
    budget_unit: str = ""
    # PERFTRACK_LIKELIHOOD_WORDS: 完成目标可能性 on the 执行监控表, for 确定能 / 有可能 / 不可能 (central wording)
    likelihood_words: tuple[str, str, str] = ("确定能", "有可能", "完全不可能")
    # PERFTRACK_PARTITION_PROJECTS: a sweep or evaluation run over a year with more projects than this is split
    # into RQ jobs of this many projects each, taken by any number of workers
    partition_projects: int = 5000

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


MIN_SECRET_KEY_LENGTH = 32
# Keys copied from examples and tutorials (deploy/.env.example's included): anyone can sign a session with them.
PLACEHOLDER_KEY_MARKS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replaceme",
    "placeholder",
    "your-secret",
    "secret-key-here",
    "example",
    "insecure",
    "not-secret",
)
MIN_SECRET_KEY_DISTINCT = 10  # "0000…", "xxxx…": long, but guessable


def production_key_problem(key: str) -> str | None:
    """Why KEY must not sign production sessions, or None when it may."""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"长度只有 {len(key)} 个字符，至少需要 {MIN_SECRET_KEY_LENGTH} 个"
    lowered = key.lower()
    mark = next((m for m in PLACEHOLDER_KEY_MARKS if m in lowered), None)
    if mark is not None:
        return f"是示例中的占位值（含「{mark}」）"
    if len(set(key)) < MIN_SECRET_KEY_DISTINCT:
        return "字符过于单一，不是随机生成的"
    return None


def _secret_key(instance: Path, production: bool, env: dict) -> str:
    if env.get("SECRET_KEY"):
        key = env["SECRET_KEY"]
        problem = production_key_problem(key) if production else None
        if problem:
            raise SettingsError(
                f"SECRET_KEY 不能用于生产环境：{problem}。请用 "
                "python3 -c 'import secrets; print(secrets.token_hex(32))' 生成一个随机值"
            )
        return key
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
        raise SettingsError(
            "PERFTRACK_AT_RISK_TOLERANCE / PERFTRACK_BUDGET_LAG_POINTS / PERFTRACK_DUE_SOON_DAYS 应为数字"
        ) from exc
    return StatusSettings(
        progress_mode=mode, at_risk_tolerance=tolerance, due_soon_days=due_soon, budget_lag_points=lag_points
    )


def _likelihood_words(env: dict) -> tuple[str, str, str]:
    """The three words of 完成目标可能性 on the 执行监控表 (some regions write 不可能 for 完全不可能)."""
    text = env.get("PERFTRACK_LIKELIHOOD_WORDS", "确定能,有可能,完全不可能")
    words = [w.strip() for w in text.replace("，", ",").split(",")]
    if len(words) != 3 or not all(words):
        raise SettingsError(f"PERFTRACK_LIKELIHOOD_WORDS 应为逗号分隔的三个词（确定能,有可能,完全不可能）：{text!r}")
    return words[0], words[1], words[2]


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


def _int_setting(env: dict, name: str, default: int, minimum: int) -> int:
    try:
        value = int(env.get(name) or default)
    except ValueError as exc:
        raise SettingsError(f"{name} 应为整数：{env.get(name)!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} 不能小于 {minimum}：{value}")
    return value


def _networks(env: dict, name: str) -> tuple:
    """A comma-separated list of networks (CIDR), e.g. 10.20.0.0/16,192.168.5.7."""
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False) for part in env.get(name, "").split(",") if part.strip()
        )
    except ValueError as exc:
        raise SettingsError(f"{name} 应为以逗号分隔的网段（如 10.20.0.0/16）：{exc}") from exc


def load_settings(env: dict | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("PERFTRACK_INSTANCE", DEFAULT_INSTANCE)).resolve()
    production = env.get("PERFTRACK_ENV", "development") == "production"
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'perftrack.db'}"
    if not database_url.startswith(("sqlite:", "postgresql")):
        raise SettingsError(f"DATABASE_URL 不受支持：{database_url!r}（只支持 sqlite 和 postgresql）")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
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
    evidence_quota = _int_setting(env, "PERFTRACK_EVIDENCE_QUOTA_MB", 500, 1) * 1024 * 1024
    attachments_per_report = _int_setting(env, "PERFTRACK_MAX_ATTACHMENTS_PER_REPORT", 200, 1)
    instance.mkdir(parents=True, exist_ok=True)
    secret_key = _secret_key(instance, production, env)
    try:
        smtp_port = int(env.get("SMTP_PORT", "25"))
    except ValueError as exc:
        raise SettingsError("SMTP_PORT 应为整数") from exc
    return Settings(
        status=_status_settings(env),
        scoring_policy=_scoring_policy(env),
        department=env.get("PERFTRACK_DEPARTMENT", "").strip(),
        budget_unit=env.get("PERFTRACK_BUDGET_UNIT", "").strip(),
        likelihood_words=_likelihood_words(env),
        partition_projects=_int_setting(env, "PERFTRACK_PARTITION_PROJECTS", 5000, 1),
        base_url=env.get("PERFTRACK_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        smtp_host=env.get("SMTP_HOST") or None,
        smtp_port=smtp_port,
        smtp_user=env.get("SMTP_USER") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_from=env.get("SMTP_FROM", "perftrack@localhost"),
        smtp_starttls=env.get("SMTP_STARTTLS", "0") == "1",
        proxy_hops=_int_setting(env, "PERFTRACK_PROXY_HOPS", 1 if production else 0, 0),
        webhook_allowed_networks=_networks(env, "PERFTRACK_WEBHOOK_ALLOWED_NETWORKS"),
        token_days=_int_setting(env, "PERFTRACK_TOKEN_DAYS", DEFAULT_TOKEN_DAYS, 1),
        password_min_length=_int_setting(env, "PERFTRACK_PASSWORD_MIN_LENGTH", DEFAULT_PASSWORD_MIN_LENGTH, 8),
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        secret_key=secret_key,
        timezone=timezone,
        instance_path=instance,
        production=production,
        fixed_today=fixed_today,
        max_upload_bytes=max_upload,
        max_attachment_bytes=max_attachment,
        evidence_quota_bytes=evidence_quota,
        max_attachments_per_report=attachments_per_report,
    )
