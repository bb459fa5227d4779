#!/usr/bin/env bash
# Property-based run of the example server against its own /openapi.json, with Schemathesis
# (installed with pip when missing): every check it has (no 5xx, no undocumented status, body
# schema, content type and headers as documented, schema-violating requests refused, schema-valid
# ones accepted, declared authentication not ignored, 405 + Allow for other methods), twice: without
# a token, then with a valid bearer token of alice (the admin). It must find nothing.
#
#   scripts/api-fuzz.sh [path/to/examples/api]    # default: builds and runs the release binary
#
# Bounded: a fixed number of examples per operation and a fixed seed (the same cases every run),
# and a time budget per run. Settings: scripts/api-fuzz.toml; the token: scripts/api_fuzz_hooks.py.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${API_FUZZ_EXAMPLES:-30}
SEED=${API_FUZZ_SEED:-13}
BUDGET=${API_FUZZ_SECONDS:-60}

# Run through the interpreter pip installs into, whatever PATH holds.
schemathesis() { python3 -m schemathesis.cli "$@"; }
if ! python3 -c 'import importlib.metadata as m, sys; sys.exit(not m.version("schemathesis").startswith("4."))' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.32,<5'
fi
schemathesis --version

binary=${1:-}
if [[ -z $binary ]]; then
    cargo build --release --example api
    target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    binary="$target_dir/release/examples/api"
fi

work=$(mktemp -d)
server_pid=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# A fresh server per run (an in-memory database and store: no lock-out carried over).
start_server() {
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    env -u REDIS_URL -u JWT_SECRET -u JWT_KEY_FILE -u JWT_ISSUER -u JWT_AUDIENCE \
        BIND="127.0.0.1:$port" DATABASE_URL="sqlite::memory:" RUST_LOG=warn \
        "$binary" 2>"$work/server-$port.log" &
    server_pid=$!
    for _ in $(seq 1 200); do
        if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "the example server did not start:" >&2
    cat "$work/server-$port.log" >&2
    return 1
}

fuzz() {
    local name=$1
    shift
    echo "== Schemathesis: $name"
    local started=$SECONDS
    (cd "$work" && timeout $((BUDGET + 60)) python3 -m schemathesis.cli --config-file "$OLDPWD/scripts/api-fuzz.toml" \
        run "http://127.0.0.1:$port/openapi.json" \
        --checks all --max-examples "$EXAMPLES" --seed "$SEED" --max-time "$BUDGET" \
        --workers 2 --no-color --suppress-health-check too_slow,filter_too_much "$@")
    echo "($name: $((SECONDS - started)) s)"
}

start_server
fuzz "without a token"
stop_server

start_server
PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=api_fuzz_hooks \
    API_FUZZ_USER=alice API_FUZZ_PORT=$port fuzz "with alice's bearer token"
stop_server
