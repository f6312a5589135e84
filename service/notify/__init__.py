"""Delivery channels, a small registry (as Redash's destinations): in-app inbox, email, webhook.

`deliver` sends one notification on its channel and logs the attempt, whatever the
outcome; a failing channel only fails its own notification (the job retries it with
backoff), never the others.  Retries are capped: after MAX_ATTEMPTS, or at once when the
failure is permanent (a malformed address or header), the notification is marked `failed`
with the reason logged.  The `delivery_attempt` table is the proof of notification.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from sqlalchemy import select
from sqlmodel import Session

from ..clock import clock
from ..domain.vocabulary import Channel
from ..models import Alert, DeliveryAttempt, Notification, User
from . import email, webhook
from .email import PermanentFailure

SENDERS = {Channel.EMAIL: email.send, Channel.WEBHOOK: webhook.send}  # the inbox needs no sending
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
MAX_ATTEMPTS = len(BACKOFF) + 1  # about two and a half hours of retries, then the notification is given up
GIVEN_UP = "不再重试："


def _attempt(send) -> tuple[bool, bool, str]:
    """(ok, permanent, detail) of one call of SEND; every failure is caught and described."""
    try:
        return True, False, str(send())
    except PermanentFailure as exc:
        return False, True, str(exc)
    except Exception as exc:  # noqa: BLE001 - every failure is logged and retried, never raised to other channels
        return False, False, f"{type(exc).__name__}: {exc}"


def _settle(notification: Notification, ok: bool, permanent: bool, detail: str) -> tuple[str, str]:
    """Move NOTIFICATION after an attempt: (outcome, detail to log).  outcome: sent | retrying | failed."""
    if ok:
        notification.state, notification.sent_at = "sent", clock.now()
        return "sent", detail
    if permanent or notification.attempts >= MAX_ATTEMPTS:
        notification.state, notification.next_attempt_at = "failed", None
        why = "无法投递" if permanent else f"已尝试 {notification.attempts} 次"
        return "failed", f"{GIVEN_UP}{why}。{detail}"
    notification.next_attempt_at = clock.now() + BACKOFF[min(notification.attempts, len(BACKOFF)) - 1]
    return "retrying", detail


def deliver(session: Session, notification_id: int, settings) -> str:
    """sent | retrying (failed, will be retried) | failed (given up) | skipped (already settled, or not for
    this channel any more)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.state != "pending" or notification.channel not in SENDERS:
        return "skipped"
    alert = session.get(Alert, notification.alert_id)
    user = session.get(User, notification.user_id)
    notification.attempts += 1
    ok, permanent, detail = _attempt(partial(SENDERS[notification.channel], user, [alert], settings))
    outcome, detail = _settle(notification, ok, permanent, detail)
    session.add(
        DeliveryAttempt(notification_id=notification.id, channel=notification.channel, ok=ok, detail=detail[:2000])
    )
    session.add(notification)
    session.flush()
    return outcome


def send_digests(session: Session, day: date, settings) -> int:
    """One mail per user who chose a daily digest, with every notice waiting for it."""
    waiting = session.execute(
        select(Notification, Alert, User)
        .join(Alert, Alert.id == Notification.alert_id)
        .join(User, User.id == Notification.user_id)
        .where(Notification.state == "digest", Notification.channel == Channel.EMAIL)
        .order_by(Notification.user_id, Alert.id)
    ).all()
    by_user: dict[int, list] = {}
    for notification, alert, user in waiting:
        by_user.setdefault(user.id, []).append((notification, alert, user))
    sent = 0
    for items in by_user.values():
        user = items[0][2]
        ok, permanent, detail = _attempt(
            partial(email.send, user, [alert for _, alert, _ in items], settings, digest_of=day)
        )
        for notification, _alert, _user in items:
            notification.attempts += 1
            if ok or permanent or notification.attempts >= MAX_ATTEMPTS:
                _outcome, logged = _settle(notification, ok, permanent, detail)
            else:
                logged = detail  # still waiting for tomorrow's digest
            session.add(
                DeliveryAttempt(
                    notification_id=notification.id,
                    channel=Channel.EMAIL,
                    ok=ok,
                    detail=f"digest {day.isoformat()}: {logged}"[:2000],
                )
            )
            session.add(notification)
        sent += ok
    session.flush()
    return sent


def retry_due(session: Session) -> list[int]:
    """Failed notifications whose backoff has passed (picked up if their job was lost)."""
    return list(
        session.execute(
            select(Notification.id).where(
                Notification.state == "pending", Notification.attempts > 0, Notification.next_attempt_at <= clock.now()
            )
        ).scalars()
    )
