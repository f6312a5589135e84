#!/usr/bin/env bash
# Smoke test of the production topology on one machine, without Docker: PostgreSQL and Redis
# (Debian packages), web on gunicorn behind the shipped deploy/nginx.conf with TLS (a self-signed
# certificate made for the run), two workers and the scheduler (plus a second, standby scheduler that
# must stay idle).  It checks that the placeholder SECRET_KEY is refused, that plain HTTP redirects,
# the security headers, the Secure session cookie and that the app sees the real client address
# through the proxy; then it submits a report through the API and waits for the recomputed status and
# the alert the worker raises.  Usage: deploy/smoke.sh (CI runs it);
# BIN=VENV/bin picks the installation to run (default .venv/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
work=$(mktemp -d /tmp/perftrack-smoke.XXXXXX)
chmod 755 "$work"
pids=()
free_port() { "$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${PGBIN:-}" ] && as_postgres "$PGBIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGPORT=$(free_port); REDISPORT=$(free_port); WEBPORT=$(free_port); NGINXPORT=$(free_port); HTTPPORT=$(free_port)
mkdir -p "$work/pg" "$work/sock" "$work/instance"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg" "$work/sock"
as_postgres "$PGBIN/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_postgres "$PGBIN/pg_ctl" -D "$work/pg" -w -l "$work/sock/pg.log" start \
  -o "-p $PGPORT -k $work/sock -c listen_addresses=127.0.0.1" >/dev/null
as_postgres "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE perftrack" >/dev/null
redis-server --port "$REDISPORT" --bind 127.0.0.1 --save "" --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)

export DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/perftrack"
export REDIS_URL="redis://127.0.0.1:$REDISPORT/0"
export PERFTRACK_ENV=production PERFTRACK_INSTANCE="$work/instance"
export PERFTRACK_TODAY=2025-07-05 PERFTRACK_BASE_URL="https://127.0.0.1:$NGINXPORT"
perftrack="$BIN/perftrack"
placeholder=$(sed -n 's/^SECRET_KEY=//p' deploy/.env.example)
if SECRET_KEY="$placeholder" "$perftrack" db upgrade >"$work/refused.log" 2>&1 \
   || ! grep -q "SECRET_KEY 不能用于生产环境" "$work/refused.log"; then
  echo "smoke: FAILED: production started with the example SECRET_KEY"; cat "$work/refused.log"; exit 1
fi
echo "smoke: the example SECRET_KEY is refused in production"
SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')
export SECRET_KEY
"$perftrack" db upgrade >/dev/null
"$perftrack" divisions sample >/dev/null
"$perftrack" import service/sample_data/tianjin-commerce-2025-performance-targets.txt >/dev/null
"$perftrack" users create --name xxh --role reporter --division XXH --password smoke-password >/dev/null
"$perftrack" users create --name caiwu --role finance --password smoke-password >/dev/null
TOKEN=$("$perftrack" users token --name xxh 2>/dev/null)

# --chdir: gunicorn puts its working directory first on the import path; outside the repository it
# imports the installed package (what deploy/wheel-check.sh runs this against).
PERFTRACK_BIND="127.0.0.1:$WEBPORT" WEB_CONCURRENCY=2 "$BIN/gunicorn" -c deploy/gunicorn.conf.py --chdir "$work" \
  service.wsgi:app >"$work/web.log" 2>&1 &
pids+=($!)
for role in worker worker scheduler scheduler; do
  "$perftrack" "$role" >"$work/$role.$RANDOM.log" 2>&1 &
  pids+=($!)
done
# The shipped server blocks, with this run's ports and certificate: every edit must match, so a change
# to deploy/nginx.conf's shape fails here instead of going untested.
bash deploy/tls-selfsigned.sh "$work/tls" 127.0.0.1
site="$work/perftrack-site.conf"
sed -e "s|listen 80;|listen 127.0.0.1:$HTTPPORT;|" -e "s|listen 443 ssl;|listen 127.0.0.1:$NGINXPORT ssl;|" \
    -e "s|/etc/nginx/tls/|$work/tls/|g" -e "s|server 127.0.0.1:8000;|server 127.0.0.1:$WEBPORT;|" \
    deploy/nginx.conf >"$site"
