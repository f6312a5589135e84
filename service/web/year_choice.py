"""The year a page shows: ?year=, else the one picked in the header's selector (kept in the session
cookie), else the latest.  Apart from the pages so that every page module can ask without importing them."""

from __future__ import annotations

from flask import request
from flask import session as cookie

from ..queries import years
from ..request_db import get_session


def selected_year() -> int | None:
    """The year the pages show: ?year=, else the one picked in the header, else the latest."""
    known = years(get_session())
    for wanted in (request.args.get("year", type=int), cookie.get("year")):
        if wanted in known:
            return wanted
    return known[0] if known else None
