#!/usr/bin/env bash
# The README's test command. On a fresh machine it installs and starts what the tests need, then
# runs every test:
#   1. a throw-away Redis on a free loopback port (installs redis-server if missing) for the Redis
#      tests — without it they would print "skipped: REDIS_URL unset";
#   2. every Rust test: unit, integration, doc tests and the README's examples, all features;
#   3. the interoperability check with PyJWT (installs PyJWT and cryptography with pip);
#   4. the README's service example, driven by the README's curl session;
#   5. the property-based run of the release example server against its own /openapi.json, with
#      and without a valid token (installs Schemathesis with pip; scripts/api-fuzz.sh);
#   6. the browser end-to-end test of the demo page in headless Chromium (installs chromium and
#      the npm packages of tests/browser).
# Safe to run again: it skips what is already installed. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Redis for the Redis store tests"
redis_line=$(scripts/redis-test-server.sh)
export "${redis_line?}"
redis_port=${REDIS_URL##*:}
stop_redis() { redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; }
trap stop_redis EXIT
echo "REDIS_URL=$REDIS_URL"

echo "== cargo test (all features, all targets)"
cargo test --all-features --all-targets
echo "== cargo test (doc tests, README examples)"
cargo test --all-features --doc

echo "== interoperability with PyJWT (RS256, ES256, EdDSA, HS256)"
if ! python3 -c 'import jwt, cryptography' >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check 'PyJWT[crypto]>=2.8'
fi
cargo build --example api
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
python3 scripts/interop.py "$target_dir/debug/examples/api"

echo "== the README's service (examples/service.rs) and its curl session"
scripts/readme-service.sh

echo "== the example server against its /openapi.json: Schemathesis, release build"
cargo build --release --example api
scripts/api-fuzz.sh "$target_dir/release/examples/api"

echo "== browser end-to-end: the demo page in headless Chromium"
scripts/browser-test.sh
