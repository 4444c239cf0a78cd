#!/usr/bin/env bash
# HL7 v2 (issue 4): parse-only throughput of ADT^A01 messages beside python-hl7 and
# hl7apy (Python) and @medplum/hl7 (Node.js) on the same files, then end-to-end MLLP ingest (store, map to FHIR, commit,
# ACK) on one and on eight connections.
#
#   bench/hl7.sh [postgres|sqlite]     (default postgres)
#
# Needs python3 with `pip install hl7==0.4.5 hl7apy==1.3.5` (PYTHON picks the
# interpreter, default python3), Node.js with npm (the peer is installed from
# bench/node/package-lock.json), and for postgres a
# PostgreSQL at 127.0.0.1:5432 with trust auth. Environment: DURATION (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
DURATION=${DURATION:-15}
PORT=${PORT:-18080}
MLLP_PORT=${MLLP_PORT:-12575}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
SAMPLES="tests/fixtures/hl7v2/ADT-A01-01.hl7 tests/fixtures/hl7v2/ADT01-23.hl7"

build_server
cargo bench --quiet --no-run --bench hl7_parse --bench mllp_load 2>/dev/null

echo "== parse only: claimbridge, then python-hl7, hl7apy and @medplum/hl7"
cargo bench --quiet --bench hl7_parse -- $SAMPLES
"${PYTHON:-python3}" bench/hl7_parse_peers.py $SAMPLES
(cd bench/node && npm ci --silent --no-audit --no-fund)
node bench/node/hl7_parse_medplum.js $SAMPLES

use_fresh_database
CLAIMBRIDGE_MLLP_BIND=127.0.0.1:$MLLP_PORT start_server

# A database created a moment ago has no planner statistics; the server gathers the
# first within seconds (src/store/statistics.rs) and autovacuum keeps them current.
# Warm up, then ANALYZE as autovacuum would, so the runs measure the steady state.
cargo bench --quiet --bench mllp_load -- "127.0.0.1:$MLLP_PORT" 8 5 bench/adt_a01.hl7 >/dev/null
[ "$BACKEND" = postgres ] && psql -h 127.0.0.1 -U postgres -d claimbridge_bench -qc ANALYZE

for connections in 1 8; do
  echo "== claimbridge ($BACKEND): ADT^A01 over MLLP, $connections connection(s), ${DURATION}s, commit before every ACK"
  cargo bench --quiet --bench mllp_load -- "127.0.0.1:$MLLP_PORT" "$connections" "$DURATION" bench/adt_a01.hl7
done
report_storage hl7_messages "message"
