#!/usr/bin/env bash
# Screenshots of the pages the installation guide shows, taken from the demo with
# headless Chromium: packaging/guide/screenshots.sh (from the repository root, after
# make build). A ticket is issued first so the pages have something on them.
set -euo pipefail
cd "$(dirname "$0")/../.."
addr=127.0.0.1:18700
data=$(mktemp -d)
./bin/motcua-agent run --listen "$addr" --data "$data" >/dev/null 2>&1 &
agent=$!
trap 'kill $agent; wait $agent 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf "http://$addr/healthz" >/dev/null && break; sleep 0.2; done
curl -sf -X POST -H 'Authorization: Bearer demo-kiosk-token-0001' -d '{"service":"A"}' "http://$addr/api/v1/tickets" >/dev/null
shot() {
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,800 \
    --timeout=5000 --screenshot="$PWD/packaging/guide/$1.png" "http://$addr$2" >/dev/null 2>&1
}
shot dashboard '/?token=demo-admin-token-00001'
shot kiosk '/kiosk?token=demo-kiosk-token-0001'
shot counter '/counter?counter=1&token=demo-counter-token-01'
shot display '/display?token=demo-display-token-01'
