"""Benchmark: the quarter-end rush through the real web stack.  gunicorn (4 workers) on SQLite (the
one-machine default) or on a PostgreSQL server the bench starts (--postgres), N simulated reporters
(default 200, each its own division of ~50 indicators) and finance reading the overview, over loopback only,
stopped after --max-seconds.

The load is open: reporters arrive at random (a Poisson process of --arrival-rate reporters a second)
whatever the server's pace, and each then works through its session with a random think time (mean
--think-seconds) before each step a person takes: log in, open the Q3 form, save it, save changed values,
submit it; after each save and the submission the browser follows the redirect back to the form.  That is
9 requests a reporter, so the offered load is about 9 x the arrival rate (requests/s), plus finance.  The
think time only decides how many sessions are open at once (the arrival rate times a session's length);
the offered requests per second come from the arrival rate alone.  --closed N replaces this with the
saturation test: N reporters at once, back to back, no think time, which measures capacity, not latency
under a rush (its latency is mostly the queue it builds itself).

Why 1 reporter a second by default: a province of up to a million indicators files about 20,000 reports
of ~50 indicators a quarter; if half of them come in the last two working days and the busiest hour carries
a fifth of a day, that is about 1,000 reports an hour (0.3 a second).  The default offers 3.6 times that.

Afterwards the database is checked: every indicator of every report holds exactly one current value, the
one its reporter saved last, and the report is submitted at the version its reporter's writes made
(lost_writes counts whatever is not).  Targets: zero errors (no "database is locked", no 500), zero lost
or duplicated writes, save p99 under 300 ms on PostgreSQL.

    .venv/bin/python bench/load.py [--reporters 200] [--arrival-rate 1] [--think-seconds 3] [--postgres] [--json]
"""

from __future__ import annotations

import contextlib
import os
import random
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
    expected_first: dict[str, str]  # indicator code -> the value the first save stores
    expected_second: dict[str, str]
    expected: dict[str, str] = field(default_factory=dict)  # what its last save stored
    version: int | None = None  # the version its last write made
    state: str = "draft"  # the state its last write left the report in


class Pace:
    """When things happen: reporters' arrival times (a Poisson process) and think times (exponential), from
    one seed so that two runs offer the same load; CLOSED reporters at once, back to back, instead."""

    def __init__(self, arrival_rate: float, think_seconds: float, closed: int | None, seed: int) -> None:
        self.arrival_rate, self.closed = arrival_rate, closed
        self.think_seconds = 0.0 if closed else think_seconds
        self.random = random.Random(seed)
        self.lock = threading.Lock()

    def arrivals(self, count: int) -> list[float]:
        """Seconds from the start at which each reporter arrives."""
        if self.closed:
            return [0.0] * count
        moments, now = [], 0.0
        for _ in range(count):
            now += self.random.expovariate(self.arrival_rate)
            moments.append(now)
        return moments

    def think(self) -> None:
        if self.think_seconds:
            with self.lock:
                pause = self.random.expovariate(1 / self.think_seconds)
            time.sleep(pause)


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


def prepare(url: str, count: int, readers: int) -> tuple[list[Reporter], list[str]]:
    """A reporter account for each of COUNT divisions, and READERS finance accounts; the fields each will save."""
    engine = make_engine(url)
    reporters = []
    with session_scope(engine) as session:
        divisions = session.execute(select(Division.code).where(Division.code.like(f"S{YEAR % 100}%"))).scalars()
        for code in sorted(divisions)[:count]:
            username = f"r-{code.lower()}"
            create_user(session, username, username, "reporter", code, PASSWORD)
            scope = load_scope(session, YEAR, code, QUARTER)
            first, expected_first = _fields(scope, second=False)
            second, expected_second = _fields(scope, second=True)
            reporters.append(Reporter(username, code, first, second, expected_first, expected_second))
        finance = [f"finance-bench-{n}" for n in range(readers)]
        for username in finance:
            create_user(session, username, username, "finance", None, PASSWORD)
    engine.dispose()
    return reporters, finance


def login(timings: Timings, base: str, username: str, pace: Pace) -> requests.Session:
    client = requests.Session()
    # One connection a request, as nginx in front of gunicorn talks to it (deploy/nginx.conf keeps no upstream
    # connection alive): a kept-alive connection idle for a think time longer than gunicorn's 2 s keepalive
    # is closed by the server while the bench may be sending on it, an error no browser behind nginx sees.
    client.headers["Connection"] = "close"
    page = timings.request(client, "login_form", "GET", f"{base}/login")
    pace.think()  # typing the password
    token = TOKEN.search(page.text).group(1)
    answer = timings.request(
        client, "login", "POST", f"{base}/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login {username}: {answer.status_code}")
    return client


