"""The domain rules the code cites live in the repository (docs/domain.md), and every citation resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "docs" / "domain.md"
CITATION = re.compile(r"docs/domain\.md ((?:§[\d.]*\d(?:, )?)+)")


def _sections() -> set[str]:
    text = DOMAIN.read_text(encoding="utf-8")
    return set(re.findall(r"^## (\d+)\.", text, re.M)) | set(re.findall(r"^(\d+\.\d+) ", text, re.M))


def _sources():
    for package in ("service", "workers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, path.read_text(encoding="utf-8")


def test_every_citation_names_a_section_of_docs_domain_md():
    sections = _sections()
    cited = {
        (path.relative_to(ROOT).as_posix(), ref)
        for path, text in _sources()
        for refs in CITATION.findall(text)
        for ref in re.findall(r"§([\d.]*\d)", refs)
    }
    assert len(cited) >= 5
    assert sorted((where, ref) for where, ref in cited if ref not in sections) == []


def test_no_citation_points_outside_the_repository():
    outside = [path.name for path, text in _sources() if re.search(r"(?<!docs/)domain\.md", text)]
    assert outside == []
