"""The monitoring pages: overview, inbox with unread count, notification settings, delivery log."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from service.alerting import create_alerts
from service.db import session_scope
from service.domain.alerts import AlertSpec
from service.models import DeliveryAttempt, Notification, User


def test_inbox_unread_count_and_mark_read(client_as, app):
    with session_scope(app.extensions["perftrack.engine"]) as session:
        xxh = session.exec(select(User).where(User.username == "xxh")).one()
        specs = [
            AlertSpec(
                "report_due_soon",
                "XXH-2025Q1",
                xxh.division_id,
                date(2025, 4, 10),
                "soon",
                "division",
                "2025年第1季度绩效监控报告将于 2025-04-10 截止，尚未提交",
                "/reports/XXH/2025Q1",
            ),
            AlertSpec(
                "deadline_due",
                "2025-001.03",
                xxh.division_id,
                date(2025, 4, 1),
                "due",
                "division",
                "今天到期",
                "/indicators/2025-001.03",
            ),
        ]
        create_alerts(session, specs, date(2025, 4, 7))
    client = client_as("xxh")
    page = client.get("/reports").get_data(as_text=True)
    assert 'id="unread-count">2<' in page
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "将于 2025-04-10 截止" in inbox
    with session_scope(app.extensions["perftrack.engine"]) as session:
        first = session.exec(select(Notification.id).where(Notification.channel == "inbox")).first()
    assert f'href="/inbox/{first}"' in inbox  # opening a notice goes through the inbox, which marks it read
    client.post("/inbox/read", data={"id": first})
    assert 'id="unread-count">1<' in client.get("/inbox").get_data(as_text=True)
    client.post("/inbox/read", data={"id": "x"})  # not a notice: marks nothing, least of all everything
    client.post("/inbox/read", data={"id": first + 1000})  # nor does someone else's or an unknown one
    assert 'id="unread-count">1<' in client.get("/inbox").get_data(as_text=True)
    client.post("/inbox/read")
    assert 'id="unread-count"' not in client.get("/inbox").get_data(as_text=True)
    assert 'id="unread-count"' not in client_as("kac").get("/inbox").get_data(as_text=True)


def test_notification_settings_are_validated_and_saved(client_as, app):
    client = client_as("xxh")
    bad = client.post("/notifications/settings", data={"email": "not-an-address"}, follow_redirects=True)
    assert "格式不正确" in bad.get_data(as_text=True)
    for webhook, message in (
        ("ftp://robot.example", "应以 http:// 或 https:// 开头"),
        ("https://robot.example/" + "x" * 500, "Webhook 地址：不能超过 500 个字"),
    ):
        refused = client.post("/notifications/settings", data={"webhook_url": webhook}, follow_redirects=True)
        assert message in refused.get_data(as_text=True)
    with session_scope(app.extensions["perftrack.engine"]) as session:
        assert session.exec(select(User.webhook_url).where(User.username == "xxh")).one() is None
    client.post(
        "/notifications/settings",
        data={
            "email": "xxh@bureau.example",
            "notify_email": "1",
            "email_digest": "1",
            "webhook_url": "https://93.184.216.34/hook",
        },
    )  # a public address
    with session_scope(app.extensions["perftrack.engine"]) as session:
        user = session.exec(select(User).where(User.username == "xxh")).one()
        assert (user.email, user.notify_email, user.email_digest, user.webhook_url) == (
            "xxh@bureau.example",
            True,
            True,
            "https://93.184.216.34/hook",
        )


def test_delivery_log_shows_every_attempt_to_finance_and_own_to_others(client_as, app):
    with session_scope(app.extensions["perftrack.engine"]) as session:
        xxh = session.exec(select(User).where(User.username == "xxh")).one()
        xxh.email = "xxh@bureau.example"
        session.add(xxh)
        session.flush()
        spec = AlertSpec(
            "report_overdue",
            "XXH-2025Q1",
            xxh.division_id,
            date(2025, 4, 10),
            "day1",
            "division",
            "报告已逾期 1 天",
            "/reports/XXH/2025Q1",
        )
        _alerts, [notification_id] = create_alerts(session, [spec], date(2025, 4, 11))
        session.add(
            DeliveryAttempt(
                notification_id=notification_id, channel="email", ok=False, detail="ConnectionRefusedError: [Errno 111]"
            )
        )
    assert "ConnectionRefusedError" in client_as("caiwu").get("/deliveries?ok=0").get_data(as_text=True)
    assert "ConnectionRefusedError" in client_as("xxh").get("/deliveries").get_data(as_text=True)
    assert "ConnectionRefusedError" not in client_as("kac").get("/deliveries").get_data(as_text=True)


def test_changes_of_targets_and_reports_ask_for_a_recompute(client_as, app, seed_bytes):
    """Without Redis the wish is kept in the outbox, in the same transaction as the change."""
    import io

    from service.models import FindingRow, OutboxItem

    finance = client_as("caiwu")
    changed = seed_bytes.decode("utf-8").replace("\t≥5项", "\t≥6项", 1).encode("utf-8")
    response = finance.post("/api/v1/imports", data={"file": (io.BytesIO(changed), "v2.txt"), "year": "2025"})
    assert response.status_code == 200 and response.get_json()["applied"]
    with session_scope(app.extensions["perftrack.engine"]) as session:
        finding = session.exec(select(FindingRow).where(FindingRow.code == "inverted_comparator")).first()
    finance.post(f"/findings/{finding.id}/correct", data={"new_value": "≥90%", "reason": "原表写反"})
    with session_scope(app.extensions["perftrack.engine"]) as session:
        functions = [item.function for item in session.exec(select(OutboxItem).order_by(OutboxItem.id)).all()]
    assert functions == ["workers.jobs.daily_sweep", "workers.jobs.recompute_project"]
