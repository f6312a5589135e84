"""Benchmark: render a 200-indicator report form (target < 300 ms) and validate and apply a
500-row workbook (target < 2 s), through the real web app on SQLite.

    .venv/bin/python bench/reporting.py [--json]

The seed year has at most 52 indicators per division, so the bench copies the seed's
projects into a synthetic year 2026 owned by two bench divisions, one with ≥200 and one
with ≥500 indicators.  The form is rendered with Q1 filled in and Q2 half filled in.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import load_workbook  # noqa: E402
from sqlmodel import select  # noqa: E402

from service.accounts import create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.clock import clock  # noqa: E402
from service.db import session_scope  # noqa: E402
from service.importing import ensure_year, import_bytes  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import Division, Indicator, Project, User  # noqa: E402
from service.organisation import load_sample_divisions  # noqa: E402
from service.reporting.reports import load_scope, save  # noqa: E402
from service.settings import load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from figures import Figures, parser  # noqa: E402
from reporting_helpers import complete_rows  # noqa: E402

SEED = ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"
PASSWORD = "bench-password"


def build_division(session, code: str, at_least: int, copy: int) -> int:
    """A bench division owning copies of the seed projects until it has AT_LEAST indicators."""
    division = Division(code=code, name=f"基准测试{code}")
    session.add(division)
    session.flush()
    year = ensure_year(session, 2026)
    count, seeds = 0, session.exec(select(Project).where(Project.code.like("2025-%")).order_by(Project.code)).all()
    for round_no in range(10):
        for project in seeds:
            if count >= at_least:
                break
            clone = Project(**{k: v for k, v in project.model_dump().items() if k != "id"})
            clone.code = f"2026-{copy}{round_no}{project.code[5:]}"
            clone.fiscal_year_id, clone.division_id = year.id, division.id
            session.add(clone)
            session.flush()
            for indicator in session.exec(select(Indicator).where(Indicator.project_id == project.id)).all():
                copied = Indicator(**{k: v for k, v in indicator.model_dump().items() if k != "id"})
                copied.code = f"{clone.code}.{indicator.code.rsplit('.', 1)[1]}"
                copied.project_id = clone.id
                if copied.due is not None:
                    copied.due = copied.due.replace(year=2026)
                session.add(copied)
                count += 1
    create_user(session, code.lower(), code, "reporter", code, PASSWORD)
    return count


def timed(function, runs: int) -> list[float]:
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        results.append(time.perf_counter() - start)
    return results


def main() -> None:
    figures = Figures(parser(__doc__).parse_args())
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        app = create_app(
            load_settings({"DATABASE_URL": url, "PERFTRACK_INSTANCE": tmp, "SECRET_KEY": "bench"}),
            WTF_CSRF_ENABLED=False,
        )
        engine = app.extensions["perftrack.engine"]
        clock.set_today(date(2026, 7, 5))
        with session_scope(engine) as session:
            load_sample_divisions(session)
            import_bytes(session, SEED.name, SEED.read_bytes(), 2025, "bench")
            form_size = build_division(session, "B200", 200, 1)
            build_division(session, "B500", 500, 2)
        with session_scope(engine) as session:
            user = session.exec(select(User).where(User.username == "b200")).one()
            for quarter, share in ((1, 1.0), (2, 0.5)):
                scope = load_scope(session, 2026, "B200", quarter)
                actuals, spend = complete_rows(scope, date(2026, 3 * quarter, 28))
                save(session, scope, user, actuals[: int(len(actuals) * share)], spend, "web")

        form = app.test_client()
        form.post("/login", data={"username": "b200", "password": PASSWORD})
        assert form.get("/reports/B200/2026Q2").status_code == 200
        render = timed(lambda: form.get("/reports/B200/2026Q2"), 20)

        book = app.test_client()
        book.post("/login", data={"username": "b500", "password": PASSWORD})
        filled = []
        for value in ("1", "2"):  # two contents, so every upload changes every row
            workbook = load_workbook(io.BytesIO(book.get("/reports/B500/2026Q2/workbook.xlsx").data))
            for row in workbook["指标"].iter_rows(min_row=2):
                if row[5].value in ("截至期末累计", "最新实测值"):
                    row[8].value = value
                elif row[5].value == "完成日期":
                    row[8].value, row[9].value = "未完成", "2026-12-20"
                else:
                    row[8].value = f"进展 {value}"
                row[10].value = "确定能"
            filled.append(workbook)
        uploads = []
        for version in range(6):  # each upload is based on the version the one before it made
            workbook = filled[version % 2]
            workbook["说明"]["B4"].value = version
            buffer = io.BytesIO()
            workbook.save(buffer)
            uploads.append(buffer.getvalue())
        rows = filled[0]["指标"].max_row - 1

        workbooks = iter(uploads)

        def upload():
            response = book.post(
                "/reports/B500/2026Q2/workbook", data={"file": (io.BytesIO(next(workbooks)), "b.xlsx")}
            )
            assert response.status_code == 302, response.get_data(as_text=True)[:500]

        apply = timed(upload, 6)
        engine.dispose()
    figures.add(
        form_ms=round(statistics.median(render) * 1000, 1),
        form_max_ms=round(max(render) * 1000, 1),
        upload_ms=round(statistics.median(apply) * 1000, 1),
        upload_max_ms=round(max(apply) * 1000, 1),
    )
    figures.say(
        f"report form, {form_size} indicators (Q1 filled, Q2 half filled): "
        f"median {statistics.median(render) * 1000:.0f} ms, max {max(render) * 1000:.0f} ms over 20 renders "
        f"(target < 300 ms)"
    )
    figures.say(
        f"workbook upload, {rows} indicator rows + spend sheet, every row changed: validate and apply median "
        f"{statistics.median(apply) * 1000:.0f} ms, max {max(apply) * 1000:.0f} ms over 6 uploads (target < 2 s)"
    )
    figures.done()


if __name__ == "__main__":
    main()
