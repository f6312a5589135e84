"""Benchmark: the full status sweep of a synthetic bureau of 100,000 indicators (target < 30 s on
SQLite) and recomputing one project after a submission (target p95 < 50 ms), with the sweep's
ratio to merely reading the same rows.

    .venv/bin/python bench/sweep.py [--indicators 100000] [--json]
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from figures import Figures, parser  # noqa: E402
from sqlalchemy import select  # noqa: E402
from synthetic import synthetic_database  # noqa: E402

from service.db import make_engine, session_scope  # noqa: E402
from service.models import ActualEntry, FiscalYear, Indicator, Project, Report, SpendEntry  # noqa: E402
from service.monitoring import recompute_project, sweep  # noqa: E402
from service.stored_targets import TARGET_COLUMNS  # noqa: E402

YEAR, AS_OF = 2030, date(2030, 7, 15)


def read_only(session, year_id: int) -> int:
    """The same rows the sweep reads, read and nothing else."""
    targets = session.execute(
        select(Indicator.id, Indicator.project_id, *TARGET_COLUMNS)
        .join(Project, Project.id == Indicator.project_id)
        .where(Project.fiscal_year_id == year_id)
    ).all()
    values = session.execute(
        select(
            ActualEntry.indicator_id,
            Report.quarter,
            ActualEntry.number,
            ActualEntry.done,
            ActualEntry.done_on,
            ActualEntry.likelihood,
        )
        .join(Report, Report.id == ActualEntry.report_id)
        .where(Report.fiscal_year_id == year_id, ActualEntry.is_current.is_(True))
    ).all()
    spend = session.execute(
        select(SpendEntry.project_id, SpendEntry.spent)
        .join(Report, Report.id == SpendEntry.report_id)
        .where(Report.fiscal_year_id == year_id)
    ).all()
    return len(targets) + len(values) + len(spend)


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--indicators", type=int, default=100_000)
    args = arguments.parse_args()
    figures = Figures(args)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        url = synthetic_database(tmp, [(YEAR, args.indicators, 20)])
        generated = time.perf_counter() - start
        engine = make_engine(url)
        with session_scope(engine) as session:
            year_id = session.execute(select(FiscalYear.id).where(FiscalYear.year == YEAR)).scalar_one()
            project_ids = list(session.execute(select(Project.id).where(Project.fiscal_year_id == year_id)).scalars())
        reads, sweeps = [], []
        for _ in range(3):
            with session_scope(engine) as session:
                start = time.perf_counter()
                rows = read_only(session, year_id)
                reads.append(time.perf_counter() - start)
            with session_scope(engine) as session:
                start = time.perf_counter()
                result = sweep(session, YEAR, AS_OF)
                sweeps.append(time.perf_counter() - start)
        recompute = []
        for project_id in random.Random(1).sample(project_ids, min(200, len(project_ids))):
            with session_scope(engine) as session:
                start = time.perf_counter()
                recompute_project(session, project_id, AS_OF)
            recompute.append(time.perf_counter() - start)  # includes the commit
        engine.dispose()
    p95 = statistics.quantiles(recompute, n=20)[18]
    figures.add(
        indicators=result.indicators,
        projects=result.projects,
        sweep_s=round(statistics.median(sweeps), 3),
        read_s=round(statistics.median(reads), 3),
        ratio=round(statistics.median(sweeps) / statistics.median(reads), 2),
        recompute_p95_ms=round(p95 * 1000, 2),
    )
    figures.say(
        f"synthetic bureau: {result.indicators} indicators in {result.projects} projects "
        f"(generated with the sample year in {generated:.1f} s); statuses {dict(sorted(result.counts.items()))}"
    )
    figures.say(
        f"full sweep (read, compute, replace the day's rows): median {statistics.median(sweeps):.2f} s, "
        f"max {max(sweeps):.2f} s over 3 runs (target < 30 s)"
    )
    figures.say(
        f"reading the same {rows} rows only: median {statistics.median(reads):.2f} s; "
        f"sweep / read = {statistics.median(sweeps) / statistics.median(reads):.1f}x"
    )
    figures.say(
        f"recompute one project after a submission: p95 {p95 * 1000:.1f} ms, median "
        f"{statistics.median(recompute) * 1000:.1f} ms over {len(recompute)} projects (target p95 < 50 ms)"
    )
    figures.done()


if __name__ == "__main__":
    main()
