"""Other budget systems' layouts (tests/corpus.py): each imports to the seed's 62 projects and 482
indicators, read exactly as the seed is."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from service.db import make_engine, session_scope
from service.importing import import_bytes
from service.models import Division, Indicator, Organisation, Project
from service.organisation import load_sample_divisions

from .corpus import LAYOUTS, seed_projects, weight_of

pytestmark = pytest.mark.slow  # whole-year and every-case runs: `make test`, not `make test-fast`

TARGET = ("level1", "level2", "name", "description", "kind", "comparator", "target_value", "unit", "per", "due")


def registry(engine) -> dict:
    with session_scope(engine) as session:
        projects = {
            p.code: (
                p.name,
                p.budget,
                d.code,
                p.funding_level,
                p.fiscal_funds,
                p.other_funds,
                p.use_of_funds,
                tuple(p.goals),
            )
            for p, d in session.exec(select(Project, Division).join(Division))
        }
        indicators = {
            i.code: tuple(getattr(i, f) for f in TARGET) + (i.weight,) for i in session.exec(select(Indicator))
        }
        unit = session.exec(select(Organisation)).first()
        return {"projects": projects, "indicators": indicators, "unit": (unit.code, unit.name) if unit else None}


@pytest.fixture(scope="module")
def seed_registry(tmp_path_factory, seed_bytes):
    from service.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('seed') / 'seed.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        load_sample_divisions(session)
        import_bytes(session, "seed.txt", seed_bytes, 2025, "test")
    yield registry(engine)
    engine.dispose()


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_every_layout_imports_to_the_seeds_projects_and_indicators(engine, seed_registry, layout):
    with session_scope(engine) as session:
        summary = import_bytes(session, layout.file_name, layout.build(), 2025, "test")
    assert (summary["projects"], summary["indicators"], summary["created"]) == (62, 482, 482)
    assert summary["budget_total"] == "41449.50"
    got = registry(engine)
    assert set(got["projects"]) == set(seed_registry["projects"])
    flat = layout.name.startswith("flat")
    for code, seed_project in seed_registry["projects"].items():
        compared = 4 if flat else 8  # flat files carry no use of funds or goals; the division file no funds split
        if layout.name == "flat_split_columns":
            compared = 6
        assert got["projects"][code][:compared] == seed_project[:compared], code
    assert set(got["indicators"]) == set(seed_registry["indicators"])
    weights = {
        f"2025-{p.table_no:03d}.{i.row_no:02d}": Decimal(weight_of(index, i.row_no))
        for index, p in enumerate(seed_projects())
        for i in p.indicators
    }
    weighted = layout.name in ("docx_extra_columns", "flat_split_columns")
    for code, seed_indicator in seed_registry["indicators"].items():
        assert got["indicators"][code][:-1] == seed_indicator[:-1], code
        assert got["indicators"][code][-1] == (weights[code] if weighted else seed_indicator[-1]), code
    # The Word layouts name their budget unit on the header line; the organisation is read from it.
    assert got["unit"] == (None if flat else ("323101", "天津市商务局"))
