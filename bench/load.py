"""Benchmark: the quarter-end rush through the real web stack.  gunicorn (4 workers) on SQLite (the
one-machine default) or on a PostgreSQL server the bench starts (--postgres), N simulated reporters
(default 200, each its own division of ~50 indicators) each logging in, opening their Q3 form, saving it,
opening it again, saving changed values, opening it again and submitting it, while finance reads the
overview; at most --concurrency at once, over loopback only, stopped after --max-seconds.

Afterwards the database is checked: every indicator of every report holds exactly one current value, the
one its reporter saved last, and the report is submitted at the version its reporter's writes made
(lost_writes counts whatever is not).  Targets: zero errors (no "database is locked", no 500), zero lost
or duplicated writes, save p99 under 300 ms on PostgreSQL.

    .venv/bin/python bench/load.py [--reporters 200] [--concurrency 40] [--postgres] [--json]
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402
from figures import Figures, parser  # noqa: E402
from reporting_helpers import on_track  # noqa: E402
from servers import free_port, postgres  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from synthetic import synthetic_database  # noqa: E402

from service.accounts import create_user  # noqa: E402
from service.clock import clock  # noqa: E402
from service.db import make_engine, session_scope  # noqa: E402
from service.models import ActualEntry, Division, FiscalYear, Report  # noqa: E402
from service.reporting.reports import load_scope  # noqa: E402

YEAR, QUARTER, TODAY = 2030, 3, date(2030, 10, 8)  # Q3 open, its report due: the rush
PERIOD = f"{YEAR}Q{QUARTER}"
PASSWORD = "bench-load-password"
MAX_REPORTERS = 1000
SECOND = "第二次保存"  # what the second save adds to every text value (stored as typed)
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


@dataclass
class Reporter:
    username: str
    division: str
    first: dict[str, str]  # the form fields of the first save
    second: dict[str, str]  # of the second: texts changed
    expected: dict[str, str] = field(default_factory=dict)  # indicator code -> the value stored last
    version: int | None = None  # the version its submit made


class Timings:
    """Latency per request kind, errors with their first lines, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.samples: list[str] = []

    def request(self, client: requests.Session, kind: str, method: str, url: str, **kwargs) -> requests.Response:
        start = time.perf_counter()
        try:
            response = client.request(method, url, allow_redirects=False, timeout=60, **kwargs)
            failed = response.status_code >= 400 and response.status_code != 409
            sample = f"{kind} {response.status_code}: {response.text[:200]!r}" if failed else ""
        except requests.RequestException as exc:
            response, failed, sample = None, True, f"{kind}: {exc}"
        elapsed = time.perf_counter() - start
        with self.lock:
            self.seconds.setdefault(kind, []).append(elapsed)
            if failed:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.samples) < 5:
                    self.samples.append(sample)
        if response is None or failed:
            raise RuntimeError(sample)
        return response


def _fields(scope, second: bool) -> tuple[dict[str, str], dict[str, str]]:
    """The form fields of a save, and the value each indicator then stores (as text)."""
    fields, expected = {}, {}
    for code, (indicator, _p) in scope.indicators.items():
        raw = on_track(indicator, TODAY)
        if indicator.kind == "deadline":
            fields[f"ds-{code}"] = "done"
        elif indicator.kind == "qualitative" and second:
            raw.value += SECOND
        fields[f"v-{code}"], fields[f"l-{code}"] = raw.value, raw.likelihood
        expected[code] = raw.value
    for code, project in scope.projects.items():
        fields[f"sp-{code}"] = str((project.budget * Decimal("0.7")).quantize(Decimal("0.01")))
    return fields, expected


