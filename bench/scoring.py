"""Benchmark: a final evaluation run over a synthetic bureau of 100,000 indicators whose year is closed (Q4
accepted, judgements graded, outcomes written), its preconditions checked (target < 30 s on SQLite,
set-based reads and writes), a trial over the same year, and the export of a 1,000-project 自评表 workbook
(target < 4 s).

    .venv/bin/python bench/scoring.py [--indicators 100000] [--json]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from datetime import date  # noqa: E402

from figures import Figures, parser  # noqa: E402
from sqlalchemy import event, select  # noqa: E402
from synthetic import synthetic_database  # noqa: E402

from service.clock import clock  # noqa: E402
from service.db import make_engine, session_scope  # noqa: E402
from service.domain.vocabulary import RunKind  # noqa: E402
from service.evaluation import execute_run, start_run  # noqa: E402
from service.exports.self_evaluation import build_self_evaluation  # noqa: E402
from service.models import FiscalYear, Project  # noqa: E402


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--indicators", type=int, default=100_000)
    arguments.add_argument("--workbook-indicators", type=int, default=7000, help="of the workbook's year (7 a project)")
    args = arguments.parse_args()
    figures = Figures(args)
    with tempfile.TemporaryDirectory() as tmp:
        # 2031: a 1,000-project year for the workbook (7,000 indicators over 10 divisions)
        url = synthetic_database(tmp, [(2030, args.indicators, 20, "--closed"), (2031, args.workbook_indicators, 10)])
        engine = make_engine(url)
        statements = []
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
        clock.set_today(date(2031, 1, 10))  # after the year: a final run may start
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
            start = time.perf_counter()
            data = build_self_evaluation(session, 2031)
            export_seconds = time.perf_counter() - start
        engine.dispose()
    figures.add(
        indicators=args.indicators,
        projects=projects,
        run_s=round(run_seconds, 3),
        run_cpu_s=round(run_cpu, 3),
        run_statements=queries,
        trial_s=round(trial_seconds, 3),
        workbook_projects=count,
        workbook_s=round(export_seconds, 3),
        workbook_kb=len(data.getvalue()) // 1024,
    )
    figures.say(
        f"final evaluation run ({kind}, preconditions checked): {args.indicators} indicators in {projects} "
        f"projects scored and stored in {run_seconds:.2f} s ({run_cpu:.2f} s of CPU) with {queries} SQL statements "
        f"(target < 30 s)"
    )
    figures.say(f"trial run over the same year: {trial_seconds:.2f} s")
    figures.say(
        f"自评表 workbook: {count} projects, one sheet each plus summary and findings, "
        f"{len(data.getvalue()) // 1024} KB, built in {export_seconds:.2f} s (target < 4 s)"
    )
    figures.done()


if __name__ == "__main__":
    main()
