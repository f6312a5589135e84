"""A throwaway database with the sample year and synthetic years, built by the code the CLI runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"


def synthetic_database(directory: str, years: list[tuple], url: str | None = None) -> str:
    """Migrate, set up the sample bureau's divisions, import the seed, then synthesise each (year, indicators,
    divisions[, "--closed"]) into URL (default: a SQLite file in DIRECTORY); returns the URL.

    One child process does it all: the bench's own peak memory then measures the work, not the set-up, and a
    child is started once (the four CLI commands this replaces each paid for the imports again)."""
    url = url or f"sqlite:///{directory}/bench.db"
    env = {"PERFTRACK_INSTANCE": directory, "SECRET_KEY": "bench", "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, __file__, url, json.dumps(years)], env=env, check=True, cwd=ROOT, capture_output=True
    )
    return url


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


if __name__ == "__main__":
    _build(sys.argv[1], json.loads(sys.argv[2]))
