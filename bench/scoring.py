"""Benchmark: an evaluation run over a synthetic bureau of 100,000 indicators (target < 30 s on SQLite,
set-based reads and writes) and the export of a 1,000-project 自评表 workbook (target < 20 s).

    .venv/bin/python bench/scoring.py [--indicators 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event, select  # noqa: E402
from synthetic import synthetic_database  # noqa: E402

from service.db import make_engine, session_scope  # noqa: E402
from service.evaluation import execute_run, start_run  # noqa: E402
from service.exports.self_evaluation import build_self_evaluation  # noqa: E402
from service.models import FiscalYear, Project  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--indicators", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # 2031: a 1,000-project year for the workbook (7,000 indicators over 10 divisions)
        url = synthetic_database(tmp, [(2030, args.indicators, 20), (2031, 7000, 10)])
        engine = make_engine(url)
        statements = []
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
        with session_scope(engine) as session:
            start = time.perf_counter()
            run = execute_run(session, start_run(session, 2030, "bench"))
            run_seconds = time.perf_counter() - start
            projects = run.total
        queries = len(statements)
        with session_scope(engine) as session:
            year_id = session.execute(select(FiscalYear.id).where(FiscalYear.year == 2031)).scalar_one()
            count = len(session.execute(select(Project.id).where(Project.fiscal_year_id == year_id)).all())
            start = time.perf_counter()
            data = build_self_evaluation(session, 2031)
            export_seconds = time.perf_counter() - start
        engine.dispose()
    print(
        f"evaluation run: {args.indicators} indicators in {projects} projects scored and stored in "
        f"{run_seconds:.2f} s with {queries} SQL statements (target < 30 s)"
    )
    print(
        f"自评表 workbook: {count} projects, one sheet each plus summary and findings, "
        f"{len(data.getvalue()) // 1024} KB, built in {export_seconds:.2f} s (target < 20 s)"
    )


if __name__ == "__main__":
    main()
