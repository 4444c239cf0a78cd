#!/usr/bin/env bash
# What authorization costs (issue 7): read-by-id throughput with bearer tokens
# checked (CLAIMBRIDGE_AUTH=required, every request carrying a valid token) against
# the same server with authorization disabled, alternating, on one database; and
# client-credentials tokens issued per second by the token endpoint.
#
#   bench/auth.sh [postgres|sqlite]     (default postgres)
#
# Needs wrk (Debian package `wrk`). Environment: DURATION (default 15), CONNECTIONS
# (default 32), SEED (patients, default 1000), ROUNDS (default 2), and TARGET_DIR
# (cargo's target directory, default target).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-32}
SEED=${SEED:-1000}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18080}
TARGET_DIR=${TARGET_DIR:-target}
BASE="http://127.0.0.1:$PORT/fhir"
WORK=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --quiet --bin claimbridge
[ "$TARGET_DIR" = target ] || { mkdir -p target/release; cp "$TARGET_DIR/release/claimbridge" target/release/; }

use_fresh_database
export CLAIMBRIDGE_SECRETS_KEY=${CLAIMBRIDGE_SECRETS_KEY:-$(head -c 32 /dev/urandom | base64)}
export CLAIMBRIDGE_AUTH_BOOTSTRAP_FILE="$WORK/bootstrap-admin.json"
# One token serves every round.
export CLAIMBRIDGE_AUTH_TOKEN_LIFETIME_SECS=3600
# The figure is the check's cost, not the limiter's refusals.
export CLAIMBRIDGE_AUTH_RATE_LIMIT_PER_SECOND=0
CLAIMBRIDGE_MLLP_BIND=off AUTH=required start_server
ID=$(python3 -c "import json;print(json.load(open('$WORK/bootstrap-admin.json'))['client_id'])")
SECRET=$(python3 -c "import json;print(json.load(open('$WORK/bootstrap-admin.json'))['client_secret'])")
TOKEN=$(curl -s -u "$ID:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$PORT/auth/token" \
  | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
TOKEN=$TOKEN python3 bench/seed_patients.py "$BASE" "$SEED"
stop_server

read_script() {  # $1: file, $2: extra header line (or empty)
  cat > "$1" <<LUA
$2
request = function()
  return wrk.format("GET", "/fhir/Patient/bench-" .. math.random(1, $SEED))
end
LUA
}
read_script "$WORK/open.lua" ""
read_script "$WORK/token.lua" "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\""
BASIC=$(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)
cat > "$WORK/issue.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Basic $BASIC"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&scope=system%2FPatient.rs"
LUA

for round in $(seq "$ROUNDS"); do
  for mode in disabled required; do
    CLAIMBRIDGE_MLLP_BIND=off AUTH=$mode start_server
    script=$WORK/open.lua; [ "$mode" = required ] && script=$WORK/token.lua
    # Warm-up: first reads fill caches and, with auth, the verified-token cache.
    wrk -t1 -c"$CONNECTIONS" -d3s -s "$script" "http://127.0.0.1:$PORT" >/dev/null
    echo "== round $round, auth $mode: read Patient by id, $CONNECTIONS connections, ${DURATION}s"
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "http://127.0.0.1:$PORT" \
      | grep -E "Requests/sec|Non-2xx|50%|99%"
    if [ "$mode" = required ]; then
      echo "== round $round: client_credentials tokens issued, $CONNECTIONS connections, ${DURATION}s"
      wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/issue.lua" "http://127.0.0.1:$PORT/auth/token" \
        | grep -E "Requests/sec|Non-2xx|50%|99%"
    fi
    stop_server
  done
done
