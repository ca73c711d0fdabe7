#!/usr/bin/env bash
# Starts the local services the test suite talks to (PostgreSQL, Redis, NATS with
# JetStream) when they are not running, and installs Debian's Chromium for the browser
# tests when it is missing. Idempotent; safe to run on a machine where all are up.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done
    echo "services: $2 did not come up on port $1" >&2
    return 1
}

status=0
if ! port_open 5432; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    wait_port 5432 PostgreSQL || status=1
fi
if ! port_open 6379; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
    wait_port 6379 Redis || status=1
fi
if ! port_open 4222; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
        -a 127.0.0.1 -p 4222 -js || true
    wait_port 4222 NATS || status=1
fi
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
        >/dev/null || { echo "services: could not install chromium" >&2; status=1; }
fi
if [ "${CI:-}" = "true" ] && [ "$status" != 0 ]; then
    exit 1
fi
exit 0