for edited in "listen 127.0.0.1:$HTTPPORT;" "listen 127.0.0.1:$NGINXPORT ssl;" "$work/tls/perftrack.key" \
              "server 127.0.0.1:$WEBPORT;"; do
  grep -qF "$edited" "$site" || { echo "smoke: FAILED: deploy/nginx.conf has no place for: $edited"; exit 1; }
done
cat >"$work/nginx.conf" <<NGINX
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events {}
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  include $site;
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)

"$BIN/python" - "$NGINXPORT" "$HTTPPORT" "$work/tls/perftrack.crt" "$DATABASE_URL" <<'PY'
"""Through nginx: the redirect to HTTPS, the headers, the Secure cookie and the client address the app sees."""
import http.client
import re
import ssl
import sys
import time
import urllib.parse

import psycopg

port, http_port, certificate, database_url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
tls = ssl.create_default_context(cafile=certificate)
CLIENT = "127.0.0.2"  # another loopback address: what nginx sees, while gunicorn sees nginx at 127.0.0.1


def fetch(method, path, body=None, headers=None, secure=True):
    if secure:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=tls, timeout=30,
                                                 source_address=(CLIENT, 0))
    else:
        connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30, source_address=(CLIENT, 0))
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def check(condition, message):
    if not condition:
        sys.exit(f"smoke: FAILED: {message}")


for attempt in range(60):  # wait for gunicorn behind nginx
    try:
        if fetch("GET", "/login").status == 200:
            break
    except OSError:
        pass
    time.sleep(0.5)
plain = fetch("GET", "/reports?year=2025", secure=False)
check(plain.status == 301 and plain.getheader("Location", "").startswith("https://")
      and plain.getheader("Location").endswith("/reports?year=2025"), f"HTTP does not redirect: {plain.status}")
check(plain.getheader("Server") == "nginx", f"nginx shows its version: {plain.getheader('Server')}")
page = fetch("GET", "/login")
expected = {"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "Strict-Transport-Security": "max-age="}
for name, start in expected.items():
    check((page.getheader(name) or "").startswith(start), f"{name} is {page.getheader(name)!r}")
check(page.getheader("Server") == "nginx", f"nginx shows its version: {page.getheader('Server')}")
print("smoke: HTTP redirects to HTTPS; CSP, HSTS, X-Frame-Options, nosniff, Referrer-Policy present; no version")


def login(password, spoofed):
    """A login form as a browser sends it: its cookie, CSRF token and same-origin Referer."""
    form = http.client.HTTPSConnection("127.0.0.1", port, context=tls, timeout=30, source_address=(CLIENT, 0))
    form.request("GET", "/login")
    response = form.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "username": "caiwu", "password": password})
    form.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
        "Referer": f"https://127.0.0.1:{port}/login", "X-Forwarded-For": spoofed})
    response = form.getresponse()
    response.read()
    form.close()
    return response


failed = login("wrong-password", spoofed="203.0.113.99")
check(failed.status == 401, f"a wrong password answered {failed.status}")
with psycopg.connect(database_url) as connection:
    addresses = [row[0] for row in connection.execute("SELECT remote_addr FROM login_failure")]
check(addresses == [CLIENT], f"the app saw the failed login from {addresses}, not from {CLIENT}")
print(f"smoke: the app sees the real client address through nginx ({CLIENT}; a forged X-Forwarded-For is ignored)")
good = login("smoke-password", spoofed="203.0.113.99")
cookie = good.getheader("Set-Cookie") or ""
check(good.status == 302 and "Secure" in cookie and "HttpOnly" in cookie, f"login: {good.status} {cookie!r}")
session = cookie.split(";")[0]
check(fetch("GET", "/reports", headers={"Cookie": session}).status == 200, "the Secure session does not work")
print("smoke: the session cookie is Secure and HttpOnly, and works over HTTPS")
PY

