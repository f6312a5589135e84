"""Delivery channels against a real SMTP server (aiosmtpd) and a stand-in government webhook:
failures are logged and retried, and one failing channel never blocks another."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import threading
from datetime import date
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from ipaddress import ip_network

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from service.alerting import create_alerts
from service.db import make_engine, session_scope
from service.domain.alerts import AlertSpec
from service.models import DeliveryAttempt, Notification, User
from service.notify import retry_due
from service.notify.webhook import set_destination
from workers import jobs

from .conftest import _free_port


class Mailbox:
    def __init__(self):
        self.messages = []
        self.envelopes = []  # (recipients, raw bytes) as SMTP received them

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        self.envelopes.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class Webhook(BaseHTTPRequestHandler):
    """The external endpoint (the only mock): answers with the next status of `statuses`."""

    statuses: list[int] = []
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append((dict(self.headers), body))
        self.send_response(Webhook.statuses.pop(0) if Webhook.statuses else 200)
        self.end_headers()

    def log_message(self, *_args):
        pass


@pytest.fixture
def smtp_port(monkeypatch):
    port = _free_port()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_FROM", "perftrack@bureau.example")
    return port


@pytest.fixture
def webhook_url(monkeypatch):
    """The stand-in robot listens on loopback, which only an administrator's setting lets webhooks reach."""
    monkeypatch.setenv("PERFTRACK_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Webhook.received.clear()
    yield f"http://127.0.0.1:{server.server_port}/robot"
    server.shutdown()


def _alert_for_xxh(
    seeded_url,
    webhook: str | None,
    address: str = "xxh@bureau.example",
    message: str = "2025年第1季度绩效监控报告已逾期 1 天，请尽快提交",
) -> list[int]:
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == "xxh")).one()
        user.email = address
        set_destination(user, webhook, [ip_network("127.0.0.1/32")])
        session.add(user)
        session.flush()
        spec = AlertSpec(
            "report_overdue",
            "XXH-2025Q1",
            user.division_id,
            date(2025, 4, 10),
            "day1",
            "division",
            message,
            "/reports/XXH/2025Q1",
        )
        _alerts, to_deliver = create_alerts(session, [spec], date(2025, 4, 11))
    engine.dispose()
    return to_deliver


def _webhook_of(seeded_url, notification_ids: list[int]) -> int:
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        found = session.exec(
            select(Notification.id).where(Notification.id.in_(notification_ids), Notification.channel == "webhook")
        ).one()
    engine.dispose()
    return found


