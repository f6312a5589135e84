"""The findings queue: paged, filterable, and information-level findings accepted in bulk with one
reason (recorded on each), all or nothing."""

from __future__ import annotations

import re

from sqlmodel import func, select

from service.db import session_scope
from service.models import FindingRow


def _open(app, severity: str) -> list[int]:
    with session_scope(app.extensions["perftrack.engine"]) as session:
        return list(
            session.exec(
                select(FindingRow.id)
                .where(FindingRow.state == "open", FindingRow.severity == severity)
                .order_by(FindingRow.id)
            ).all()
        )


def test_the_queue_is_paged_and_keeps_its_filter(client):
    with session_scope(client.application.extensions["perftrack.engine"]) as session:
        total = session.exec(select(func.count()).select_from(FindingRow).where(FindingRow.state == "open")).one()
    page = client.get("/findings").get_data(as_text=True)
    assert f"待核查问题（{total}）" in page and page.count('<tr data-severity="') == 25
    assert f"第 1/{(total + 24) // 25} 页" in page
    infos = client.get("/findings?severity=info&page=2").get_data(as_text=True)
    assert 'data-severity="warning"' not in infos and "第 2/" in infos
    assert re.search(r'href="/findings\?page=3&amp;severity=info"|href="/findings\?severity=info&amp;page=3"', infos)


def test_information_findings_are_accepted_in_bulk_with_one_reason(client, app):
    infos, warnings = _open(app, "info"), _open(app, "warning")
    page = client.get("/findings?severity=info").get_data(as_text=True)
    chosen = [int(i) for i in re.findall(r'name="ids" value="(\d+)" form="bulk-accept" checked', page)]
    assert len(chosen) == 25 and set(chosen) <= set(infos)
    no_reason = client.post("/findings/accept-information", data={"ids": chosen}, follow_redirects=True)
    assert "批量确认时请说明原因" in no_reason.get_data(as_text=True)
    mixed = client.post(
        "/findings/accept-information",
        data={"ids": chosen + warnings[:1], "reason": "单位推断无误"},
        follow_redirects=True,
    )
    assert f"#{warnings[0]} 不符合" in mixed.get_data(as_text=True)
    assert _open(app, "info") == infos  # all or nothing
    done = client.post(
        "/findings/accept-information", data={"ids": chosen, "reason": "单位推断无误"}, follow_redirects=True
    )
    assert "已确认 25 条提示" in done.get_data(as_text=True)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        settled = session.exec(select(FindingRow).where(FindingRow.id.in_(chosen))).all()
    assert {(f.state, f.note, f.resolved_by) for f in settled} == {("accepted", "单位推断无误", "caiwu")}
    assert len(_open(app, "info")) == len(infos) - 25
