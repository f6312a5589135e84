#!/usr/bin/env bash
# The installed product, as the Dockerfile installs it: build the wheel, install it (not editable)
# into a fresh venv outside the repository with the locked dependencies, migrate a fresh SQLite
# file, serve it with gunicorn and fetch /login; then run deploy/smoke.sh against that venv.
# Usage: deploy/wheel-check.sh (CI runs it; `make wheel-check`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
work=$(mktemp -d /tmp/perftrack-wheel.XXXXXX)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$repo"
wheel=$(ls "$work"/dist/perftrack-*.whl)
echo "wheel-check: built $(basename "$wheel")"
"$PYTHON" -m venv "$work/venv"
venv="$work/venv/bin"
"$venv/pip" install --quiet --require-hashes -r "$repo/requirements.lock"
"$venv/pip" install --quiet --no-deps "$wheel"

cd "$work"  # nothing from the repository on the import path from here on
location=$("$venv/python" -c 'import service; print(service.__file__)')
case "$location" in
  "$work"/venv/*) ;;
  *) echo "wheel-check: FAILED: service imported from $location, not the installed wheel"; exit 1 ;;
esac

export DATABASE_URL="sqlite:///$work/fresh.db" PERFTRACK_INSTANCE="$work/instance" SECRET_KEY=wheel-check
"$venv/perftrack" db upgrade
port=$("$venv/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/gunicorn" --bind "127.0.0.1:$port" --workers 1 --chdir "$work" service.wsgi:app >"$work/web.log" 2>&1 &
server=$!
if "$venv/python" - "$port" <<'PY'
"""GET /login from the installed app: the page, its template and its static files come from the wheel."""
import sys
import time
import urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 120  # gunicorn's worker imports the app first: slow on a busy machine
while True:
    try:
        with urllib.request.urlopen(f"{base}/login", timeout=30) as response:
            page = response.read().decode()
        break
    except OSError:  # refused while starting, or a timeout
        if time.monotonic() > deadline:
            sys.exit("wheel-check: FAILED: the installed app did not answer on /login")
        time.sleep(0.3)
assert "登录" in page, page[:500]
stylesheets = [part.split('"')[0] for part in page.split('rel="stylesheet" href="')[1:]]
assert stylesheets, "no stylesheet linked from /login"
for path in stylesheets:
    with urllib.request.urlopen(base + path, timeout=5) as response:
        assert response.status == 200 and response.read(), path
print(f"wheel-check: /login and {', '.join(stylesheets)} served by the installed wheel")
PY
then :; else cat "$work/web.log"; exit 1; fi
kill "$server" && wait "$server" 2>/dev/null || true
server=""

cd "$repo"
BIN="$venv" bash deploy/smoke.sh
echo "wheel-check: OK"
