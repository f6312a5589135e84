"""Rewrite seed_targets.tsv from the current grammar.  Run only after checking every
changed line against the source table by hand; `git diff` shows what moved.

    .venv/bin/python tests/golden/regenerate.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from service.domain.targets import decimal_to_json, parse_target
from service.importers.text_export import read_text_export

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"
GOLDEN = Path(__file__).with_name("seed_targets.tsv")
COLUMNS = [
    "code",
    "level2",
    "name",
    "raw_value",
    "kind",
    "comparator",
    "value",
    "unit",
    "per",
    "direction",
    "due",
    "findings",
]


def reading_rows() -> list[dict]:
    rows = []
    for project in read_text_export(SEED.read_bytes()).projects:
        for indicator in project.indicators:
            target = parse_target(indicator.raw_value, indicator.level2, indicator.name, indicator.description, 2025)
            rows.append(
                {
                    "code": f"2025-{project.table_no:03d}.{indicator.row_no:02d}",
                    "level2": indicator.level2,
                    "name": indicator.name.replace("\n", " "),
                    "raw_value": indicator.raw_value,
                    "kind": target.kind,
                    "comparator": target.comparator or "",
                    "value": "" if target.value is None else str(decimal_to_json(target.value)),
                    "unit": target.unit,
                    "per": target.per or "",
                    "direction": target.direction,
                    "due": target.due.isoformat() if target.due else "",
                    "findings": ",".join(sorted({f.code for f in target.findings})),
                }
            )
    return rows


if __name__ == "__main__":
    with GOLDEN.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(reading_rows())
    print(f"wrote {GOLDEN}")
