"""The bench scripts' contract: `--json` prints one JSON object of the figures on stdout (the lines for
people go to stderr), peak memory included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.processes
# Two gunicorn workers, not the bench's four: each one imports the service (seconds on a 2-core machine)
# and a few reporters need no more.
SMALL_SERVER = ("--web-workers", "2", "--max-seconds", "120")


def run_bench(*args: str) -> tuple[dict, str]:
    done = subprocess.run(
        [sys.executable, *args, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    )
    return json.loads(done.stdout), done.stderr


def ratio_of_rounded(seconds: float, floor: float, ratio: float) -> bool:
    """RATIO (rounded to 0.01) is SECONDS / FLOOR as measured, given both were reported rounded to the
    millisecond: at 700 indicators the floor is a few milliseconds, so the rounding alone moves it by 10%."""
    half_ms = 0.0005
    low = (seconds - half_ms) / (floor + half_ms)
    high = (seconds + half_ms) / max(floor - half_ms, 1e-9)
    return low - 0.005 <= ratio <= high + 0.005


def test_sweep_bench_prints_its_figures_as_json():
    figures, lines = run_bench("bench/sweep.py", "--indicators", "700")
    assert figures["indicators"] == 700
    assert set(figures) >= {"sweep_s", "read_s", "ratio", "recompute_p95_ms", "peak_rss_mb", "rerun_sweep_s"}
    assert ratio_of_rounded(figures["sweep_s"], figures["read_s"], figures["ratio"])
    assert ratio_of_rounded(figures["rerun_sweep_s"], figures["read_s"], figures["rerun_ratio"])
    # the I/O floor: reading the rows the sweep reads and writing the rows it stores (700 + 100 projects')
    assert figures["write_s"] > 0 and figures["io_floor_s"] == pytest.approx(
        figures["read_s"] + figures["write_s"], abs=0.0015
    )
    assert ratio_of_rounded(figures["sweep_s"], figures["io_floor_s"], figures["io_ratio"])
    assert "writing the 800 rows it stores only" in lines
    assert 20 < figures["peak_rss_mb"] < 2000
    assert "full sweep of a day not swept yet" in lines and "swept again" in lines and "peak memory" in lines


def test_scoring_bench_prints_its_figures_as_json():
    figures, lines = run_bench(
        "bench/scoring.py", "--indicators", "700", "--workbook-indicators", "140", "--workbook-runs", "2"
    )
    assert figures["workbook_projects"] == 20 and figures["projects"] == 100
    assert figures["run_s"] > 0 and figures["workbook_s"] > 0 and figures["peak_rss_mb"] > 20
    # the page's download, timed to the last byte, and the trial computed in-process: the same 20 sheets and more
    assert len(figures["workbook_runs_s"]) == 2 and figures["workbook_s"] == pytest.approx(
        sum(figures["workbook_runs_s"]) / 2, abs=0.002
    )
    assert figures["workbook_trial_s"] > 0 and figures["workbook_kb"] > 20 and figures["workbook_trial_kb"] > 20
    assert "自评表 workbook" in lines and "from the request to the last byte" in lines


def test_sweep_bench_through_worker_processes():
    figures, lines = run_bench(
        "bench/sweep.py", "--indicators", "700", "--workers", "2", "--partition", "30", "--runs", "1"
    )
    assert figures["indicators"] == 700 and figures["workers"] == 2 and figures["partition_projects"] == 30
    assert 20 < figures["worker_peak_rss_mb"] < 2000
    assert "split into parts of 30 projects over 2 workers" in lines


def test_scoring_bench_through_worker_processes():
    figures, lines = run_bench(
        "bench/scoring.py", "--indicators", "700", "--workbook-indicators", "140", "--workers", "2", "--partition", "30"
    )
    assert figures["projects"] == 100 and figures["workers"] == 2 and 20 < figures["worker_peak_rss_mb"] < 2000
    assert "split into parts of 30 projects over 2 workers" in lines


def test_load_bench_rush_loses_no_write():
    figures, lines = run_bench(
        "bench/load.py", *SMALL_SERVER, "--reporters", "3", "--arrival-rate", "5", "--think-seconds", "0.1"
    )
    assert figures["reports_checked"] == 3 and figures["lost_writes"] == 0 and figures["errors"] == 0
    assert {"form", "save", "submit", "overview", "login"} <= set(figures["kinds"])
    assert figures["kinds"]["save"]["count"] == 6 and figures["kinds"]["submit"]["count"] == 3
    assert figures["kinds"]["form"]["count"] == 12  # opened once, then after each save and the submission
    assert figures["load"] == "open" and figures["offered_rps"] == 5 * 9 + 2 / 0.1
    assert figures["server_cpu_ms_per_request"] > 0
    assert {"login", "form", "save", "overview"} <= set(figures["in_server"])  # gunicorn's own time per kind
    assert all(row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] for row in figures["kinds"].values())
    assert "lost or duplicated writes: 0" in lines


def test_load_bench_closed_loop_measures_capacity():
    figures, lines = run_bench(
        "bench/load.py", *SMALL_SERVER, "--reporters", "2", "--closed", "2", "--finance-readers", "1"
    )
    assert figures["load"] == "closed" and figures["offered_rps"] is None and figures["think_seconds"] == 0
    assert figures["web_workers"] == 2
    assert figures["reports_checked"] == 2 and figures["lost_writes"] == 0 and figures["errors"] == 0
    assert "closed loop, 2 reporters at once without pause" in lines


def test_load_bench_bounds_its_reporters():
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--reporters", "5000"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "--reporters must be 1..1000" in done.stderr


def test_monitoring_bench_prints_its_figures_as_json():
    figures, lines = run_bench("bench/monitoring.py", "--indicators", "700", "--projects", "20", "--workbook-runs", "3")
    assert figures["indicators"] == 700 and figures["workbook_projects"] == 20  # exactly as asked
    assert figures["overview_page_ms"] > 0 and figures["workbook_s"] > 0 and figures["peak_rss_mb"] > 20
    assert figures["workbook_s"] == sorted(figures["workbook_runs_s"])[1] and figures["workbook_kb"] > 10
    assert "执行监控表" in lines and "from the request to the last byte" in lines
