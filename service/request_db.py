"""The database session of the current web or API request: one per request, closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlmodel import Session


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(current_app.extensions["perftrack.engine"], expire_on_commit=False)
    return g.db_session


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
