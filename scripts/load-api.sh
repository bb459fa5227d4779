#!/usr/bin/env bash
# Load test of the example server: GET /me with a valid HS256 token against GET /health, side by
# side in one run. The server (release build) is pinned to core 0, wrk to core 1, loopback only.
# Rounds alternate the two routes so that drift in the machine's load hits both alike; the ratio is
# the median of the per-round ratios.
#
# Usage: scripts/load-api.sh [seconds-per-run] [rounds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-8}
ROUNDS=${2:-5}
CONNECTIONS=${3:-64}

if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk"
    (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) is required"; exit 2; }

echo "== building the example server (release)"
cargo build --release --example api --quiet

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 48)

BIND="127.0.0.1:$PORT" JWT_SECRET="$SECRET" DATABASE_URL="sqlite::memory:" RUST_LOG=warn \
    taskset -c 0 target/release/examples/api &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT

for _ in $(seq 1 200); do
    curl -fsS "$BASE/health" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$BASE/health" >/dev/null

TOKEN=$(curl -fsS -H 'content-type: application/json' \
    -d '{"username":"alice","password":"alice-dev-password"}' "$BASE/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -fsS -H "authorization: Bearer $TOKEN" "$BASE/me" >/dev/null

run() { # route, extra wrk args...; prints requests/sec
    local route=$1
    shift
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$BASE$route" >/tmp/wrk.$$ 2>&1
    local non2xx
    non2xx=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' /tmp/wrk.$$ | grep -Eo '[0-9]+$' || true)
    if [ -n "$non2xx" ]; then
        echo "error: $route answered $non2xx non-2xx responses" >&2
        exit 1
    fi
    grep -E '^Requests/sec' /tmp/wrk.$$ | awk '{print $2}'
}

echo "== $ROUNDS rounds of ${SECONDS_PER_RUN}s per route, $CONNECTIONS connections (server on core 0, wrk on core 1)"
ratios=()
for round in $(seq 1 "$ROUNDS"); do
    health=$(run /health)
    me=$(run /me -H "authorization: Bearer $TOKEN")
    ratio=$(python3 -c "print(f'{$me/$health:.3f}')")
    ratios+=("$ratio")
    echo "round $round: /health $health req/s, /me $me req/s, ratio $ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median ratio /me : /health = $median (target >= 0.85)"
rm -f /tmp/wrk.$$
