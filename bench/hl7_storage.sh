#!/usr/bin/env bash
# What one ADT^A01 costs in PostgreSQL (issue 8's sizing): COUNT messages sent over
# MLLP (bench/mllp_send.py), each stored with its Patient, Encounter and Coverage
# and their search index rows, then the database's size divided by the messages.
# bench/hl7.sh prints the same after its load runs; this one needs no cargo bench
# build.
#
#   bench/hl7_storage.sh            Environment: COUNT (default 5000), BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=postgres
COUNT=${COUNT:-5000}
PORT=${PORT:-18080}
MLLP_PORT=${MLLP_PORT:-12575}
WORK=$(mktemp -d)
SERVER=
trap 'if [ -n "$SERVER" ]; then kill $SERVER 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

build_server
use_fresh_database
CLAIMBRIDGE_MLLP_BIND=127.0.0.1:$MLLP_PORT start_server
python3 bench/mllp_send.py "127.0.0.1:$MLLP_PORT" "$COUNT" bench/adt_a01.hl7
report_storage hl7_messages "message"
