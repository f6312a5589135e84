"""The year a page shows: ?year=, else the one picked in the header's selector (kept in the session
cookie), else the latest.  Apart from the pages so that every page module can ask without importing them."""

from __future__ import annotations

from flask import request
from flask import session as cookie
from werkzeug.exceptions import BadRequest

from ..queries import years
from ..request_db import get_session

YEARS = range(2000, 2101)  # the budget years an import accepts


def year_arg(values=None) -> int | None:
    """The `year` of the query string (or VALUES), None when absent; 400 when it is not a budget year."""
    text = (request.args if values is None else values).get("year", "").strip()
    if not text:
        return None
    if not (text.isascii() and text.lstrip("-").isdigit()) or int(text) not in YEARS:
        raise BadRequest(f"年度「{text[:20]}」无效：应为 {YEARS.start}–{YEARS.stop - 1} 之间的年份")
    return int(text)


def selected_year() -> int | None:
    """The year the pages show: ?year=, else the one picked in the header, else the latest."""
    known = years(get_session())
    for wanted in (year_arg(), cookie.get("year")):
        if wanted in known:
            return wanted
    return known[0] if known else None
