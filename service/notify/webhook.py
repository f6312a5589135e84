"""Webhook: a JSON POST signed with HMAC-SHA256 (header X-Perftrack-Signature), whose body also
carries the text-message fields WeCom and DingTalk group robots accept (msgtype/text).

Each destination has its own random signing secret (never SECRET_KEY), shown to its owner on
通知设置.  A destination must be http(s) and every address its host resolves to must be on the
public internet, or in a network the administrator allowed (PERFTRACK_WEBHOOK_ALLOWED_NETWORKS):
checked when the address is saved and again at each delivery, which then connects to exactly
the address it checked (a name that re-resolves to 127.0.0.1 in between gets nowhere) and
follows no redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 15
DEFAULT_PORTS = {"http": 80, "https": 443}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookRefused(ValueError):
    """A webhook destination that may not be called; the message says why (Chinese)."""


def body(alerts, settings) -> bytes:
    text = "\n".join(f"{a.message} {settings.base_url}{a.link}" for a in alerts)
    payload = {
        "msgtype": "text",
        "text": {"content": f"【perftrack】{text}"},
        "alerts": [
            {
                "kind": a.kind,
                "subject": a.subject_code,
                "due": a.due.isoformat() if a.due else None,
                "step": a.step,
                "message": a.message,
                "link": settings.base_url + a.link,
            }
            for a in alerts
        ],
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def signature(data: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def new_secret() -> str:
    return secrets.token_hex(32)


def _permitted(address: IPAddress, allowed_networks) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(address.version == network.version and address in network for network in allowed_networks):
        return True
    return address.is_global and not address.is_multicast


def check_destination(url: str, allowed_networks=()) -> list[IPAddress]:
    """The addresses URL's host resolves to, all of them permitted; WebhookRefused otherwise."""
    parts = urlsplit(url or "")
    if parts.scheme not in DEFAULT_PORTS:
        raise WebhookRefused("Webhook 地址应以 http:// 或 https:// 开头")
    try:
        host, port = parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise WebhookRefused("Webhook 地址的端口无效") from exc
    if not host:
        raise WebhookRefused("Webhook 地址缺少主机名")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("Webhook 地址不能包含用户名或密码")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookRefused(f"无法解析 Webhook 主机名「{host}」") from exc
    addresses: list[IPAddress] = []
    for *_rest, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    for address in addresses:
        if not _permitted(address, allowed_networks):
            raise WebhookRefused(
                f"Webhook 地址「{host}」指向本机、内网或保留地址（{address}），不允许使用；"
                "如确需发往内网，请系统管理员在 PERFTRACK_WEBHOOK_ALLOWED_NETWORKS 中放行该网段"
            )
    if not addresses:
        raise WebhookRefused(f"无法解析 Webhook 主机名「{host}」")
    return addresses


def set_destination(user, url: str | None, allowed_networks=()) -> None:
    """Point USER's webhook at URL (None: no webhook); a new or changed URL gets a new secret."""
    if url is None:
        user.webhook_url = user.webhook_secret = None
        return
    check_destination(url, allowed_networks)
    if url != user.webhook_url or not user.webhook_secret:
        user.webhook_secret = new_secret()
    user.webhook_url = url


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ADDRESS, whatever the host name would resolve to now."""

    def __init__(self, host: str, port: int, address: IPAddress) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ADDRESS, with the certificate checked against the host name."""

    def __init__(self, host: str, port: int, address: IPAddress) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=TIMEOUT_SECONDS, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((str(self.address), self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def send(user, alerts, settings) -> str:
    if not user.webhook_url or not user.webhook_secret:
        raise WebhookRefused("Webhook 没有地址或签名密钥：请在通知设置中重新保存地址")
    address = check_destination(user.webhook_url, settings.webhook_allowed_networks)[0]
    data = body(alerts, settings)
    parts = urlsplit(user.webhook_url)
    connection_type = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_type(parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme], address)
    try:
        connection.request(
            "POST",
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            body=data,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Perftrack-Signature": signature(data, user.webhook_secret),
            },
        )
        status = connection.getresponse().status
    finally:
        connection.close()
    if not 200 <= status < 300:  # a redirect is not followed: it could lead anywhere
        raise RuntimeError(f"HTTP {status}")
    return f"HTTP {status}"
