#!/usr/bin/env bash
# Runs the README's "In your service" example (examples/service.rs) and drives the README's curl
# session against it: login, a custom claim, a role guard, a permission guard, logout, and the
# logged-out token refused. Exits non-zero on the first difference.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --example service
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
JWT_SECRET="$(head -c 32 /dev/urandom | base64)" BIND="127.0.0.1:$port" \
    "$target_dir/debug/examples/service" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$base/me" && break
    sleep 0.1
done

fail() { echo "readme-service: $*" >&2; exit 1; }
expect() { # expect WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"
    echo "ok: $1"
}

login=$(curl -s "$base/auth/login" -H 'content-type: application/json' \
    -d '{"username":"alice","password":"alice-password"}')
at=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_token"])' "$login")
expect "GET /me" "$(curl -s "$base/me" -H "authorization: Bearer $at")" "u-1 of acme"
expect "GET /admin/stats" "$(curl -s "$base/admin/stats" -H "authorization: Bearer $at")" "admins only"
expect "GET /reports" "$(curl -s "$base/reports" -H "authorization: Bearer $at")" "reports"
expect "wrong password" "$(curl -s -o /dev/null -w '%{http_code}' "$base/auth/login" \
    -H 'content-type: application/json' -d '{"username":"alice","password":"nope"}')" "401"
expect "POST /auth/logout" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/auth/logout" \
    -H "authorization: Bearer $at")" "204"
challenge=$(curl -si "$base/me" -H "authorization: Bearer $at" | tr -d '\r' | grep -i '^www-authenticate:')
expect "logged-out token" "$challenge" \
    'www-authenticate: Bearer realm="api", error="invalid_token", error_description="token revoked"'
