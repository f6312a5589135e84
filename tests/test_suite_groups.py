"""The suite's own speed rests on pytest-xdist's `--dist loadgroup`: tests marked with one xdist_group (the
print renders, built by one LibreOffice run) share one worker and so one session fixture.  pytest 9.2 made
xdist silently ignore the mark (pytest-dev/pytest-xdist#1386); this fails if that comes back."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.processes

GROUPED = """
import pytest

pytestmark = pytest.mark.xdist_group("shared")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    pass
"""


def test_tests_of_one_xdist_group_run_in_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-v",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:schemathesis",
            "-p",
            "no:hypothesispytest",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    workers = re.findall(r"\[(gw\d)\].*PASSED test_grouped\.py::test_grouped\[\d\]@shared", done.stdout)
    assert len(workers) == 6 and len(set(workers)) == 1, done.stdout[-2000:]
