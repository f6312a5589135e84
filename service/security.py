"""What every response carries and how the app reads the proxy in front of it.

`init_app` wires both: werkzeug's ProxyFix for the configured number of trusted proxies (so the
failed-login limit sees the real client address and cookies see HTTPS), and the security headers.
The pages use no inline script or style, so the Content-Security-Policy allows this site only.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .settings import Settings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"  # one year; sent over HTTPS only
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin keeps the Referer the CSRF check needs over HTTPS and sends nothing elsewhere
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask, settings: Settings) -> None:
    if settings.proxy_hops:
        # Trust exactly that many X-Forwarded-For / -Proto entries, counted from the right: what a
        # client writes itself into those headers is never believed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