"$BIN/python" - "$NGINXPORT" "$TOKEN" "$work/tls/perftrack.crt" <<'PY'
"""Through nginx: fill and submit 电子商务和信息化处's Q2 via the API, then wait for the worker's results."""
import json
import ssl
import sys
import time
import urllib.request

port, token, certificate = sys.argv[1], sys.argv[2], sys.argv[3]
base = f"https://127.0.0.1:{port}/api/v1"
tls = ssl.create_default_context(cafile=certificate)


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                              **(headers or {})})
    with urllib.request.urlopen(request, timeout=30, context=tls) as response:
        return json.loads(response.read()), response.headers


started = time.time()
while True:  # wait for gunicorn behind nginx
    try:
        call("GET", "/me")
        break
    except OSError:  # refused, or no answer yet while gunicorn's workers import the app (slow on a busy machine)
        if time.time() - started > 180:
            raise
        time.sleep(0.5)
report, headers = call("GET", "/reports/XXH/2025Q2")
values = []
for row in report["actuals"]:
    if row["indicator"] == "2025-001.01":  # 1 of ≥5 by mid-year: lagging, with its cause
        values.append({"indicator": row["indicator"], "value": "1", "likelihood": "有可能", "cause_category": "经费保障",
                       "cause_text": "资金下达晚", "measure_text": "三季度集中实施"})
    elif row["measure"] == "event":
        values.append({"indicator": row["indicator"], "value": "未完成", "expected_on": "2025-12-20",
                       "likelihood": "确定能"})
    elif row["measure"] == "statement":
        values.append({"indicator": row["indicator"], "value": "按计划推进", "likelihood": "确定能"})
    else:
        target = row["target"]
        number = "".join(ch for ch in target if ch.isdigit() or ch == ".") or "1"
        values.append({"indicator": row["indicator"], "value": number, "likelihood": "确定能",
                       "cause_category": "其他", "cause_text": "按目标值填报", "measure_text": "持续跟踪"})
spend = [{"project": p["project"], "spent": str(round(float(p["initial_budget"]) / 2, 2))} for p in report["spend"]]
saved, headers = call("PUT", "/reports/XXH/2025Q2", {"actuals": values, "spend": spend}, {"If-Match": headers["ETag"]})
submitted, _ = call("POST", "/reports/XXH/2025Q2/transitions", {"action": "submit"}, {"If-Match": headers["ETag"]})
print(f"smoke: saved version {saved['version']}, submitted (version {submitted['version']})")
deadline = time.time() + 90
status = inbox = None
while time.time() < deadline:
    status, _ = call("GET", "/projects/2025-001/status")
    inbox, _ = call("GET", "/inbox")
    if status["as_of"] == "2025-07-05" and any(i["kind"] == "lagging" for i in inbox["items"]):
        break
    time.sleep(1)
else:
    sys.exit(f"smoke: FAILED: status {status} inbox {inbox}")
lagging = next(i for i in status["indicators"] if i["indicator"] == "2025-001.01")
assert lagging["status"] == "lagging", lagging
print(f"smoke: project 2025-001 recomputed as of {status['as_of']}: {status['status']} {status['counts']}")
print(f"smoke: alert in the inbox: {next(i['message'] for i in inbox['items'] if i['kind'] == 'lagging')}")
PY
leaders=$(grep -l "scheduler leads (" "$work"/scheduler.*.log | wc -l)
waiting=$(grep -l "another scheduler leads; waiting" "$work"/scheduler.*.log | wc -l)
echo "smoke: schedulers leading: $leaders, waiting: $waiting"
if [ "$leaders" != 1 ] || [ "$waiting" != 1 ]; then echo "smoke: FAILED: expected one leader and one standby"; exit 1; fi
echo "smoke: OK"
