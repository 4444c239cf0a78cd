#!/usr/bin/env bash
# What the request instrumentation costs: read-by-id throughput (the method of
# bench/fhir-core.sh) of one release binary with metrics on and off
# (CLAIMBRIDGE_METRICS_ENABLED), runs alternating so that drift of the machine
# falls on both alike. Off removes the per-request recording (the HTTP counter and
# histogram, the timing of pool checkouts); spans are at debug level and the log
# level is the same (warn) in both.
#
#   bench/instrumentation.sh [postgres|sqlite]     (default postgres)
#
# Needs wrk (Debian package `wrk`), and for postgres a PostgreSQL at 127.0.0.1:5432
# with trust auth. Environment: RUNS (pairs of runs, default 3), DURATION (seconds
# per run, default 10), CONNECTIONS (default 32), SEED (patients, default 1000),
# BIN (the binary; default target/release/claimbridge, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
SEED=${SEED:-1000}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT/fhir"
WORK=$(mktemp -d)
SERVER=
trap 'if [ -n "$SERVER" ]; then kill $SERVER 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

build_server

# One database for every run: seeded once, read only after that.
use_fresh_database
start_server
python3 bench/seed_patients.py "$BASE" "$SEED"
stop_server

cat > "$WORK/read.lua" <<LUA
request = function()
  return wrk.format("GET", "/fhir/Patient/bench-" .. math.random(1, $SEED))
end
LUA

# The server's CPU time so far (user + system), in clock ticks.
server_ticks() {
  awk '{print $14 + $15}' "/proc/$SERVER/stat"
}

# One run with CLAIMBRIDGE_METRICS_ENABLED=$1; its requests per second in RPS and
# the server's CPU time per request, in microseconds, in CPU_US. Throughput moves
# with whatever else the two cores do; CPU per request much less.
run() {
  CLAIMBRIDGE_METRICS_ENABLED=$1 start_server
  # A short warm-up: connections opened, caches filled.
  wrk -t1 -c"$CONNECTIONS" -d2s -s "$WORK/read.lua" "http://127.0.0.1:$PORT" >/dev/null
  local before
  before=$(server_ticks)
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/read.lua" "http://127.0.0.1:$PORT" > "$WORK/run.txt"
  CPU_US=$(awk -v ticks=$(( $(server_ticks) - before )) -v hz="$(getconf CLK_TCK)" \
    '/ requests in / {printf "%.1f", ticks / hz * 1e6 / $1}' "$WORK/run.txt")
  RPS=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/run.txt")
  stop_server
}

echo "== claimbridge ($BACKEND): read Patient by id, metrics on/off alternating, $RUNS pairs of ${DURATION}s, $CONNECTIONS connections"
on=()
off=()
cpu_on=()
cpu_off=()
for i in $(seq "$RUNS"); do
  # Which goes first alternates too.
  if [ $((i % 2)) -eq 1 ]; then order="true false"; else order="false true"; fi
  for enabled in $order; do
    run "$enabled"
    echo "run $i metrics_enabled=$enabled: $RPS req/s, server CPU $CPU_US µs per request"
    if [ "$enabled" = true ]; then on+=("$RPS"); cpu_on+=("$CPU_US"); else off+=("$RPS"); cpu_off+=("$CPU_US"); fi
  done
done

python3 - "${on[*]}" "${off[*]}" "${cpu_on[*]}" "${cpu_off[*]}" <<'PY'
import statistics, sys
on, off, cpu_on, cpu_off = ([float(x) for x in arg.split()] for arg in sys.argv[1:5])
m_on, m_off = statistics.median(on), statistics.median(off)
print(f"median on  {m_on:,.0f} req/s  (runs: {', '.join(f'{x:,.0f}' for x in on)})")
print(f"median off {m_off:,.0f} req/s  (runs: {', '.join(f'{x:,.0f}' for x in off)})")
print(f"on/off {m_on / m_off:.4f}: instrumentation costs {100 * (1 - m_on / m_off):.2f} % of read-by-id throughput")
c_on, c_off = statistics.median(cpu_on), statistics.median(cpu_off)
print(f"server CPU per request: on {c_on:.1f} µs (runs: {', '.join(f'{x:.1f}' for x in cpu_on)}), "
      f"off {c_off:.1f} µs (runs: {', '.join(f'{x:.1f}' for x in cpu_off)})")
print(f"instrumentation costs {100 * (c_on / c_off - 1):.2f} % of the server's CPU per read")
PY
