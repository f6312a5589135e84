"""Benchmark: 总览 (the page and its JSON) for a synthetic bureau of 100,000 indicators, from the stored
statuses, server time (target < 500 ms); the 项目支出绩效目标执行监控表 for 1,000 projects as finance downloads
it, from the request to the workbook's last byte (median of --workbook-runs; target < 4 s).

    .venv/bin/python bench/monitoring.py [--indicators 100000] [--projects 1000] [--json]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from figures import Figures, parser, timed_downloads  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from synthetic import synthetic_database  # noqa: E402

from service.accounts import create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.clock import clock  # noqa: E402
from service.db import session_scope  # noqa: E402
from service.models import FiscalYear, Indicator, Project  # noqa: E402
from service.monitoring import sweep  # noqa: E402
from service.settings import load_settings  # noqa: E402
from service.synth import INDICATORS_PER_PROJECT  # noqa: E402

BIG, SMALL = 2030, 2031
AS_OF = date(2030, 7, 15)
PASSWORD = "bench-password-1"


def timed(function, runs: int) -> list[float]:
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        results.append(time.perf_counter() - start)
    return results


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--indicators", type=int, default=100_000)
    arguments.add_argument("--projects", type=int, default=1_000)
    arguments.add_argument("--workbook-runs", type=int, default=3, help="downloads of the workbook timed")
    args = arguments.parse_args()
    figures = Figures(args)
    with tempfile.TemporaryDirectory() as tmp:
        small = args.projects * INDICATORS_PER_PROJECT  # exactly --projects projects
        url = synthetic_database(tmp, [(BIG, args.indicators, 20), (SMALL, small, 20)])
        app = create_app(
            load_settings({"DATABASE_URL": url, "PERFTRACK_INSTANCE": tmp, "SECRET_KEY": "bench"}),
            WTF_CSRF_ENABLED=False,
        )
        engine = app.extensions["perftrack.engine"]
        clock.set_today(AS_OF)
        with session_scope(engine) as session:
            create_user(session, "bench-finance", "财务", "finance", None, PASSWORD)
            start = time.perf_counter()
            swept = sweep(session, BIG, AS_OF)
            sweep_time = time.perf_counter() - start
        client = app.test_client()
        client.post("/login", data={"username": "bench-finance", "password": PASSWORD})
        page = client.get(f"/overview?year={BIG}")
        assert page.status_code == 200 and "全年预算（万元）" in page.get_data(as_text=True)
        pages = timed(lambda: client.get(f"/overview?year={BIG}"), 7)
        data = timed(lambda: client.get(f"/api/v1/overview?year={BIG}"), 7)
        with session_scope(engine) as session:
            year_id = session.execute(select(FiscalYear.id).where(FiscalYear.year == SMALL)).scalar_one()
            projects = session.execute(
                select(func.count()).select_from(Project).where(Project.fiscal_year_id == year_id)
            ).scalar_one()
            indicators = session.execute(
                select(func.count())
                .select_from(Indicator)
                .join(Project, Project.id == Indicator.project_id)
                .where(Project.fiscal_year_id == year_id)
            ).scalar_one()
        # what the 执行监控表 link on the page does: the whole bureau, 1–7月
        books, book_cpu, workbook = timed_downloads(
            client, f"/monitoring/form.xlsx?year={SMALL}&month=7", args.workbook_runs
        )
        book_time = statistics.median(books)
        engine.dispose()
    figures.add(
        indicators=swept.indicators,
        projects=swept.projects,
        sweep_s=round(sweep_time, 3),
        overview_page_ms=round(statistics.median(pages) * 1000, 1),
        overview_json_ms=round(statistics.median(data) * 1000, 1),
        workbook_projects=projects,
        workbook_s=round(book_time, 3),
        workbook_cpu_s=round(statistics.median(book_cpu), 3),
        workbook_runs_s=[round(t, 3) for t in books],
        workbook_kb=len(workbook) // 1024,
    )
    figures.say(f"总览, {swept.indicators:,} indicators in {swept.projects:,} projects (sweep {sweep_time:.1f} s):")
    figures.say(
        f"  page    median {statistics.median(pages) * 1000:.0f} ms, worst {max(pages) * 1000:.0f} ms (target < 500 ms)"
    )
    figures.say(f"  JSON    median {statistics.median(data) * 1000:.0f} ms, worst {max(data) * 1000:.0f} ms")
    figures.say(
        f"执行监控表, {projects:,} projects ({indicators:,} indicators), downloaded: median {book_time:.2f} s "
        f"of {len(books)} from the request to the last byte ({statistics.median(book_cpu):.2f} s of CPU), "
        f"{len(workbook) / 1e6:.1f} MB (target < 4 s)"
    )
    figures.done()


if __name__ == "__main__":
    main()