def _attempts(seeded_url):
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        rows = [(a.channel, a.ok) for a in session.exec(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()]
        states = {n.channel: n.state for n in session.exec(select(Notification)).all()}
        due = retry_due(session)
    engine.dispose()
    return rows, states, due


def test_smtp_down_is_retried_logged_and_delivered_later(seeded_url, worker_env, smtp_port):
    [notification_id] = _alert_for_xxh(seeded_url, None)
    with pytest.raises(RuntimeError, match="not delivered yet"):
        jobs.deliver(notification_id)  # nobody listens on the port yet: RQ would retry with backoff
    rows, states, _due = _attempts(seeded_url)
    assert rows == [("email", False)] and states["email"] == "pending" and states["inbox"] == "sent"
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        assert jobs.deliver(notification_id) == "sent"
        assert jobs.deliver(notification_id) == "skipped"  # a retried job sends nothing twice
    finally:
        controller.stop()
    rows, states, _due = _attempts(seeded_url)
    assert rows == [("email", False), ("email", True)] and states["email"] == "sent"
    [message] = mailbox.messages
    assert message["To"].addresses[0].addr_spec == "xxh@bureau.example" and "报告逾期" in message["Subject"]
    assert "http://127.0.0.1:5000/reports/XXH/2025Q1" in message.get_body(("plain",)).get_content()
    assert "去处理" in message.get_body(("html",)).get_content()


def test_a_failing_webhook_is_retried_and_does_not_hold_up_email(seeded_url, worker_env, smtp_port, webhook_url):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    Webhook.statuses = [500]
    try:
        ids = _alert_for_xxh(seeded_url, webhook_url)
        outcomes = []
        for notification_id in ids:
            try:
                outcomes.append(jobs.deliver(notification_id))
            except RuntimeError:
                outcomes.append("failed")
        assert sorted(outcomes) == ["failed", "sent"] and len(mailbox.messages) == 1
        rows, states, _due = _attempts(seeded_url)
        assert states == {"inbox": "sent", "email": "sent", "webhook": "pending"}
        webhook_id = next(i for i, o in zip(ids, outcomes, strict=True) if o == "failed")
        assert jobs.deliver(webhook_id) == "sent"
    finally:
        controller.stop()
    rows, states, _due = _attempts(seeded_url)
    assert sorted(rows) == [("email", True), ("webhook", False), ("webhook", True)] and states["webhook"] == "sent"
    headers, body = Webhook.received[-1]
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:  # the destination's own secret, never SECRET_KEY
        secret = session.exec(select(User.webhook_secret).where(User.username == "xxh")).one()
    engine.dispose()
    assert len(secret) == 64 and secret != "test"
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Perftrack-Signature"] == expected
    payload = json.loads(body)
    assert payload["msgtype"] == "text" and "已逾期 1 天" in payload["text"]["content"]
    assert payload["alerts"][0]["subject"] == "XXH-2025Q1"


def test_failed_notifications_come_due_for_retry_after_their_backoff(seeded_url, worker_env):
    from datetime import timedelta

    from service.clock import clock

    [notification_id] = _alert_for_xxh(seeded_url, None)  # no SMTP_HOST configured: fails
    with pytest.raises(RuntimeError):
        jobs.deliver(notification_id)
    assert _attempts(seeded_url)[2] == []
    clock.set_today(clock.today() + timedelta(days=1))
    assert _attempts(seeded_url)[2] == [notification_id]


def test_a_daily_digest_sends_one_mail_with_every_waiting_notice(seeded_url, worker_env, smtp_port):
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == "xxh")).one()
        user.email, user.email_digest = "xxh@bureau.example", True
        session.add(user)
        session.flush()
        specs = [
            AlertSpec(
                "report_overdue",
                "XXH-2025Q1",
                user.division_id,
                date(2025, 4, 10),
                f"day{n}",
                "division",
                f"报告已逾期 {n} 天",
                "/reports/XXH/2025Q1",
            )
            for n in (1, 2)
        ]
        _alerts, to_deliver = create_alerts(session, specs, date(2025, 4, 12))
    engine.dispose()
    assert to_deliver == []  # nothing sent one by one
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        assert jobs.daily_digest("2025-04-12") == 1
        assert jobs.daily_digest("2025-04-12") == 0  # sent once
    finally:
        controller.stop()
    [message] = mailbox.messages
    assert "2025-04-12 绩效提醒汇总（2 条）" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "报告已逾期 1 天" in body and "报告已逾期 2 天" in body
    rows, states, _due = _attempts(seeded_url)
    assert rows == [("email", True), ("email", True)] and states["email"] == "sent"


def test_a_webhook_pointing_inside_at_delivery_time_is_refused(seeded_url, worker_env):
    """Saved while allowed (or while its name resolved outside: DNS rebinding), checked again when sent."""
    server = HTTPServer(("127.0.0.1", 0), Webhook)  # an internal service someone wants the worker to call
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Webhook.received.clear()
    try:
        webhook_id = _webhook_of(seeded_url, _alert_for_xxh(seeded_url, f"http://localhost:{server.server_port}/admin"))
        with pytest.raises(RuntimeError, match="not delivered yet"):
            jobs.deliver(webhook_id)
    finally:
        server.shutdown()
    assert Webhook.received == []
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        [attempt] = session.exec(select(DeliveryAttempt).where(DeliveryAttempt.channel == "webhook")).all()
    engine.dispose()
    assert not attempt.ok and "指向本机、内网或保留地址（127.0.0.1）" in attempt.detail


def test_a_webhook_redirect_is_not_followed(seeded_url, worker_env, webhook_url):
    Webhook.statuses = [302]
    webhook_id = _webhook_of(seeded_url, _alert_for_xxh(seeded_url, webhook_url))
    with pytest.raises(RuntimeError):
        jobs.deliver(webhook_id)
    rows, states, _due = _attempts(seeded_url)
    assert rows == [("webhook", False)] and states["webhook"] == "pending" and len(Webhook.received) == 1


@pytest.fixture
def mailbox(smtp_port):
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    controller.stop()


def _email_notification(seeded_url) -> Notification:
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        found = session.exec(select(Notification).where(Notification.channel == "email")).one()
    engine.dispose()
    return found