def prepare(url: str, count: int) -> tuple[list[Reporter], list[str]]:
    """A reporter account for each of COUNT divisions, and finance's; the fields each will save."""
    engine = make_engine(url)
    reporters = []
    with session_scope(engine) as session:
        divisions = session.execute(select(Division.code).where(Division.code.like(f"S{YEAR % 100}%"))).scalars()
        for code in sorted(divisions)[:count]:
            username = f"r-{code.lower()}"
            create_user(session, username, username, "reporter", code, PASSWORD)
            scope = load_scope(session, YEAR, code, QUARTER)
            first, _ = _fields(scope, second=False)
            second, expected = _fields(scope, second=True)
            reporters.append(Reporter(username, code, first, second, expected))
        create_user(session, "finance-bench", "finance-bench", "finance", None, PASSWORD)
    engine.dispose()
    return reporters, ["finance-bench"]


def login(timings: Timings, base: str, username: str) -> requests.Session:
    client = requests.Session()
    page = timings.request(client, "login_form", "GET", f"{base}/login")
    token = TOKEN.search(page.text).group(1)
    answer = timings.request(
        client, "login", "POST", f"{base}/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login {username}: {answer.status_code}")
    return client


def report_once(timings: Timings, base: str, reporter: Reporter, stop_at: float) -> None:
    client = login(timings, base, reporter.username)
    url = f"{base}/reports/{reporter.division}/{PERIOD}"
    for fields, then in ((reporter.first, ""), (reporter.second, ""), (reporter.second, "submit")):
        if time.perf_counter() > stop_at:
            return
        page = timings.request(client, "form", "GET", url)
        token, version = TOKEN.search(page.text).group(1), int(VERSION.search(page.text).group(1))
        kind = "submit" if then else "save"
        answer = timings.request(
            client,
            kind,
            "POST",
            f"{url}/save",
            data={**fields, "csrf_token": token, "version": str(version), "then": then},
        )
        if answer.status_code != 302:
            raise RuntimeError(f"{kind} {reporter.division}: {answer.status_code} {answer.text[:300]!r}")
        reporter.version = version + 1  # a save that changes something, or the submission of an unchanged form


def finance_reads(timings: Timings, base: str, username: str, stop: threading.Event) -> None:
    client = login(timings, base, username)
    while not stop.is_set():
        timings.request(client, "overview", "GET", f"{base}/overview?year={YEAR}")
        time.sleep(0.2)


