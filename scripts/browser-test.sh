#!/usr/bin/env bash
# The browser end-to-end test: the example server's cookie-mode demo page (GET /) in headless
# Chromium. Installs what it needs when missing (Debian's `chromium` package, the npm packages of
# tests/browser — playwright-core only, no browser download), builds and starts the example server
# on a free localhost port with an in-memory database and non-Secure cookies (plain http), runs
# tests/browser/e2e.mjs against it, and stops the server.
#
# The screenshot is saved as artifacts/browser-e2e.png; the server's log as
# artifacts/browser-e2e-server.log. Exits non-zero when any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
missing=()
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if ! [ -x "$CHROMIUM" ]; then missing+=(chromium); fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if ! command -v curl >/dev/null; then missing+=(curl); fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]} (Debian packages)"
    $sudo_cmd apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y "${missing[@]}"
fi
export CHROMIUM

echo "== npm packages (tests/browser)"
(
    cd tests/browser
    export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund
    else
        npm install --no-audit --no-fund
    fi
)

echo "== building the example server"
cargo build --example api
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
server="$target_dir/debug/examples/api"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
mkdir -p artifacts
log="$root/artifacts/browser-e2e-server.log"

echo "== starting the example server on $base"
# COOKIE_SECURE=false: plain-http development cookies (no Secure flag, no __Host- names), which
# browsers accept from http://127.0.0.1 only because it is localhost.
BIND="127.0.0.1:$port" DATABASE_URL="sqlite::memory:" COOKIE_SECURE=false RUST_LOG=info \
    "$server" >"$log" 2>&1 &
pid=$!
stop() {
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap stop EXIT

for _ in $(seq 1 100); do
    if curl -fsS "$base/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "the example server exited; its log:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.2
done
curl -fsS "$base/health" >/dev/null

echo "== running tests/browser/e2e.mjs"
ARTIFACTS_DIR="$root/artifacts" node tests/browser/e2e.mjs "$base"
