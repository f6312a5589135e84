#!/usr/bin/env bash
# Smoke test of the production topology on one machine, without Docker: PostgreSQL and Redis
# (Debian packages), web on gunicorn behind nginx, two workers and the scheduler (plus a second,
# standby scheduler that must stay idle).  It submits a report through the API and waits for the
# recomputed status and the alert the worker raises.  Usage: deploy/smoke.sh (CI runs it).
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
PGPORT=$(free_port); REDISPORT=$(free_port); WEBPORT=$(free_port); NGINXPORT=$(free_port)
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
export SECRET_KEY=smoke-secret PERFTRACK_ENV=production PERFTRACK_INSTANCE="$work/instance"
export PERFTRACK_TODAY=2025-07-05 PERFTRACK_BASE_URL="http://127.0.0.1:$NGINXPORT"
perftrack="$BIN/perftrack"
"$perftrack" db upgrade >/dev/null
"$perftrack" import service/sample_data/tianjin-commerce-2025-performance-targets.txt >/dev/null
"$perftrack" users create --name xxh --role reporter --division XXH --password smoke-password >/dev/null
"$perftrack" users create --name caiwu --role finance --password smoke-password >/dev/null
TOKEN=$("$perftrack" users token --name xxh)

PERFTRACK_BIND="127.0.0.1:$WEBPORT" WEB_CONCURRENCY=2 "$BIN/gunicorn" -c deploy/gunicorn.conf.py service.wsgi:app \
  >"$work/web.log" 2>&1 &
pids+=($!)
for role in worker worker scheduler scheduler; do
  "$perftrack" "$role" >"$work/$role.$RANDOM.log" 2>&1 &
  pids+=($!)
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
  upstream perftrack_web { server 127.0.0.1:$WEBPORT; }
  server {
    listen 127.0.0.1:$NGINXPORT;
    client_max_body_size 25m;
    location / { proxy_pass http://perftrack_web; proxy_set_header Host \$host;
                 proxy_set_header X-Forwarded-Proto \$scheme; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)

"$BIN/python" - "$NGINXPORT" "$TOKEN" <<'PY'
"""Through nginx: fill and submit 电子商务和信息化处's Q2 via the API, then wait for the worker's results."""
import json
import sys
import time
import urllib.error
import urllib.request

port, token = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}/api/v1"


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                              **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read()), response.headers


for attempt in range(60):  # wait for gunicorn behind nginx
    try:
        call("GET", "/me")
        break
    except (urllib.error.URLError, ConnectionError):
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