def lost_writes(url: str, reporters: list[Reporter]) -> tuple[int, int, list[str]]:
    """(reports with a value missing, stored twice or not the one saved last, or not submitted at the version
    their reporter's writes made; reports checked; what was wrong with the first few)."""
    engine = make_engine(url)
    lost, why = 0, []
    with session_scope(engine) as session:
        year_id = session.execute(select(FiscalYear.id).where(FiscalYear.year == YEAR)).scalar_one()
        for reporter in reporters:
            if reporter.version is None:
                continue
            report = session.execute(
                select(Report)
                .join(Division, Division.id == Report.division_id)
                .where(Report.fiscal_year_id == year_id, Report.quarter == QUARTER, Division.code == reporter.division)
            ).scalar_one_or_none()
            if report is None:  # its writes were all lost
                lost += 1
                why.append(f"{reporter.division}: no report")
                continue
            if report.version != reporter.version or report.state != "submitted":
                lost += 1
                why.append(f"{reporter.division}: {report.state} v{report.version}, expected v{reporter.version}")
                continue
            stored = session.execute(
                select(
                    ActualEntry.indicator_id, func.count(), func.max(ActualEntry.progress), func.max(ActualEntry.number)
                )
                .where(ActualEntry.report_id == report.id, ActualEntry.is_current.is_(True))
                .group_by(ActualEntry.indicator_id)
            ).all()
            texts = {p for _i, _c, p, _n in stored if p}
            if len(stored) != len(reporter.expected) or any(count != 1 for _i, count, _p, _n in stored):
                lost += 1
                why.append(f"{reporter.division}: {len(stored)} current values for {len(reporter.expected)}")
            elif any(value.endswith(SECOND) and value not in texts for value in reporter.expected.values()):
                lost += 1
                why.append(f"{reporter.division}: a text of the second save is not stored: {sorted(texts)[:2]}")
    engine.dispose()
    return lost, sum(r.version is not None for r in reporters), why


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--reporters", type=int, default=200)
    arguments.add_argument("--concurrency", type=int, default=40, help="reporters at once")
    arguments.add_argument("--web-workers", type=int, default=4)
    arguments.add_argument("--max-seconds", type=float, default=300.0, help="stop starting new requests after this")
    arguments.add_argument("--postgres", action="store_true", help="on a PostgreSQL server the bench starts")
    args = arguments.parse_args()
    if not 1 <= args.reporters <= MAX_REPORTERS:
        raise SystemExit(f"--reporters must be 1..{MAX_REPORTERS}")
    figures = Figures(args)
    clock.set_today(TODAY)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        server_url = servers.enter_context(postgres()) if args.postgres else None
        url = synthetic_database(tmp, [(YEAR, 50 * args.reporters, args.reporters)], server_url)
        reporters, finance = prepare(url, args.reporters)
        port = free_port()
        env = {
            "DATABASE_URL": url,
            "PERFTRACK_INSTANCE": tmp,
            "SECRET_KEY": "bench-load-secret-key-of-thirty-two-chars",
            "PERFTRACK_TODAY": TODAY.isoformat(),
            "PERFTRACK_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(args.web_workers),
            "PATH": "/usr/bin:/bin",
        }
        web = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "service.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(tmp) / "web.log", "w"),  # noqa: SIM115 (closed with the directory)
        )
        servers.callback(lambda: (web.terminate(), web.wait(timeout=30)))
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                requests.get(f"{base}/login", timeout=10)
                break
            except requests.RequestException:
                if time.time() > deadline or web.poll() is not None:
                    raise SystemExit((Path(tmp) / "web.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        timings, stop = Timings(), threading.Event()
        reader = threading.Thread(target=finance_reads, args=(timings, base, finance[0], stop), daemon=True)
        reader.start()
        start = time.perf_counter()
        stop_at = start + args.max_seconds
        failures = []
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            for future in [pool.submit(report_once, timings, base, r, stop_at) for r in reporters]:
                try:
                    future.result()
                except RuntimeError as exc:
                    failures.append(str(exc))
        elapsed = time.perf_counter() - start
        stop.set()
        reader.join(timeout=30)
        lost, checked, why = lost_writes(url, reporters)
    kinds = {}
    for kind, seconds in sorted(timings.seconds.items()):
        kinds[kind] = {
            "count": len(seconds),
            "p50_ms": round(percentile(seconds, 0.50) * 1000, 1),
            "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 1),
            "errors": timings.errors.get(kind, 0),
        }
    requests_done = sum(len(s) for s in timings.seconds.values())
    figures.add(
        database="postgresql" if args.postgres else "sqlite",
        web_workers=args.web_workers,
        reporters=args.reporters,
        concurrency=args.concurrency,
        seconds=round(elapsed, 2),
        throughput_rps=round(requests_done / elapsed, 1),
        kinds=kinds,
        errors=sum(timings.errors.values()),
        reporters_failed=len(failures),
        reports_checked=checked,
        lost_writes=lost,
    )
    figures.say(
        f"quarter-end rush on {figures.values['database']}, gunicorn {args.web_workers} workers: {args.reporters} "
        f"reporters ({args.concurrency} at once) in {elapsed:.1f} s, {requests_done / elapsed:.1f} requests/s"
    )
    for kind, row in kinds.items():
        figures.say(
            f"  {kind:<11} n={row['count']:<5} p50 {row['p50_ms']:.0f} ms  p95 {row['p95_ms']:.0f} ms  "
            f"p99 {row['p99_ms']:.0f} ms  errors {row['errors']}"
        )
    figures.say(
        f"errors: {sum(timings.errors.values())} {timings.samples[:3]}; reports checked {checked}, "
        f"lost or duplicated writes: {lost} (targets: 0 errors, 0 lost, save p99 < 300 ms on PostgreSQL)"
    )
    if why:
        figures.say(f"lost or duplicated writes: {why[:3]}")
    if failures:
        figures.say(f"reporters that did not finish: {len(failures)}: {failures[:3]}")
    figures.done()


if __name__ == "__main__":
    main()
