"""security hardening: per-destination webhook secrets, session epochs, token expiry

Revision ID: 0005_security_hardening
Revises: 0004
Create Date: 2026-12-02 10:00:00

Existing webhook destinations get a fresh random signing secret (their receivers must be given
it: 通知设置 shows it); existing API tokens expire 90 days after the upgrade rather than at once.
"""

import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005_security_hardening"
down_revision = "0004"
branch_labels = None
depends_on = None

EXISTING_TOKEN_GRACE = timedelta(days=90)


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default=sa.text("0")))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))

    connection = op.get_bind()
    users = sa.table(
        "app_user",
        sa.column("id", sa.Integer()),
        sa.column("webhook_url", sa.String()),
        sa.column("webhook_secret", sa.String()),
    )
    for (user_id,) in connection.execute(sa.select(users.c.id).where(users.c.webhook_url.is_not(None))).all():
        connection.execute(users.update().where(users.c.id == user_id).values(webhook_secret=secrets.token_hex(32)))
    expires = datetime.now(UTC) + EXISTING_TOKEN_GRACE
    if connection.dialect.name == "sqlite":  # stored as naive UTC there, as the models' UTCDateTime does
        expires = expires.replace(tzinfo=None)
    tokens = sa.table("api_token", sa.column("expires_at", sa.DateTime(timezone=True)))
    connection.execute(tokens.update().where(tokens.c.expires_at.is_(None)).values(expires_at=expires))

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
        batch_op.drop_column("webhook_secret")
