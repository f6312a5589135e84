"""Configuration from the environment, and the one clock."""
from __future__ import annotations

from datetime import date, timezone

import pytest

from service.clock import Clock
from service.settings import SettingsError, load_settings


def test_defaults_and_generated_secret(tmp_path):
    settings = load_settings({"PERFTRACK_INSTANCE": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'perftrack.db'}"
    assert settings.timezone == "Asia/Shanghai" and settings.redis_url is None
    assert len(settings.secret_key) == 64
    assert load_settings({"PERFTRACK_INSTANCE": str(tmp_path)}).secret_key == settings.secret_key  # kept in instance/


def test_postgres_url_uses_psycopg(tmp_path):
    settings = load_settings({"PERFTRACK_INSTANCE": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("env, name", [
    ({"PERFTRACK_ENV": "production"}, "SECRET_KEY"),
    ({"PERFTRACK_TIMEZONE": "Mars/Olympus"}, "PERFTRACK_TIMEZONE"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"PERFTRACK_TODAY": "2025-13-01"}, "PERFTRACK_TODAY"),
])
def test_bad_settings_name_the_variable(tmp_path, env, name):
    with pytest.raises(SettingsError, match=name):
        load_settings({"PERFTRACK_INSTANCE": str(tmp_path), **env})


def test_clock_fixed_day_is_local_and_stored_as_utc():
    clock = Clock("Asia/Shanghai")
    clock.set_today(date(2025, 3, 31))
    assert clock.today() == date(2025, 3, 31)
    assert clock.now().tzinfo == timezone.utc and clock.now().hour == 1  # 09:00 in Shanghai
    clock.set_today(None)
    assert clock.now().tzinfo == timezone.utc
