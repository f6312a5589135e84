"""A throwaway SQLite database with the sample year and synthetic years, built with the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.db import make_engine, session_scope  # noqa: E402
from service.organisation import load_sample_divisions  # noqa: E402

SEED = ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"


def synthetic_database(directory: str, years: list[tuple], url: str | None = None) -> str:
    """Migrate, set up the sample bureau's divisions, import the seed, then `perftrack synth` each (year,
    indicators, divisions[, extra options such as "--closed"]), into URL (default: a SQLite file in DIRECTORY);
    returns the URL."""
    url = url or f"sqlite:///{directory}/bench.db"
    env = {"DATABASE_URL": url, "PERFTRACK_INSTANCE": directory, "SECRET_KEY": "bench", "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "service.cli"]
    subprocess.run(cli + ["db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True)
    engine = make_engine(url)
    with session_scope(engine) as session:  # a new database has no divisions until they are set up
        load_sample_divisions(session)
    engine.dispose()
    for args in (
        ["import", str(SEED)],
        *(
            ["synth", "--year", str(y), "--indicators", str(n), "--divisions", str(d), *extra]
            for y, n, d, *extra in years
        ),
    ):
        subprocess.run(cli + args, env=env, check=True, cwd=ROOT, capture_output=True)
    return url
