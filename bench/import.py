"""Benchmark: import of the seed tables (target < 1 s) and grammar throughput (target ≥ 50,000 values/s).

.venv/bin/python bench/import.py [--json]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import Figures, parser  # noqa: E402

from service.db import make_engine, session_scope  # noqa: E402
from service.domain.targets import parse_target  # noqa: E402
from service.importers.text_export import read_text_export  # noqa: E402
from service.importing import import_bytes  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.organisation import load_sample_divisions  # noqa: E402

SEED = (
    Path(__file__).resolve().parent.parent / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"
)


def bench_import(runs: int = 5) -> tuple[list[float], list[float]]:
    data = SEED.read_bytes()
    first, again = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            engine = make_engine(url)
            with session_scope(engine) as session:
                load_sample_divisions(session)
            for bucket in (first, again):
                start = time.perf_counter()
                with session_scope(engine) as session:
                    import_bytes(session, SEED.name, data, 2025, "bench")
                bucket.append(time.perf_counter() - start)
            engine.dispose()
    return first, again


def bench_grammar(seconds: float = 2.0) -> float:
    rows = [
        (i.raw_value, i.level2, i.name, i.description)
        for p in read_text_export(SEED.read_bytes()).projects
        for i in p.indicators
    ]
    parsed, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for value, level2, name, description in rows:
            parse_target(value, level2, name, description, 2025)
        parsed += len(rows)
    return parsed / (time.perf_counter() - start)


def main() -> None:
    figures = Figures(parser(__doc__).parse_args())
    first, again = bench_import()
    rate = bench_grammar()
    figures.add(
        import_ms=round(statistics.median(first) * 1000, 1),
        import_max_ms=round(max(first) * 1000, 1),
        reimport_ms=round(statistics.median(again) * 1000, 1),
        grammar_values_per_s=round(rate),
    )
    figures.say(
        f"seed import (62 projects, 482 indicators, SQLite): median {statistics.median(first) * 1000:.0f} ms, "
        f"max {max(first) * 1000:.0f} ms  (target < 1000 ms)"
    )
    figures.say(f"re-import of the unchanged seed: median {statistics.median(again) * 1000:.0f} ms")
    figures.say(f"grammar: {rate:,.0f} values/s over the 482 seed values  (target >= 50,000/s)")
    figures.done()


if __name__ == "__main__":
    main()