def report_once(timings: Timings, base: str, reporter: Reporter, pace: Pace, stop_at: float) -> None:
    """One reporter's session: log in, open the form, save it twice and submit it, thinking before each step
    a person takes; the browser follows every redirect back to the form at once."""
    client = login(timings, base, reporter.username, pace)
    url = f"{base}/reports/{reporter.division}/{PERIOD}"
    page = timings.request(client, "form", "GET", url)
    steps = ((reporter.first, reporter.expected_first, ""), (reporter.second, reporter.expected_second, ""))
    for fields, expected, then in (*steps, (reporter.second, reporter.expected_second, "submit")):
        pace.think()  # filling in the form
        if time.perf_counter() > stop_at:
            return
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
        # a save that changes something, or the submission of an unchanged form, moves the version by one
        reporter.version, reporter.expected = version + 1, expected
        reporter.state = "submitted" if then else "draft"
        page = timings.request(client, "form", "GET", url)  # the redirect


def finance_reads(timings: Timings, base: str, username: str, pace: Pace, stop: threading.Event) -> None:
    client = login(timings, base, username, pace)
    while not stop.is_set():
        timings.request(client, "overview", "GET", f"{base}/overview?year={YEAR}")
        if pace.think_seconds:
            pace.think()
        else:  # the closed test: finance refreshes five times a second
            time.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process PID and its children alive now (gunicorn's master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    total = 0
    for one in pids:
        with contextlib.suppress(FileNotFoundError):
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


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
            if report.version != reporter.version or report.state != reporter.state:
                lost += 1
                expected = f"{reporter.state} v{reporter.version}"
                why.append(f"{reporter.division}: {report.state} v{report.version}, expected {expected}")
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


SERVER_TIME_FORMAT = "%(m)s %(U)s %(M)s"  # method, path, milliseconds gunicorn spent on the request


def server_times(access_log: Path) -> dict[str, list[float]]:
    """Milliseconds each request kind spent inside gunicorn, from its access log: what the client saw minus
    that is the wait for a free worker thread (and the network)."""
    kinds: dict[str, list[float]] = {}
    for line in access_log.read_text().splitlines():
        method, path, milliseconds = line.split()
        if path == "/login":
            kind = "login" if method == "POST" else "login_form"
        elif path.startswith("/reports/"):
            kind = "save" if method == "POST" else "form"
        elif path == "/overview":
            kind = "overview"
        else:
            continue
        kinds.setdefault(kind, []).append(float(milliseconds))
    return kinds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


REQUESTS_PER_REPORTER = 9  # login form, login, the form, 2 saves and a submission each followed by the form


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--reporters", type=int, default=200)
    arguments.add_argument("--arrival-rate", type=float, default=1.0, help="reporters arriving a second (Poisson)")
    arguments.add_argument("--think-seconds", type=float, default=3.0, help="mean think time before each step")
    arguments.add_argument("--finance-readers", type=int, default=2, help="finance staff reading the overview")
    arguments.add_argument("--closed", type=int, metavar="N", help="saturation instead: N reporters at once, no pause")
    arguments.add_argument("--seed", type=int, default=1)
    arguments.add_argument("--web-workers", type=int, default=4)
    arguments.add_argument("--max-seconds", type=float, default=600.0, help="stop starting new steps after this")
    arguments.add_argument("--postgres", action="store_true", help="on a PostgreSQL server the bench starts")
    args = arguments.parse_args()
    if not 1 <= args.reporters <= MAX_REPORTERS:
        raise SystemExit(f"--reporters must be 1..{MAX_REPORTERS}")
    if args.arrival_rate <= 0 or args.think_seconds < 0 or (args.closed is not None and args.closed < 1):
        raise SystemExit("--arrival-rate must be positive, --think-seconds not negative, --closed at least 1")
    figures = Figures(args)
    pace = Pace(args.arrival_rate, args.think_seconds, args.closed, args.seed)
    clock.set_today(TODAY)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        server_url = servers.enter_context(postgres()) if args.postgres else None
        url = synthetic_database(tmp, [(YEAR, 50 * args.reporters, args.reporters)], server_url)
        reporters, finance = prepare(url, args.reporters, args.finance_readers)
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
        access_log = Path(tmp) / "access.log"
        web = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "service.wsgi:app"]
            + ["--access-logfile", str(access_log), "--access-logformat", SERVER_TIME_FORMAT],
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
        time.sleep(1)  # every worker booted, not only the one that answered
        timings, stop, failures, failed = Timings(), threading.Event(), [], threading.Lock()
        server_cpu, client_cpu = cpu_seconds(web.pid), time.process_time()
        start = time.perf_counter()
        stop_at = start + args.max_seconds

        def run(reporter: Reporter) -> None:
            try:
                report_once(timings, base, reporter, pace, stop_at)
            except RuntimeError as exc:
                with failed:
                    failures.append(str(exc))

        readers = [
            threading.Thread(target=finance_reads, args=(timings, base, name, pace, stop), daemon=True)
            for name in finance
        ]
        for reader in readers:
            reader.start()
        if args.closed:
            with ThreadPoolExecutor(max_workers=args.closed) as pool:
                list(pool.map(run, reporters))
        else:
            sessions = []
            for reporter, moment in zip(reporters, pace.arrivals(len(reporters)), strict=True):
                time.sleep(max(0.0, start + moment - time.perf_counter()))
                if time.perf_counter() > stop_at:
                    break
                sessions.append(threading.Thread(target=run, args=(reporter,), daemon=True))
                sessions[-1].start()
            for session in sessions:
                session.join()
        elapsed = time.perf_counter() - start
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
        server_cpu, client_cpu = cpu_seconds(web.pid) - server_cpu, time.process_time() - client_cpu
        lost, checked, why = lost_writes(url, reporters)
        in_server = server_times(access_log)
    kinds = {}
    for kind, seconds in sorted(timings.seconds.items()):
        kinds[kind] = {
            "count": len(seconds),
            "p50_ms": round(percentile(seconds, 0.50) * 1000, 1),
            "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 1),
            "errors": timings.errors.get(kind, 0),
        }
    server_kinds = {
        kind: {f"p{share}_ms": round(percentile(ms, share / 100), 1) for share in (50, 95, 99)}
        for kind, ms in sorted(in_server.items())
    }
    requests_done = sum(len(s) for s in timings.seconds.values())
    offered = (
        None
        if args.closed
        else round(
            args.arrival_rate * REQUESTS_PER_REPORTER
            + (args.finance_readers / args.think_seconds if args.think_seconds else 0),
            1,
        )
    )
    figures.add(
        database="postgresql" if args.postgres else "sqlite",
        web_workers=args.web_workers,
        reporters=args.reporters,
        load="closed" if args.closed else "open",
        arrival_rate=None if args.closed else args.arrival_rate,
        think_seconds=pace.think_seconds,
        closed=args.closed,
        finance_readers=args.finance_readers,
        offered_rps=offered,
        seconds=round(elapsed, 2),
        throughput_rps=round(requests_done / elapsed, 1),
        server_cpu_ms_per_request=round(server_cpu / requests_done * 1000, 1),
        client_cpu_s=round(client_cpu, 1),
        kinds=kinds,
        in_server=server_kinds,
        errors=sum(timings.errors.values()),
        reporters_failed=len(failures),
        reports_checked=checked,
        lost_writes=lost,
    )
    load = (
        f"closed loop, {args.closed} reporters at once without pause"
        if args.closed
        else f"open loop, {args.arrival_rate:g} reporters arriving a second, think time {args.think_seconds:g} s "
        f"(offered about {offered} requests/s)"
    )
    figures.say(
        f"quarter-end rush on {figures.values['database']}, gunicorn {args.web_workers} workers: {args.reporters} "
        f"reporters and {args.finance_readers} finance readers, {load}: {elapsed:.1f} s, "
        f"{requests_done / elapsed:.1f} requests/s; server CPU {figures.values['server_cpu_ms_per_request']} ms a "
        f"request, the bench's own CPU {client_cpu:.1f} s"
    )
    for kind, row in kinds.items():
        figures.say(
            f"  {kind:<11} n={row['count']:<5} p50 {row['p50_ms']:.0f} ms  p95 {row['p95_ms']:.0f} ms  "
            f"p99 {row['p99_ms']:.0f} ms  errors {row['errors']}"
        )
    figures.say(
        "  in gunicorn (from reading the request to the response; save includes the submissions): "
        + "; ".join(f"{kind} p50 {row['p50_ms']:.0f} p99 {row['p99_ms']:.0f} ms" for kind, row in server_kinds.items())
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
