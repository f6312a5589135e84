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


def _layout_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_layout_names_every_module_and_package():
    """A newcomer finds every module of service/ and service/domain/ in the README's map of the tree."""
    layout = _layout_section()
    names = [
        path.name if path.is_dir() else path.stem
        for folder in (ROOT / "service", ROOT / "service" / "domain")
        for path in sorted(folder.iterdir())
        if (path.suffix == ".py" and path.stem != "__init__") or (path.is_dir() and (path / "__init__.py").exists())
    ]
    assert len(names) > 30
    assert [name for name in names if not re.search(rf"\b{re.escape(name)}\b", layout)] == []
