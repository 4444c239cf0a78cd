#!/usr/bin/env bash
# Claim submission through the job queue (issue 6): CLAIMS clean claims submitted to
# a Claim.MD simulator, timed until every submission job has succeeded.
#
#   bench/claims_submit.sh [postgres|sqlite]     (default postgres)
#
# Environment: CLAIMS (default 1000), JOBS (jobs run at once per node, default 16).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
CLAIMS=${CLAIMS:-1000}
PORT=${PORT:-18080}
SIM_PORT=${SIM_PORT:-18181}
WORK=$(mktemp -d)
trap 'kill $SERVER $SIMULATOR 2>/dev/null || true; rm -rf "$WORK"' EXIT

build_server
use_fresh_database
target/release/claimbridge simulate claimmd --bind "127.0.0.1:$SIM_PORT" >/dev/null 2>&1 &
SIMULATOR=$!
# A throwaway key: the benchmark's integration credentials are the simulator's.
export CLAIMBRIDGE_SECRETS_KEY=${CLAIMBRIDGE_SECRETS_KEY:-$(head -c 32 /dev/urandom | base64)}
CLAIMBRIDGE_MLLP_BIND=off CLAIMBRIDGE_BILLING_GATEWAY=integrations \
  CLAIMBRIDGE_JOBS_CONCURRENCY=${JOBS:-16} CLAIMBRIDGE_JOBS_POLL_INTERVAL_MS=100 \
  CLAIMBRIDGE_BODY_LIMIT=$((64 * 1024 * 1024)) start_server
echo "== claimbridge ($BACKEND): $CLAIMS claims submitted through the job queue to the Claim.MD simulator"
python3 bench/claims_submit.py "http://127.0.0.1:$PORT" "http://127.0.0.1:$SIM_PORT" "$CLAIMS"
