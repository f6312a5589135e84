"""Every seed value's reading is pinned in golden/seed_targets.tsv (checked by a person
against the source tables); any change of reading shows up here as a diff."""

from __future__ import annotations

import csv

from .golden.regenerate import COLUMNS, GOLDEN, reading_rows


def test_every_seed_value_reads_as_pinned():
    with GOLDEN.open(encoding="utf-8", newline="") as handle:
        pinned = list(csv.DictReader(handle, delimiter="\t"))
    current = reading_rows()
    assert len(pinned) == len(current) == 482
    mismatches = [
        (p["code"], col, p[col], c[col])
        for p, c in zip(pinned, current, strict=True)
        for col in COLUMNS
        if p[col] != c[col]
    ]
    assert mismatches == []


def test_every_seed_value_parses_without_error():
    errors = [
        r
        for r in reading_rows()
        if r["findings"] and any(code in r["findings"] for code in ("invalid_date", "missing_value"))
    ]
    assert errors == []
