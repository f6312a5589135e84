"""Concurrent writers against a real threaded server, on SQLite (WAL) and PostgreSQL.

Exactly one of N writers holding the same If-Match wins; the others get 412, never 500,
and no acknowledged save is lost or shares its version with another.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from .conftest import make_app

URL = "/api/v1/reports/WMC/2025Q3"
AREA = "2025-023.04"  # 参展面积 ≥8000平方米: cumulative, decimals allowed
TODAY = "2025-10-05"  # Q3 is open, not yet due


@dataclass
class Server:
    base: str
    token: str
    engine: object

    def call(self, method: str, path: str, body: dict | None = None, if_match: str | None = None):
        """(status, json body, ETag) of one request; 4xx/5xx are answers, not exceptions."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"null"), response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode(errors="replace")
            return error.code, parsed, error.headers.get("ETag")

    def rows(self, sql: str) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(sql))]


WMC = ("wmc", "reporter", "WMC")


def _sqlite_with_wmc(seeded_url: str) -> tuple[str, dict[str, str]]:
    from service.accounts import create_user, issue_token
    from service.db import make_engine, session_scope

    from .conftest import PASSWORD

    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        username, role, division = WMC
        user = create_user(session, username, username, role, division, PASSWORD)
        token = issue_token(session, user, "tests").token
    engine.dispose()
    return seeded_url, {"wmc": token}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request, tmp_path):
    if request.param == "sqlite":
        url, tokens = _sqlite_with_wmc(request.getfixturevalue("seeded_url"))
    else:
        url, tokens = request.getfixturevalue("postgres_seeded")
    app = make_app(url, tmp_path / "instance", env={"PERFTRACK_TODAY": TODAY})
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{http.server_port}", tokens["wmc"], app.extensions["perftrack.engine"])
    http.shutdown()
    app.extensions["perftrack.engine"].dispose()


def _all_at_once(count: int, work) -> list:
    """Run WORK(i) in COUNT threads released together; their results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def _value(number: str) -> dict:
    return {"actuals": [{"indicator": AREA, "value": number, "likelihood": "确定能"}]}


def _area_entries(server: Server) -> list[tuple[int, Decimal, bool]]:
    rows = server.rows(
        "SELECT e.report_version, e.number, e.is_current FROM actual_entry e JOIN indicator i ON i.id = e.indicator_id "
        f"WHERE i.code = '{AREA}' ORDER BY e.report_version"
    )
    return [(version, Decimal(str(number)), bool(current)) for version, number, current in rows]


def test_one_of_32_writers_with_the_same_if_match_wins(server):
    assert server.call("PUT", URL, _value("100"), if_match="0")[0] == 200
    answers = _all_at_once(32, lambda i: server.call("PUT", URL, _value(str(1000 + i)), if_match="1"))
    statuses = sorted(status for status, _body, _etag in answers)
    assert statuses == [200] + [412] * 31, [a for a in answers if a[0] not in (200, 412)]
    winner = next(i for i, (status, _b, _e) in enumerate(answers) if status == 200)
    assert answers[winner][1]["version"] == 2 and answers[winner][2] == '"2"'
    assert all("已被他人修改" in body["message"] for status, body, _e in answers if status == 412)
    assert server.rows("SELECT version FROM report") == [(2,)]
    assert _area_entries(server) == [(1, Decimal(100), False), (2, Decimal(1000 + winner), True)]
    assert server.rows("SELECT version FROM report_event ORDER BY version") == [(1,), (2,)]


def test_sixteen_concurrent_first_saves_create_one_report(server):
    answers = _all_at_once(16, lambda i: server.call("PUT", URL, _value(str(10 + i)), if_match="0"))
    statuses = sorted(status for status, _body, _etag in answers)
    assert statuses == [200] + [412] * 15, [a for a in answers if a[0] not in (200, 412)]
    assert server.rows("SELECT version FROM report") == [(1,)]
    assert [(v, c) for v, _n, c in _area_entries(server)] == [(1, True)]


def test_twenty_identical_puts_of_a_long_decimal_make_one_version(server):
    long_decimal = "99999999999.9999"
    answers = [server.call("PUT", URL, _value(long_decimal), if_match="0") for _ in range(20)]
    assert [(status, body["version"], body["changed"]) for status, body, _e in answers] == (
        [(200, 1, True)] + [(200, 1, False)] * 19
    )
    racing = _all_at_once(20, lambda i: server.call("PUT", URL, _value("12345678901.2345"), if_match="1"))
    assert {status for status, _b, _e in racing} <= {200, 412}
    assert sum(1 for status, body, _e in racing if status == 200 and body["changed"]) == 1
    assert _area_entries(server) == [(1, Decimal(long_decimal), False), (2, Decimal("12345678901.2345"), True)]
    assert server.call("GET", URL)[1]["version"] == 2


@pytest.mark.slow
def test_writers_and_readers_never_share_a_version(server):
    """Four writers read the ETag and write a value of their own until each has saved four times,
    while two readers keep reading: every acknowledged save has its own version and is stored."""
    assert server.call("PUT", URL, _value("1"), if_match="0")[0] == 200
    acknowledged: list[tuple[int, str]] = [(1, "1")]
    failures: list = []
    reads: list[int] = []
    done = threading.Event()

    def writer(index: int) -> None:
        saved, attempt = 0, 0
        while saved < 4 and attempt < 200:
            attempt += 1
            status, body, etag = server.call("GET", URL)
            if status != 200:
                failures.append(("GET", status, body))
                return
            value = f"{index + 1}{attempt:03d}.25"
            status, body, _ = server.call("PUT", URL, _value(value), if_match=etag.strip('"'))
            if status == 200 and body["changed"]:
                acknowledged.append((body["version"], value))
                saved += 1
            elif status != 412:
                failures.append(("PUT", status, body))
                return

    def reader(_index: int) -> None:
        # a read about every 10 ms: several during each save, without the two readers taking most of the GIL
        # and CPU from the writers they are meant to watch
        while not done.wait(0.01):
            status, body, etag = server.call("GET", URL)
            if status != 200 or etag != f'"{body["version"]}"':
                failures.append(("read", status, etag))
                return
            reads.append(body["version"])

    readers = [threading.Thread(target=reader, args=(i,)) for i in range(2)]
    for t in readers:
        t.start()
    _all_at_once(4, writer)
    done.set()
    for t in readers:
        t.join(timeout=60)
    assert failures == []
    assert len(set(reads)) > 4, reads  # the readers saw the report change under them, not once
    versions = [version for version, _value in acknowledged]
    assert len(acknowledged) == 17 and len(set(versions)) == 17
    stored = {version: number for version, number, _current in _area_entries(server)}
    assert {version: Decimal(value) for version, value in acknowledged} == stored
    events = server.rows("SELECT version FROM report_event WHERE action = 'save' ORDER BY version")
    assert [v for (v,) in events] == sorted(versions)
    assert server.rows("SELECT version FROM report") == [(max(versions),)]
