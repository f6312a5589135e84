"""Configuration from the environment, and the one clock."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from service.clock import Clock
from service.settings import SettingsError, load_settings


def test_defaults_and_generated_secret(tmp_path):
    settings = load_settings({"PERFTRACK_INSTANCE": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'perftrack.db'}"
    assert settings.timezone == "Asia/Shanghai" and settings.redis_url is None
    assert len(settings.secret_key) == 64
    assert (settings.evidence_quota_bytes, settings.max_attachments_per_report) == (500 * 1024 * 1024, 200)
    assert load_settings({"PERFTRACK_INSTANCE": str(tmp_path)}).secret_key == settings.secret_key  # kept in instance/


def test_postgres_url_uses_psycopg(tmp_path):
    settings = load_settings({"PERFTRACK_INSTANCE": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    "env, name",
    [
        ({"PERFTRACK_ENV": "production"}, "SECRET_KEY"),
        ({"PERFTRACK_TIMEZONE": "Mars/Olympus"}, "PERFTRACK_TIMEZONE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"PERFTRACK_TODAY": "2025-13-01"}, "PERFTRACK_TODAY"),
        ({"PERFTRACK_EVIDENCE_QUOTA_MB": "lots"}, "PERFTRACK_EVIDENCE_QUOTA_MB"),
        ({"PERFTRACK_MAX_ATTACHMENTS_PER_REPORT": "0"}, "PERFTRACK_MAX_ATTACHMENTS_PER_REPORT"),
    ],
)
def test_bad_settings_name_the_variable(tmp_path, env, name):
    with pytest.raises(SettingsError, match=name):
        load_settings({"PERFTRACK_INSTANCE": str(tmp_path), **env})


def test_clock_fixed_day_is_local_and_stored_as_utc():
    clock = Clock("Asia/Shanghai")
    clock.set_today(date(2025, 3, 31))
    assert clock.today() == date(2025, 3, 31)
    assert clock.now().tzinfo == UTC and clock.now().hour == 1  # 09:00 in Shanghai
    clock.set_today(None)
    assert clock.now().tzinfo == UTC


STRONG_KEY = "9f2c4e7a1b3d5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f7"


@pytest.mark.parametrize(
    "key, reason",
    [
        ("change-me-to-64-random-hex-characters", "示例中的占位值"),  # deploy/.env.example's
        ("x", "长度只有 1 个字符"),
        ("dev", "至少需要 32 个"),
        ("smoke-secret", "至少需要 32 个"),
        ("CHANGEME-please-0123456789abcdefghijkl", "示例中的占位值"),
        ("your-secret-key-goes-here-0123456789abcdef", "示例中的占位值"),
        ("0" * 64, "字符过于单一"),
    ],
)
def test_production_refuses_short_or_placeholder_keys(tmp_path, key, reason):
    env = {"PERFTRACK_INSTANCE": str(tmp_path), "PERFTRACK_ENV": "production", "SECRET_KEY": key}
    with pytest.raises(SettingsError, match=f"SECRET_KEY 不能用于生产环境：.*{reason}"):
        load_settings(env)
    assert load_settings({**env, "PERFTRACK_ENV": "development"}).secret_key == key  # a laptop may
    assert load_settings({**env, "SECRET_KEY": STRONG_KEY}).secret_key == STRONG_KEY


@pytest.mark.processes  # the WSGI module imported in a child process
def test_the_app_does_not_start_in_production_with_the_example_key(tmp_path):
    """So no cookie signed with the published placeholder is ever accepted: there is no app to accept it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    example = dict(
        line.split("=", 1)
        for line in (root / "deploy" / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    env = {
        **os.environ,
        "PERFTRACK_ENV": "production",
        "SECRET_KEY": example["SECRET_KEY"],
        "PERFTRACK_INSTANCE": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    started = subprocess.run(
        [sys.executable, "-c", "import service.wsgi"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode != 0 and "SECRET_KEY 不能用于生产环境" in started.stderr


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, 0),  # served directly (perftrack web / dev): no proxy header is believed
        ({"PERFTRACK_ENV": "production", "SECRET_KEY": STRONG_KEY}, 1),  # behind the shipped nginx
        ({"PERFTRACK_ENV": "production", "SECRET_KEY": STRONG_KEY, "PERFTRACK_PROXY_HOPS": "2"}, 2),
        ({"PERFTRACK_ENV": "production", "SECRET_KEY": STRONG_KEY, "PERFTRACK_PROXY_HOPS": "0"}, 0),
    ],
)
def test_trusted_proxy_hops(tmp_path, env, expected):
    assert load_settings({"PERFTRACK_INSTANCE": str(tmp_path), **env}).proxy_hops == expected


@pytest.mark.parametrize(
    "env, name",
    [
        ({"PERFTRACK_PROXY_HOPS": "-1"}, "PERFTRACK_PROXY_HOPS"),
        ({"PERFTRACK_TOKEN_DAYS": "0"}, "PERFTRACK_TOKEN_DAYS"),
        ({"PERFTRACK_PASSWORD_MIN_LENGTH": "6"}, "PERFTRACK_PASSWORD_MIN_LENGTH"),
        ({"PERFTRACK_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8,intranet"}, "PERFTRACK_WEBHOOK_ALLOWED_NETWORKS"),
    ],
)
def test_bad_security_settings_name_the_variable(tmp_path, env, name):
    with pytest.raises(SettingsError, match=name):
        load_settings({"PERFTRACK_INSTANCE": str(tmp_path), **env})


def test_wall_time_runs_while_the_day_is_fixed():
    from datetime import datetime

    clock = Clock("Asia/Shanghai")
    clock.set_today(date(2025, 3, 31))
    assert abs((clock.wall_now() - datetime.now(UTC)).total_seconds()) < 5
    assert clock.now().date() == date(2025, 3, 31)
