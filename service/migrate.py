"""Running the Alembic migrations from code (`perftrack db upgrade`, tests, `make run`).

The migrations ship inside the `service` package (`service/migrations`), so an installed wheel
finds them as package data wherever it is installed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = "service:migrations"  # Alembic's package-resource form


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
