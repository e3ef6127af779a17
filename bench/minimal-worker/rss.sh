#!/usr/bin/env bash
# The local runtime's own memory per request: a one-line Worker (worker.js) under plain
# `workerd serve` and under `wrangler dev`, 10,000 requests each, RSS of workerd every 2000.
# Run from the repository root inside netns-run (port 18702): netns-run bash bench/minimal-worker/rss.sh
set -euo pipefail
cd "$(dirname "$0")"
WORKERD=../../node_modules/@cloudflare/workerd-linux-64/bin/workerd
echo "== workerd serve (no dev tooling)"
"$WORKERD" serve config.capnp & pid=$!
sleep 2
node drive.mjs "$pid"
kill "$pid"
echo "== wrangler dev"
state=$(mktemp -d)
setsid ../../node_modules/.bin/wrangler dev --port 18702 --ip 127.0.0.1 --inspector-port 18703 --persist-to "$state" \
  --show-interactive-dev-session=false --log-level warn > "$state/wrangler.log" 2>&1 & group=$!
for _ in $(seq 1 120); do curl -s -o /dev/null http://127.0.0.1:18702/ && break; sleep 1; done
workerd=$(pgrep -n -f "workerd-linux-64/bin/workerd serve")
node drive.mjs "$workerd"
kill -- -"$group" 2>/dev/null || true
rm -rf "$state"
