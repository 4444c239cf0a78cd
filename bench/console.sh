#!/usr/bin/env bash
# Console page loads (issue 9): every page of /console timed with 100,000 claims
# in the database, a few thousand of them denied or paid by an 835.
#
#   bench/console.sh [postgres|sqlite]     (default postgres)
#
# Seeds through the public API (bench/claims_batch.py: one NDJSON batch; then
# bench/console_seed.py: one 835 denying DENIED claims and paying PAID), then
# bench/console_pages.py fetches each page RUNS times. Environment: CLAIMS (default
# 100000), PATIENTS (default 2000: fifty claims each, no duplicates), DENIED
# (default 3000), PAID (default 3000), RUNS (default 30), BIN (the binary; default
# target/release/claimbridge, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
CLAIMS=${CLAIMS:-100000}
PATIENTS=${PATIENTS:-2000}
DENIED=${DENIED:-3000}
PAID=${PAID:-3000}
RUNS=${RUNS:-30}
PORT=${PORT:-18080}
WORK=$(mktemp -d)
SERVER=
trap 'if [ -n "$SERVER" ]; then kill $SERVER 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

build_server
use_fresh_database
# The integrations page reads the registry, which needs the key credentials are
# sealed with.
export CLAIMBRIDGE_SECRETS_KEY=${CLAIMBRIDGE_SECRETS_KEY:-$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')}
CLAIMBRIDGE_MLLP_BIND=off CLAIMBRIDGE_BODY_LIMIT=$((256 * 1024 * 1024)) start_server
BASE="http://127.0.0.1:$PORT"
echo "== seeding ($BACKEND): $CLAIMS claims, then an 835 denying $DENIED and paying $PAID"
python3 bench/claims_batch.py "$BASE" "$CLAIMS" "$PATIENTS"
python3 bench/console_seed.py "$BASE" "$DENIED" "$PAID"
if [ "$BACKEND" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -d claimbridge_bench -qc ANALYZE
fi
echo "== claimbridge ($BACKEND): console pages, $RUNS loads each (ms)"
python3 bench/console_pages.py "$BASE" "$RUNS"
