#!/usr/bin/env bash
# Measures whether a flood of logins (argon2id at the OWASP parameters) stalls token-protected
# routes: p50/p99 of GET /protected alone, then while logins run, and the ratio of the p99s.
#
# The hard way: the server is confined to ONE core (taskset -c 0), the load generators run on
# another (taskset -c 1); 64 connections on the protected route, 2 on /auth/login with the right
# password; fixed duration per phase; loopback only. Target: p99 under the login flood within 3x
# of p99 alone.
#
# Usage: scripts/load-login.sh            (DURATION=15 seconds per phase, PORT=3900)
#        HASH_WORKERS=1 HASH_QUEUE=4 HASH_LOW_PRIORITY=0 scripts/load-login.sh   (pool settings)
# Needs: Linux with >= 2 cores, taskset, curl; installs wrk with apt-get when missing.
set -euo pipefail

DURATION="${DURATION:-15}"
PORT="${PORT:-3900}"
ADDR="127.0.0.1:${PORT}"
SERVER_CPU="${SERVER_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
PROTECTED_CONNS=64
LOGIN_CONNS=2
USERNAME=load
PASSWORD=load-test-password

cd "$(dirname "$0")/.."

die() { echo "load-login: $*" >&2; exit 1; }

[ "$(nproc --all)" -ge 2 ] || die "needs at least 2 cores (server and load generators apart)"
command -v taskset >/dev/null || die "taskset missing (util-linux)"
command -v curl >/dev/null || die "curl missing"
if ! command -v wrk >/dev/null; then
    echo "load-login: installing wrk with apt-get" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get install -y wrk >/dev/null || die "cannot install wrk (apt-get install wrk)"
fi

echo "load-login: building the release server (examples/login_load.rs)" >&2
cargo build --release --example login_load >&2
BIN="${CARGO_TARGET_DIR:-target}/release/examples/login_load"
[ -x "$BIN" ] || die "no binary at $BIN"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

BIND="$ADDR" taskset -c "$SERVER_CPU" "$BIN" 2>"$WORK/server.log" &
SERVER_PID=$!

login_body="{\"username\":\"${USERNAME}\",\"password\":\"${PASSWORD}\"}"
TOKEN=""
for _ in $(seq 1 60); do
    if answer="$(curl -sf -X POST -H 'content-type: application/json' -d "$login_body" "http://${ADDR}/auth/login" 2>/dev/null)"; then
        TOKEN="$(printf '%s' "$answer" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server exited"; }
    sleep 0.5
done
[ -n "$TOKEN" ] || die "cannot log in to the server at ${ADDR}"
status="$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer ${TOKEN}" "http://${ADDR}/protected")"
[ "$status" = 200 ] || die "GET /protected answered ${status}, not 200"

# Percentiles straight from wrk's histogram (microseconds), and the non-2xx count.
cat >"$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("P50_US=%d\nP99_US=%d\nREQUESTS=%d\nNON2XX=%d\nSOCKET_ERRORS=%d\n",
    latency:percentile(50), latency:percentile(99), summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF
cat >"$WORK/login.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '${login_body}'
EOF
cat "$WORK/report.lua" >>"$WORK/login.lua"

protected() {
    taskset -c "$LOAD_CPU" wrk -t1 -c"$PROTECTED_CONNS" -d"${DURATION}s" --timeout 10s \
        -H "Authorization: Bearer ${TOKEN}" -s "$WORK/report.lua" "http://${ADDR}/protected" >"$1"
}
val() { sed -n "s/^$1=//p" "$2"; }

echo "load-login: phase 1: GET /protected alone, ${PROTECTED_CONNS} connections, ${DURATION}s" >&2
protected "$WORK/alone.txt"

echo "load-login: phase 2: the same while ${LOGIN_CONNS} connections log in" >&2
taskset -c "$LOAD_CPU" wrk -t1 -c"$LOGIN_CONNS" -d"$((DURATION + 4))s" --timeout 10s \
    -s "$WORK/login.lua" "http://${ADDR}/auth/login" >"$WORK/logins.txt" &
LOGIN_PID=$!
sleep 2 # let the login flood start first
protected "$WORK/flood.txt"
wait "$LOGIN_PID"

a50="$(val P50_US "$WORK/alone.txt")"; a99="$(val P99_US "$WORK/alone.txt")"
f50="$(val P50_US "$WORK/flood.txt")"; f99="$(val P99_US "$WORK/flood.txt")"
for f in alone flood; do
    [ "$(val NON2XX "$WORK/$f.txt")" = 0 ] || die "GET /protected had non-2xx answers in phase $f"
done
logins="$(val REQUESTS "$WORK/logins.txt")"; login_non2xx="$(val NON2XX "$WORK/logins.txt")"

printf '\nserver: %s on cpu %s; load: wrk on cpu %s; %ss per phase; loopback %s\n' \
    "$(sed -n 1p "$WORK/server.log")" "$SERVER_CPU" "$LOAD_CPU" "$DURATION" "$ADDR"
printf '%-32s %10s %10s %10s\n' "GET /protected" "p50 (ms)" "p99 (ms)" "requests"
ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }
printf '%-32s %10s %10s %10s\n' "alone" "$(ms "$a50")" "$(ms "$a99")" "$(val REQUESTS "$WORK/alone.txt")"
printf '%-32s %10s %10s %10s\n' "with ${LOGIN_CONNS} connections logging in" "$(ms "$f50")" "$(ms "$f99")" "$(val REQUESTS "$WORK/flood.txt")"
printf 'logins during phase 2: %s requests, %s non-2xx (429/503 when the hashing pool is full)\n' "$logins" "$login_non2xx"
ratio="$(awk -v f="$f99" -v a="$a99" 'BEGIN { printf "%.2f", f / a }')"
printf 'p99 ratio (flood / alone): %sx  (target: <= 3x)\n' "$ratio"
if awk -v r="$ratio" 'BEGIN { exit !(r <= 3) }'; then echo "target met"; else echo "target MISSED"; fi
