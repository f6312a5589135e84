"""Benchmark: the full status sweep of a synthetic bureau of 100,000 indicators (target < 30 s on
SQLite) and recomputing one project after a submission (target p95 < 50 ms), with the sweep's
ratio to merely reading the same rows (target within 2x) and the peak memory of each process.  Each run
sweeps a day not swept yet (every row stored, as the daily job finds it), then the same day again (a rerun:
only changed rows written), beside reading the rows the sweep reads (`read_only`) and merely writing the rows
it stored, already computed, for another day (`write_only`): the sweep's I/O floor is the two together.

    .venv/bin/python bench/sweep.py [--indicators 100000] [--postgres] [--workers N] [--runs 3] [--json]

--postgres starts a PostgreSQL server of its own (as the tests do) instead of a SQLite file; --workers N
starts a Redis and N `perftrack worker` processes and times the daily sweep job split into parts of
--partition projects (PERFTRACK_PARTITION_PROJECTS), from enqueueing it to its last part done.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from figures import Figures, parser  # noqa: E402
from servers import Workers, postgres, redis, worker_env  # noqa: E402
from sqlalchemy import delete, func, select  # noqa: E402
from synthetic import synthetic_database  # noqa: E402

from service.db import insert_many, make_engine, session_scope  # noqa: E402
from service.memory import without_cycle_collection  # noqa: E402
from service.models import (  # noqa: E402
    ActualEntry,
    FiscalYear,
    Indicator,
    IndicatorStatusRow,
    Project,
    ProjectStatusRow,
    Report,
    SpendEntry,
)
from service.monitoring import BATCH_PROJECTS, SHARED_COLUMNS, recompute_project, sweep  # noqa: E402
from service.stored_targets import TARGET_COLUMNS  # noqa: E402

YEAR, AS_OF = 2030, date(2030, 7, 15)
READ_CHUNK = 10_000


def read_only(session, year_id: int) -> int:
    """The rows the sweep reads, with the same columns and filters, year-wide in chunks, and nothing else: the
    year's projects (id, budget) and submitted reports, every indicator's target columns, the current values
    of every indicator (drafts' too: the sweep drops those in Python) and the current spend of every project.
    Not computed, not written: the floor a sweep is held against."""
    queries = [
        select(Project.id, Project.budget).where(Project.fiscal_year_id == year_id),
        select(Report.id, Report.quarter, Report.version).where(
            Report.fiscal_year_id == year_id, Report.first_submitted_at.is_not(None)
        ),
        select(Indicator.id, Indicator.project_id, *TARGET_COLUMNS)
        .join(Project, Project.id == Indicator.project_id)
        .where(Project.fiscal_year_id == year_id),
        select(
            ActualEntry.indicator_id,
            ActualEntry.report_id,
            ActualEntry.number,
            ActualEntry.done,
            ActualEntry.done_on,
            ActualEntry.likelihood,
            ActualEntry.progress,
            ActualEntry.expected_on,
        )
        .join(Indicator, Indicator.id == ActualEntry.indicator_id)
        .join(Project, Project.id == Indicator.project_id)
        .where(Project.fiscal_year_id == year_id, ActualEntry.is_current.is_(True)),
        select(SpendEntry.project_id, SpendEntry.report_id, SpendEntry.spent, SpendEntry.budget)
        .join(Project, Project.id == SpendEntry.project_id)
        .where(Project.fiscal_year_id == year_id, SpendEntry.is_current.is_(True)),
    ]
    rows = 0
    for query in queries:
        for chunk in session.connection().execute(query.execution_options(yield_per=READ_CHUNK)).partitions():
            rows += len(chunk)
    return rows


def write_only(engine, stored_day: date, day: date) -> tuple[float, int]:
    """Seconds to write the status rows stored for STORED_DAY again, as they are (already computed), for DAY, as
    the sweep writes a day not swept yet: the same call per batch of projects, then the commit; and how many
    rows.  Only the writes and the commit are timed (each batch's rows are read untimed just before, so that
    no step holds the whole day), and the rows are deleted afterwards."""
    tables = (IndicatorStatusRow.__table__, ProjectStatusRow.__table__)
    seconds, written = 0.0, 0
    with session_scope(engine) as session:
        ids = list(session.execute(select(Project.id).join(FiscalYear).where(FiscalYear.year == YEAR)).scalars())
        for first in range(0, len(ids), BATCH_PROJECTS):  # the sweep's batches
            batch = ids[first : first + BATCH_PROJECTS]
            for table in tables:
                rows = [
                    {**row._asdict(), "as_of": day}
                    for row in session.execute(
                        select(*(c for c in table.c if c.name != "id")).where(
                            table.c.as_of == stored_day, table.c.project_id.between(batch[0], batch[-1])
                        )
                    )
                ]
                start = time.perf_counter()
                without_cycle_collection(insert_many)(session, table, rows, SHARED_COLUMNS)  # as the sweep writes
                seconds += time.perf_counter() - start
                written += len(rows)
        start = time.perf_counter()
        session.commit()
        seconds += time.perf_counter() - start
        for table in tables:
            session.execute(delete(table).where(table.c.as_of == day))
    return seconds, written


def split_sweep(redis_url: str, day: date) -> float:
    """Seconds from enqueueing the daily sweep of DAY to its last part done (RQ runs `sweep_done` after every
    part)."""
    from rq.job import Job

    from service.queueing import connection, queue, safe_id

    redis = connection(redis_url)
    done_id = safe_id("sweep-done", YEAR, day)
    if Job.exists(done_id, connection=redis):
        Job.fetch(done_id, connection=redis).delete()  # a rerun of the day waits for its own finishing job
    start = time.perf_counter()
    parent = queue(redis_url).enqueue_call("workers.jobs.daily_sweep", args=(day.isoformat(),))
    while parent.get_status(refresh=True) not in ("finished", "failed"):
        time.sleep(0.01)
    if parent.get_status() == "failed":
        raise SystemExit(f"the daily sweep job failed: {parent.exc_info}")
    if "parts" in str(parent.return_value().get(YEAR, "")):
        while not Job.exists(done_id, connection=redis) or Job.fetch(done_id, connection=redis).get_status() not in (
            "finished",
            "failed",
        ):
            time.sleep(0.01)
    return time.perf_counter() - start


def timed_sweep(day: date, redis_url: str | None, engine) -> float:
    """Seconds of the sweep of DAY: through the workers (REDIS_URL) or in this process."""
    if redis_url is not None:
        return split_sweep(redis_url, day)
    with session_scope(engine) as session:
        start = time.perf_counter()
        sweep(session, YEAR, day)
        return time.perf_counter() - start


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--indicators", type=int, default=100_000)
    arguments.add_argument("--postgres", action="store_true", help="on a PostgreSQL server the bench starts")
    arguments.add_argument("--workers", type=int, default=0, help="sweep through N RQ worker processes")
    arguments.add_argument("--partition", type=int, default=5000, help="projects per part with --workers")
    arguments.add_argument("--runs", type=int, default=3)
    args = arguments.parse_args()
    figures = Figures(args)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        start = time.perf_counter()
        server_url = servers.enter_context(postgres()) if args.postgres else None
        url = synthetic_database(tmp, [(YEAR, args.indicators, 20)], server_url)
        generated = time.perf_counter() - start
        engine = make_engine(url)
        with session_scope(engine) as session:
            year_id = session.execute(select(FiscalYear.id).where(FiscalYear.year == YEAR)).scalar_one()
            project_ids = list(session.execute(select(Project.id).where(Project.fiscal_year_id == year_id)).scalars())
        workers, redis_url = None, None
        if args.workers:
            redis_url = servers.enter_context(redis(tmp))
            workers = Workers(args.workers, worker_env(url, redis_url, tmp, args.partition), tmp)
        reads, writes, sweeps, reruns = [], [], [], []
        for run in range(args.runs):
            with session_scope(engine) as session:
                start = time.perf_counter()
                # As the sweep runs, with the cycle collector paused: collecting took about half of merely
                # reading the rows, which a floor read with it on would count against the sweep's work.
                rows = without_cycle_collection(read_only)(session, year_id)
                reads.append(time.perf_counter() - start)
            day = AS_OF + timedelta(days=run)  # each run a day not swept yet, as the daily job finds it
            sweeps.append(timed_sweep(day, redis_url, engine))
            reruns.append(timed_sweep(day, redis_url, engine))  # the same day again
            seconds, written = write_only(engine, day, AS_OF - timedelta(days=1 + run))  # days never swept
            writes.append(seconds)
        worker_peaks = workers.stop() if workers is not None else []
        with session_scope(engine) as session:
            statuses = dict(
                session.execute(
                    select(IndicatorStatusRow.status, func.count())
                    .where(IndicatorStatusRow.as_of == AS_OF)
                    .group_by(IndicatorStatusRow.status)
                ).all()
            )
        recompute = []
        for project_id in random.Random(1).sample(project_ids, min(200, len(project_ids))):
            with session_scope(engine) as session:
                start = time.perf_counter()
                recompute_project(session, project_id, AS_OF)
            recompute.append(time.perf_counter() - start)  # includes the commit
        engine.dispose()
    p95 = statistics.quantiles(recompute, n=20)[18]
    indicators = sum(statuses.values())
    sweep_s, read_s, rerun_s = statistics.median(sweeps), statistics.median(reads), statistics.median(reruns)
    write_s = statistics.median(writes)
    figures.add(
        database="postgresql" if args.postgres else "sqlite",
        workers=args.workers,
        indicators=indicators,
        projects=len(project_ids),
        sweep_s=round(sweep_s, 3),
        read_s=round(read_s, 3),
        ratio=round(sweep_s / read_s, 2),
        rerun_sweep_s=round(rerun_s, 3),
        rerun_ratio=round(rerun_s / read_s, 2),
        write_s=round(write_s, 3),
        io_floor_s=round(read_s + write_s, 3),
        io_ratio=round(sweep_s / (read_s + write_s), 2),
        recompute_p95_ms=round(p95 * 1000, 2),
    )
    if worker_peaks:
        figures.add(worker_peak_rss_mb=max(worker_peaks), partition_projects=args.partition)
    target = "< 30 s" if args.indicators <= 100_000 else "≤ 60 s for 1,000,000 indicators over 2 workers"
    figures.say(
        f"synthetic bureau: {indicators} indicators in {len(project_ids)} projects on "
        f"{figures.values['database']} (generated with the sample year in {generated:.1f} s); "
        f"statuses {dict(sorted((str(k), v) for k, v in statuses.items()))}"
    )
    how = f"split into parts of {args.partition} projects over {args.workers} workers" if workers else "one process"
    figures.say(
        f"full sweep of a day not swept yet (read, compute, store every row; {how}): median {sweep_s:.2f} s, "
        f"max {max(sweeps):.2f} s over {len(sweeps)} runs (target {target})"
    )
    figures.say(f"reading the same {rows} rows only: median {read_s:.2f} s; sweep / read = {sweep_s / read_s:.1f}x")
    figures.say(
        f"writing the {written} rows it stores only (computed already): median {write_s:.2f} s; "
        f"sweep / (read + write) = {sweep_s / (read_s + write_s):.1f}x"
    )
    figures.say(
        f"the same day swept again (only changed rows written): median {rerun_s:.2f} s; "
        f"rerun / read = {rerun_s / read_s:.1f}x"
    )
    figures.say(
        f"recompute one project after a submission: p95 {p95 * 1000:.1f} ms, median "
        f"{statistics.median(recompute) * 1000:.1f} ms over {len(recompute)} projects (target p95 < 50 ms)"
    )
    if worker_peaks:
        figures.say(f"peak memory of each worker (with its work horses): {worker_peaks} MB")
    figures.done()


if __name__ == "__main__":
    main()
