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


def run_bench(*args: str) -> tuple[dict, str]:
    done = subprocess.run(
        [sys.executable, *args, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    )
    return json.loads(done.stdout), done.stderr


def test_sweep_bench_prints_its_figures_as_json():
    figures, lines = run_bench("bench/sweep.py", "--indicators", "700")
    assert figures["indicators"] == 700
    assert set(figures) >= {"sweep_s", "read_s", "ratio", "recompute_p95_ms", "peak_rss_mb"}
    assert figures["ratio"] == pytest.approx(figures["sweep_s"] / figures["read_s"], rel=0.05)
    assert 20 < figures["peak_rss_mb"] < 2000
    assert "full sweep" in lines and "peak memory" in lines


def test_scoring_bench_prints_its_figures_as_json():
    figures, lines = run_bench("bench/scoring.py", "--indicators", "700", "--workbook-indicators", "140")
    assert figures["workbook_projects"] == 20 and figures["projects"] == 100
    assert figures["run_s"] > 0 and figures["workbook_s"] > 0 and figures["peak_rss_mb"] > 20
    assert "自评表 workbook" in lines


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
