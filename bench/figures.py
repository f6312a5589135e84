"""What every bench script reports: human-readable lines for people, and with `--json` one JSON object of
its figures on stdout (the lines then go to stderr), peak memory included."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory of this process (RUSAGE_SELF) or of its largest waited-for child, in MB
    (Linux reports kilobytes)."""
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


class Figures:
    """Collects a bench's figures; `say` prints a line for people, `done` prints the JSON object."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.as_json = bool(getattr(args, "json", False))
        self.values: dict[str, object] = {}

    def say(self, line: str) -> None:
        print(line, file=sys.stderr if self.as_json else sys.stdout, flush=True)

    def add(self, **values: object) -> None:
        self.values.update(values)

    def done(self) -> dict[str, object]:
        """Adds this process's peak memory (said for people too) and prints the object (with --json)."""
        self.values.setdefault("peak_rss_mb", peak_rss_mb())
        self.say(f"peak memory of the bench process: {self.values['peak_rss_mb']} MB")
        if self.as_json:
            print(json.dumps(self.values, ensure_ascii=False, sort_keys=True))
        return self.values


def parser(description: str | None) -> argparse.ArgumentParser:
    """The arguments every bench takes (`--json`); a bench adds its own."""
    result = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("--json", action="store_true", help="print one JSON object of the figures (lines to stderr)")
    return result


def timed_downloads(client, path: str, runs: int) -> tuple[list[float], list[float], bytes]:
    """PATH fetched RUNS times with CLIENT (a logged-in Flask test client), as a person downloads it: the
    seconds and the CPU seconds of each, from the request to the last byte, and the last body."""
    seconds, cpu_seconds, data = [], [], b""
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        data = response.get_data()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu)
        assert response.status_code == 200, (path, response.status_code)
    return seconds, cpu_seconds, data
