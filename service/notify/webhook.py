"""Webhook: a JSON POST signed with HMAC-SHA256 (header X-Perftrack-Signature), whose body also
carries the text-message fields WeCom and DingTalk group robots accept (msgtype/text)."""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request


def body(alerts, settings) -> bytes:
    text = "\n".join(f"{a.message} {settings.base_url}{a.link}" for a in alerts)
    payload = {"msgtype": "text", "text": {"content": f"【perftrack】{text}"},
               "alerts": [{"kind": a.kind, "subject": a.subject_code, "due": a.due.isoformat() if a.due else None,
                           "step": a.step, "message": a.message, "link": settings.base_url + a.link} for a in alerts]}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def signature(data: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def send(user, alerts, settings) -> str:
    data = body(alerts, settings)
    request = urllib.request.Request(user.webhook_url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "X-Perftrack-Signature": signature(data, settings.webhook_secret)})
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - URL set by the user/admin
        return f"HTTP {response.status}"
