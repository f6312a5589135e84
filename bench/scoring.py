"""Benchmark: a final evaluation run over a synthetic bureau of 100,000 indicators whose year is closed (Q4
accepted, judgements graded, outcomes written), its preconditions checked (target < 30 s on SQLite,
set-based reads and writes), a trial over the same year, and a 1,000-project 自评表 workbook (target < 4 s):
downloaded from the page for a stored run, from the request to the workbook's last byte (median of
--workbook-runs), and computed as a trial in-process as `perftrack export self-evaluation` does.

    .venv/bin/python bench/scoring.py [--indicators 100000] [--postgres] [--workers N] [--json]

--postgres starts a PostgreSQL server of its own (as the tests do) instead of a SQLite file; --workers N
starts a Redis and N `perftrack worker` processes and times the final run as the job the page enqueues,
split into parts of --partition projects (PERFTRACK_PARTITION_PROJECTS), until the run is done.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from datetime import date  # noqa: E402

from figures import Figures, parser, timed_downloads  # noqa: E402
from servers import Workers, postgres, redis, worker_env  # noqa: E402
from sqlalchemy import event, select  # noqa: E402
from synthetic import synthetic_database  # noqa: E402

from service.accounts import create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.clock import clock  # noqa: E402
from service.db import make_engine, session_scope  # noqa: E402
from service.domain.vocabulary import RunKind, RunState  # noqa: E402
from service.evaluation import execute_run, start_run  # noqa: E402
from service.exports.self_evaluation import build_self_evaluation  # noqa: E402
from service.models import EvaluationRun, FiscalYear, Project  # noqa: E402
from service.queueing import queue  # noqa: E402
from service.settings import load_settings  # noqa: E402

TODAY = date(2031, 1, 10)  # after the year: a final run may start
PASSWORD = "bench-password-1"


def downloads(url: str, instance: str, run_id: int, runs: int) -> tuple[list[float], list[float], bytes]:
    """The 自评表 of a stored run as finance downloads it from the page: seconds (and CPU seconds) of each
    download from the request to the last byte, and the workbook."""
    app = create_app(
        load_settings({"DATABASE_URL": url, "PERFTRACK_INSTANCE": instance, "SECRET_KEY": "bench"}),
        WTF_CSRF_ENABLED=False,
    )
    client = app.test_client()
    client.post("/login", data={"username": "bench-finance", "password": PASSWORD})
    timings = timed_downloads(client, f"/self-evaluation/runs/{run_id}/workbook.xlsx", runs)
    app.extensions["perftrack.engine"].dispose()
    return timings


def split_run(engine, redis_url: str) -> tuple[float, int, str]:
    """A final run started as the page starts it and run by the workers: seconds until it is done."""
    start = time.perf_counter()
    with session_scope(engine) as session:
        run_id = start_run(session, 2030, "bench", kind=RunKind.FINAL).id
    queue(redis_url, "high").enqueue_call("workers.jobs.evaluation_run", args=(run_id,))
    while True:
        with session_scope(engine) as session:
            run = session.get(EvaluationRun, run_id)
            if run.state in (RunState.DONE, RunState.FAILED):
                if run.state == RunState.FAILED:
                    raise SystemExit(f"the run failed: {run.error}")
                return time.perf_counter() - start, run.total, run.kind
        time.sleep(0.05)


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--indicators", type=int, default=100_000)
    arguments.add_argument("--workbook-indicators", type=int, default=7000, help="of the workbook's year (7 a project)")
    arguments.add_argument("--postgres", action="store_true", help="on a PostgreSQL server the bench starts")
    arguments.add_argument("--workers", type=int, default=0, help="the final run through N RQ worker processes")
    arguments.add_argument("--partition", type=int, default=5000, help="projects per part with --workers")
    arguments.add_argument("--workbook-runs", type=int, default=3, help="downloads of the workbook timed")
    args = arguments.parse_args()
    figures = Figures(args)
    worker_peaks: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        server_url = servers.enter_context(postgres()) if args.postgres else None
        # 2031: a 1,000-project year for the workbook (7,000 indicators over 10 divisions)
        years = [(2030, args.indicators, 20, "--closed"), (2031, args.workbook_indicators, 10)]
        url = synthetic_database(tmp, years, server_url)
        engine = make_engine(url)
        statements = []
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
        clock.set_today(TODAY)
        if args.workers:
            redis_url = servers.enter_context(redis(tmp))
            env = worker_env(url, redis_url, tmp, args.partition, PERFTRACK_TODAY=TODAY.isoformat())
            workers = Workers(args.workers, env, tmp)
            run_seconds, projects, kind = split_run(engine, redis_url)
            run_cpu = None
            worker_peaks = workers.stop()
        else:
            with session_scope(engine) as session:
                start, cpu = time.perf_counter(), time.process_time()
                run = execute_run(session, start_run(session, 2030, "bench", kind=RunKind.FINAL), recheck=False)
                run_seconds, run_cpu = time.perf_counter() - start, time.process_time() - cpu
                projects, kind = run.total, run.kind
        queries = len(statements)
        with session_scope(engine) as session:
            start = time.perf_counter()
            execute_run(session, start_run(session, 2030, "bench"))
            trial_seconds = time.perf_counter() - start
        with session_scope(engine) as session:
            year_id = session.execute(select(FiscalYear.id).where(FiscalYear.year == 2031)).scalar_one()
            count = len(session.execute(select(Project.id).where(Project.fiscal_year_id == year_id)).all())
            start, cpu = time.perf_counter(), time.process_time()
            trial_data = build_self_evaluation(session, 2031)
            trial_book_seconds, trial_book_cpu = time.perf_counter() - start, time.process_time() - cpu
            create_user(session, "bench-finance", "财务", "finance", None, PASSWORD)
            book_run_id = execute_run(session, start_run(session, 2031, "bench")).id
        books, books_cpu, data = downloads(url, tmp, book_run_id, args.workbook_runs)
        export_seconds, export_cpu = statistics.median(books), statistics.median(books_cpu)
        engine.dispose()
    figures.add(
        database="postgresql" if args.postgres else "sqlite",
        workers=args.workers,
        indicators=args.indicators,
        projects=projects,
        run_s=round(run_seconds, 3),
        trial_s=round(trial_seconds, 3),
        workbook_projects=count,
        workbook_s=round(export_seconds, 3),
        workbook_cpu_s=round(export_cpu, 3),
        workbook_runs_s=[round(t, 3) for t in books],
        workbook_kb=len(data) // 1024,
        workbook_trial_s=round(trial_book_seconds, 3),
        workbook_trial_cpu_s=round(trial_book_cpu, 3),
        workbook_trial_kb=len(trial_data.getvalue()) // 1024,
    )
    if run_cpu is not None:
        figures.add(run_cpu_s=round(run_cpu, 3), run_statements=queries)
        how = f"in one process, {run_cpu:.2f} s of CPU, {queries} SQL statements"
    else:
        figures.add(worker_peak_rss_mb=max(worker_peaks), partition_projects=args.partition)
        how = f"split into parts of {args.partition} projects over {args.workers} workers"
    target = "< 30 s" if args.indicators <= 100_000 else "≤ 60 s for 1,000,000 indicators over 2 workers"
    figures.say(
        f"final evaluation run ({kind}, preconditions checked): {args.indicators} indicators in {projects} "
        f"projects scored and stored in {run_seconds:.2f} s ({how}) (target {target})"
    )
    figures.say(f"trial run over the same year: {trial_seconds:.2f} s")
    figures.say(
        f"自评表 workbook: {count} projects, one sheet each plus summary and findings, {len(data) // 1024} KB, "
        f"downloaded for a stored run in {export_seconds:.2f} s from the request to the last byte (median of "
        f"{len(books)}; {export_cpu:.2f} s of CPU) (target < 4 s); computed as a trial in-process "
        f"(perftrack export self-evaluation) in {trial_book_seconds:.2f} s ({trial_book_cpu:.2f} s of CPU)"
    )
    if worker_peaks:
        figures.say(f"peak memory of each worker (with its work horses): {worker_peaks} MB")
    figures.done()


if __name__ == "__main__":
    main()
