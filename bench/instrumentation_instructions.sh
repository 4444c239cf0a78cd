#!/usr/bin/env bash
# What the request instrumentation costs, in instructions: the server runs under
# valgrind's callgrind with metrics on, then off (CLAIMBRIDGE_METRICS_ENABLED), and
# counts only while READS reads of Patients by id are answered (instrumentation is
# switched on after start-up and a warm-up, and off again after the reads). Unlike
# requests per second, an instruction count does not move with whatever else the two
# cores are doing; it leaves out the kernel's work (the same system calls either way).
#
#   bench/instrumentation_instructions.sh [postgres|sqlite]     (default postgres)
#
# Needs valgrind (callgrind_control, callgrind_annotate) and, for postgres, a
# PostgreSQL at 127.0.0.1:5432 with trust auth. Environment: READS (default 1000),
# SEED (patients, default 1000), BIN (default target/release/claimbridge, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
READS=${READS:-1000}
SEED=${SEED:-1000}
PORT=${PORT:-18080}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

build_server
use_fresh_database
start_server
python3 bench/seed_patients.py "http://127.0.0.1:$PORT/fhir" "$SEED"
stop_server

# READS sequential reads on one kept-alive connection, the same ids every run.
reads() {
  python3 - "$PORT" "$1" "$SEED" <<'PY'
import http.client, random, sys
port, count, seed = (int(x) for x in sys.argv[1:4])
random.seed(7)
connection = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(count):
    connection.request("GET", f"/fhir/Patient/bench-{random.randint(1, seed)}")
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200, answer.status
PY
}

for enabled in true false; do
  RUST_LOG=warn CLAIMBRIDGE_BIND=127.0.0.1:$PORT CLAIMBRIDGE_AUTH=disabled CLAIMBRIDGE_MLLP_BIND=off \
    CLAIMBRIDGE_METRICS_ENABLED=$enabled \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.$enabled" \
    "${BIN:-target/release/claimbridge}" serve 2>"$WORK/valgrind.$enabled.log" &
  SERVER=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/fhir/metadata" >/dev/null && break; sleep 0.5; done
  reads 200 # warm-up: connections opened, statements prepared
  callgrind_control -i on $SERVER >/dev/null
  reads "$READS"
  callgrind_control -i off $SERVER >/dev/null
  stop_server
  total=$(callgrind_annotate "$WORK/callgrind.$enabled" | awk '/PROGRAM TOTALS/ && !seen++ {gsub(",", "", $1); print $1}')
  echo "metrics_enabled=$enabled: $total instructions for $READS reads, $((total / READS)) per read"
  if [ "$enabled" = true ]; then ON=$total; else OFF=$total; fi
done
python3 -c "
on, off = $ON, $OFF
print(f'instrumentation costs {on - off:,} instructions over $READS reads, {(on - off) / $READS:,.0f} per read: {100 * (on / off - 1):.2f} % of the server\'s instructions per read')"
