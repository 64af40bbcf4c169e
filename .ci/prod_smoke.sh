#!/usr/bin/env bash
# CI: serve the log-in page as production does. collectstatic with production settings (the manifest storage
# fails on a file that a vendored CSS/JS names but nobody vendored), check --deploy, then gunicorn with
# production settings on loopback against PostgreSQL, and fetch /healthz, /accounts/login/ and its static files.
# Runs alone too: .ci/prod_smoke.sh (needs .venv, PostgreSQL at 127.0.0.1:5432 with user postgres, trust).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG=${GONGYU_CI_PG:-postgres://postgres@127.0.0.1:5432}
DB=gongyu_ci_prod
TMP=$(mktemp -d /tmp/gongyu-prod-smoke.XXXXXX)
SERVER_PID=""
REDIS_PID=""

stop() {
  # Only the processes this script started, by their id.
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap stop EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Production refuses to start without a shared cache (REDIS_URL): a Redis of its own on loopback when the
# machine has one; otherwise the address is only named (these pages do not reach the cache).
REDIS_PORT=$(free_port)
if command -v redis-server >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no >"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
else
  echo "[ci] prod smoke: redis-server is not installed; REDIS_URL names an address nothing listens on"
fi

export GONGYU_ENV=production
SECRET_KEY="ci-$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
GONGYU_FIELD_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
GONGYU_AUDIT_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export SECRET_KEY GONGYU_FIELD_KEY GONGYU_AUDIT_KEY
export ALLOWED_HOSTS=gongyu.example.edu.cn
export DATABASE_URL="$PG/$DB"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export GONGYU_VAR_DIR="$TMP/var"  # STATIC_ROOT is its static/ folder
export LOG_LEVEL=WARNING

echo "[ci] prod smoke: scratch database $DB (dropped and created again)"
"$PY" - "$PG/postgres" "$DB" <<'EOF'
import sys

import psycopg

with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{sys.argv[2]}"')
EOF
"$PY" manage.py migrate --no-input -v 0
echo "[ci] prod smoke: collectstatic with production settings"
"$PY" manage.py collectstatic --no-input -v 1
echo "[ci] prod smoke: check --deploy with production settings"
"$PY" manage.py check --deploy --fail-level WARNING

PORT=$(free_port)
echo "[ci] prod smoke: gunicorn with production settings on 127.0.0.1:$PORT"
"$PY" -m gunicorn gongyu.wsgi -b "127.0.0.1:$PORT" -w 2 --threads 2 --log-level warning \
  --error-logfile "$TMP/gunicorn.log" &
SERVER_PID=$!

"$PY" - "$PORT" <<'EOF' || { echo "[ci] prod smoke FAILED; gunicorn's log:"; cat "$TMP/gunicorn.log"; exit 1; }
"""Fetch through the server as the TLS proxy would forward a browser's requests."""
import re
import sys
import time
import urllib.error
import urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
headers = {"Host": "gongyu.example.edu.cn", "X-Forwarded-Proto": "https"}


def get(path):
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


deadline = time.time() + 60
while True:
    try:
        status, body = get("/healthz")
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("no answer from gunicorn after 60 s")
        time.sleep(0.3)
assert status == 200 and b'"ok"' in body, (status, body[:300])
print("[ci] prod smoke: /healthz 200")
status, body = get("/accounts/login/")
assert status == 200, (status, body[:500])
print("[ci] prod smoke: /accounts/login/ 200")
# The page names its static files by their hashed names from the manifest; each of them answers.
names = sorted(set(re.findall(rb'(?:href|src)="(/static/[^"]+)"', body)))
assert any(re.search(rb"bootstrap\.min\.[0-9a-f]{12}\.css$", n) for n in names), names
for name in names:
    status, content = get(name.decode())
    assert status == 200 and content, (name, status)
    print(f"[ci] prod smoke: {name.decode()} 200 ({len(content)} bytes)")
    # And the files a stylesheet names in turn (the icon fonts), by their hashed names too.
    if name.endswith(b".css"):
        folder = name.decode().rsplit("/", 1)[0]
        for ref in sorted(set(re.findall(rb'url\("?((?!data:)[^")?#]+)', content))):
            status, data = get(f"{folder}/{ref.decode()}")
            assert status == 200 and data, (ref, status)
            print(f"[ci] prod smoke: {folder}/{ref.decode()} 200 ({len(data)} bytes)")
EOF
echo "[ci] prod smoke passed"
