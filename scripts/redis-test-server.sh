#!/usr/bin/env bash
# Starts a throw-away redis-server for the Redis tests and prints `REDIS_URL=redis://127.0.0.1:PORT`
# on stdout (everything else goes to stderr), e.g.:
#   eval "$(scripts/redis-test-server.sh)"; export REDIS_URL
# Installs redis-server from Debian's packages when it is missing. The server listens on loopback
# only, on a free port, keeps nothing on disk (no RDB, no AOF) and runs daemonized; its pid file and
# log are in a fresh temporary directory (printed on stderr). Stop it with
#   kill "$(cat <dir>/redis.pid)"
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis-server missing: installing it from Debian's packages" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y redis-server >&2
fi

# A free loopback port: ask the kernel for one (bind to port 0), then hand it to redis-server.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || true)"
if [ -z "$port" ]; then
    port=$(( 20000 + RANDOM % 20000 ))
fi

dir="$(mktemp -d -t tokengate-redis.XXXXXX)"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >&2

# Wait (bounded) until it answers.
for _ in $(seq 1 100); do
    if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
        echo "redis-server on 127.0.0.1:$port (pid file $dir/redis.pid, log $dir/redis.log)" >&2
        echo "REDIS_URL=redis://127.0.0.1:$port"
        exit 0
    fi
    sleep 0.1
done
echo "redis-server did not start on port $port; log:" >&2
cat "$dir/redis.log" >&2 || true
exit 1
