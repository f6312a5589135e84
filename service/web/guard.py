"""Input no part of the service can store is refused at the door, for every page and API call.

A NUL cannot be stored by PostgreSQL and a lone surrogate cannot be encoded by anything, so a
request carrying either in its path, query, form or JSON is answered 400 with the reason before
any view runs (and before the database is asked).  JSON nested deeper than the parser can
follow is refused the same way.  Fields are then normalised by `domain.inputs.clean_text`.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest

from ..domain.inputs import unstorable
from . import web_bp


@web_bp.before_app_request
def refuse_unstorable_input():
    texts = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        texts += [*request.form.keys(), *request.form.values(), *(f.filename or "" for f in request.files.values())]
    if request.is_json:
        try:
            texts += _json_strings(request.get_json(silent=True))
        except RecursionError as exc:
            raise BadRequest("请求的 JSON 嵌套层级过深") from exc
    for text in texts:
        problem = unstorable(text)
        if problem:
            raise BadRequest(f"请求{problem}")


def _json_strings(value) -> list[str]:
    """Every key and string of a JSON document, walked without recursion."""
    strings, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            strings += [k for k in item if isinstance(k, str)]
            stack += item.values()
        elif isinstance(item, list):
            stack += item
    return strings
