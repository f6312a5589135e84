"""gunicorn for the web role: `gunicorn -c deploy/gunicorn.conf.py 'service.wsgi:app'`."""

import multiprocessing
import os

bind = os.environ.get("PERFTRACK_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = 2
timeout = 60
accesslog = "-"
forwarded_allow_ips = (
    "127.0.0.1"  # nginx on this host; the app itself reads the proxy headers (ProxyFix, PERFTRACK_PROXY_HOPS)
)
