"""A throwaway database with the sample year and synthetic years, built by the code the CLI runs."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"


def synthetic_database(directory: str, years: list[tuple], url: str | None = None) -> str:
    """Migrate, set up the sample bureau's divisions, import the seed, then synthesise each (year, indicators,
    divisions[, "--closed"]) into URL (default: a SQLite file in DIRECTORY); returns the URL.

    One child process does it all, so that the bench's own peak memory measures the work, not the set-up.  It
    is forked from the bench (started before the bench's servers and threads), so it does not import the service
    again: a new interpreter took 2 s of CPU for that on a small machine, more than a small year's build."""
    url = url or f"sqlite:///{directory}/bench.db"
    child = multiprocessing.get_context("fork").Process(target=_build_alone, args=(directory, url, years))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"building the synthetic database failed (exit code {child.exitcode}; see above)")
    return url


def _build_alone(directory: str, url: str, years: list) -> None:
    """_build as a fresh process would run it: only these settings in the environment, the real clock."""
    from service.clock import clock

    os.environ.clear()
    os.environ.update({"PERFTRACK_INSTANCE": directory, "SECRET_KEY": "bench", "PATH": "/usr/bin:/bin"})
    clock.set_today(None)
    _build(url, [list(year) for year in years])


def _build(url: str, years: list[list]) -> None:
    from service.db import make_engine, session_scope
    from service.importing import import_bytes
    from service.migrate import upgrade
    from service.organisation import load_sample_divisions
    from service.synth import synthesize

    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:  # a new database has no divisions until they are set up
        load_sample_divisions(session)
    with session_scope(engine) as session:
        import_bytes(session, SEED.name, SEED.read_bytes(), 2025, "cli")
    for year, indicators, divisions, *extra in years:
        with session_scope(engine) as session:
            synthesize(session, year, indicators, divisions, closed="--closed" in extra)
    engine.dispose()


if __name__ == "__main__":  # by hand: python bench/synthetic.py URL '[[2030, 700, 20]]'
    _build(sys.argv[1], json.loads(sys.argv[2]))