def test_a_line_break_in_an_indicator_name_gives_a_one_line_folded_subject(seeded_url, worker_env, mailbox):
    # A .docx cell with two paragraphs becomes a name with a line break; the alert message carries it.
    long_name = "跨境电商公共海外仓\n建设项目（第二段）\u2028" + "完成" * 60
    [notification_id] = _alert_for_xxh(
        seeded_url, None, message=f"指标「{long_name}」已逾期\r\nBcc: outsider@evil.example"
    )
    assert jobs.deliver(notification_id) == "sent"
    [(recipients, raw)] = mailbox.envelopes
    assert recipients == ["xxh@bureau.example"]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc" not in head and all(len(line) <= 78 for line in head.split(b"\r\n"))  # folded by the policy
    [message] = mailbox.messages
    assert "\n" not in message["Subject"] and "建设项目（第二段）" in message["Subject"] and message["Bcc"] is None
    assert message["Subject"].startswith("[perftrack] 报告逾期：指标「跨境电商公共海外仓 建设项目")


def test_an_address_field_holding_two_addresses_is_never_delivered_and_not_retried(seeded_url, worker_env, mailbox):
    [notification_id] = _alert_for_xxh(seeded_url, None, address="a@example.gov, outsider@evil.example")
    assert jobs.deliver(notification_id) == "failed"  # no exception: RQ does not retry it
    assert jobs.deliver(notification_id) == "skipped"
    assert mailbox.envelopes == []
    notification = _email_notification(seeded_url)
    assert (notification.state, notification.attempts) == ("failed", 1)
    rows, _states, due = _attempts(seeded_url)
    assert rows == [("email", False)] and due == []
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        detail = session.exec(select(DeliveryAttempt.detail)).one()
    engine.dispose()
    assert detail.startswith("不再重试：无法投递。") and "只能填写一个地址" in detail


def test_temporary_failures_are_retried_a_bounded_number_of_times_then_marked_failed(seeded_url, worker_env):
    from datetime import timedelta

    from service.clock import clock
    from service.notify import MAX_ATTEMPTS

    [notification_id] = _alert_for_xxh(seeded_url, None)  # no SMTP_HOST configured: fails every time
    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(RuntimeError, match="retrying"):
            jobs.deliver(notification_id)
        clock.set_today(clock.today() + timedelta(days=1))
        assert _attempts(seeded_url)[2] == [notification_id], attempt
    assert jobs.deliver(notification_id) == "failed"
    clock.set_today(clock.today() + timedelta(days=30))
    rows, states, due = _attempts(seeded_url)
    assert rows == [("email", False)] * MAX_ATTEMPTS and states["email"] == "failed" and due == []
    assert jobs.drain_outbox() == 0 and jobs.deliver(notification_id) == "skipped"


def test_the_delivery_log_shows_a_given_up_notification_and_its_reason(seeded_url, worker_env, mailbox, app, client):
    [notification_id] = _alert_for_xxh(seeded_url, None, address="not an address")
    assert jobs.deliver(notification_id) == "failed"
    page = client.get("/deliveries").get_data(as_text=True)
    assert "已放弃" in page and "不再重试" in page and "邮箱地址无效" in page


def test_a_digest_to_an_invalid_address_is_marked_failed_once(seeded_url, worker_env, mailbox):
    engine = make_engine(seeded_url)
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == "xxh")).one()
        user.email, user.email_digest = "xxh@bureau.example;boss@bureau.example", True
        session.add(user)
        session.flush()
        spec = AlertSpec(
            "report_overdue",
            "XXH-2025Q1",
            user.division_id,
            date(2025, 4, 10),
            "day1",
            "division",
            "报告已逾期 1 天",
            "/reports/XXH/2025Q1",
        )
        create_alerts(session, [spec], date(2025, 4, 11))
    engine.dispose()
    assert jobs.daily_digest("2025-04-11") == 0
    assert jobs.daily_digest("2025-04-12") == 0  # nothing waits any more: not tried again
    assert mailbox.envelopes == []
    rows, states, _due = _attempts(seeded_url)
    assert rows == [("email", False)] and states["email"] == "failed"


def test_the_settings_page_takes_exactly_one_valid_address(client_as, app):
    client = client_as("xxh")
    for typed in (
        "a@example.gov, outsider@evil.example",
        "a@example.gov;b@example.gov",
        "a@example.gov b@x.cn",
        "a@example.gov\nBcc: b@x.cn",
        "张三 <a@example.gov>",
    ):
        page = client.post("/notifications/settings", data={"email": typed}, follow_redirects=True)
        text = page.get_data(as_text=True)
        assert "邮箱" in text and ("只能填写一个地址" in text or "格式不正确" in text), typed
    client.post("/notifications/settings", data={"email": " Xxh@例子.中国 "})
    with session_scope(app.extensions["perftrack.engine"]) as session:
        user = session.exec(select(User).where(User.username == "xxh")).one()
        assert user.email == "Xxh@xn--fsqu00a.xn--fiqs8s"
