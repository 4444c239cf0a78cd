#!/usr/bin/env bash
# Claims intake (issue 5): one NDJSON batch of CLAIMS claims scrubbed, priced and
# stored through `POST /api/claims/batch`.
#
#   bench/claims_batch.sh [postgres|sqlite]     (default postgres)
#
# Environment: CLAIMS (default 10000), PATIENTS (default 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
CLAIMS=${CLAIMS:-10000}
PATIENTS=${PATIENTS:-1000}
PORT=${PORT:-18080}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

build_server
use_fresh_database
CLAIMBRIDGE_MLLP_BIND=off CLAIMBRIDGE_BODY_LIMIT=$((256 * 1024 * 1024)) start_server
echo "== claimbridge ($BACKEND): $CLAIMS claims in one NDJSON batch"
python3 bench/claims_batch.py "http://127.0.0.1:$PORT" "$CLAIMS" "$PATIENTS"
report_storage billing_claims "claim"
