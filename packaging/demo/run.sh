#!/usr/bin/env bash
# `make run`: the whole chain on one machine. A provincial hub (motcua-hub) on
# 127.0.0.1:8607 and the agent on its embedded demo config (simulated devices, the
# dashboard on 127.0.0.1:8606) pushing its counters to that hub. The agent prints every
# page with its token; this script prints the hub's page. Ctrl-C stops both.
#
# Settings (environment): MOTCUA_DEMO_DATA (default ./demo-data), MOTCUA_DEMO_LISTEN
# (the agent's address, default the demo config's), MOTCUA_DEMO_HUB (the hub's address,
# default 127.0.0.1:8607), BIN (where motcua-agent and motcua-hub are, default ./bin).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-bin}
data=${MOTCUA_DEMO_DATA:-demo-data}
hubaddr=${MOTCUA_DEMO_HUB:-127.0.0.1:8607}
hubdir=$data/hub
mkdir -p "$hubdir"
chmod 700 "$hubdir"
export MOTCUA_HUB_CONFIG=none # the demo's hub reads no settings of the machine's
hub() { "$bin/motcua-hub" "$@" --db "$hubdir/hub.db"; }

# The demo's report token is public, like the agent's demo tokens.
[ -s "$hubdir/report-token" ] || echo demo-hub-report-token-01 > "$hubdir/report-token"
# The demo PC is enrolled once; its secret is kept beside the hub's database.
if [ ! -s "$hubdir/device.key" ]; then
  rm -f "$hubdir"/hub.db*
  secret=$(hub enroll --site demo-site --device demo-pc-1 --name "Trung tâm Phục vụ hành chính công (demo)" \
    --province "Tỉnh Demo" --commune "Phường Demo" --url "http://$hubaddr" 2>/dev/null |
    sed -n 's/^  secret: "\(.*\)"$/\1/p')
  (umask 077 && echo "$secret" > "$hubdir/device.key")
fi

hub serve --listen "$hubaddr" --report-token-file "$hubdir/report-token" 2> "$hubdir/hub.log" &
hubpid=$!
trap 'kill $hubpid 2>/dev/null || true; wait $hubpid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q "hub listening" "$hubdir/hub.log" 2>/dev/null && break
  kill -0 $hubpid 2>/dev/null || { echo "motcua-hub did not start:" >&2; cat "$hubdir/hub.log" >&2; exit 1; }
  sleep 0.1
done
echo
echo "  The province's hub: http://$hubaddr/?token=$(cat "$hubdir/report-token")  (log: $hubdir/hub.log)"

args=(run --data "$data" --hub "http://$hubaddr" --hub-secret-file "$hubdir/device.key")
[ -n "${MOTCUA_DEMO_LISTEN:-}" ] && args+=(--listen "$MOTCUA_DEMO_LISTEN")
"$bin/motcua-agent" "${args[@]}"
