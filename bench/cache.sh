#!/usr/bin/env bash
# What the shared resource cache buys (issue 8): read-by-id throughput of hot
# resources with the cache in Redis (CLAIMBRIDGE_RESOURCE_CACHE=redis) against the
# same server without it (off), alternating, on one database and one Redis; each
# round prints req/s, and the end the ratio of the medians (target: >= 1.5).
#
#   bench/cache.sh [postgres|sqlite]     (default postgres)
#
# Reads as bench/fhir-core.sh does (wrk, one thread, Patients by id at random,
# authorization off: the figure is the read path's work). Both servers have
# redis_url set, so the only difference is the cache. Needs wrk and a Redis at
# CLAIMBRIDGE_REDIS_URL (default redis://127.0.0.1:6379). Environment: DURATION
# (default 15), CONNECTIONS (default 32), SEED (patients, default 1000), ROUNDS
# (default 3), TARGET_DIR (cargo's target directory, default target).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-32}
SEED=${SEED:-1000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18080}
TARGET_DIR=${TARGET_DIR:-target}
BASE="http://127.0.0.1:$PORT/fhir"
WORK=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --quiet --bin claimbridge
[ "$TARGET_DIR" = target ] || { mkdir -p target/release; cp "$TARGET_DIR/release/claimbridge" target/release/; }

use_fresh_database
export CLAIMBRIDGE_REDIS_URL=${CLAIMBRIDGE_REDIS_URL:-redis://127.0.0.1:6379}
# A namespace of this run's own: no entry of an earlier run is read.
export CLAIMBRIDGE_REDIS_KEY_PREFIX=claimbridge-bench-$$
CLAIMBRIDGE_MLLP_BIND=off CLAIMBRIDGE_RESOURCE_CACHE=off start_server
python3 bench/seed_patients.py "$BASE" "$SEED"
stop_server

cat > "$WORK/read.lua" <<LUA
request = function()
  return wrk.format("GET", "/fhir/Patient/bench-" .. math.random(1, $SEED))
end
LUA

for round in $(seq "$ROUNDS"); do
  for cache in off redis; do
    CLAIMBRIDGE_MLLP_BIND=off CLAIMBRIDGE_RESOURCE_CACHE=$cache start_server
    # Warm-up: with the cache, every patient is read (and cached) in it.
    wrk -t1 -c"$CONNECTIONS" -d3s -s "$WORK/read.lua" "http://127.0.0.1:$PORT" >/dev/null
    echo "== round $round, cache $cache: read Patient by id, $CONNECTIONS connections, ${DURATION}s"
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/read.lua" "http://127.0.0.1:$PORT" \
      | tee "$WORK/$cache-$round.txt" | grep -E "Requests/sec|Non-2xx|50%|99%"
    stop_server
  done
done

median() {  # the median Requests/sec of $1-*.txt
  grep -h "Requests/sec" "$WORK/$1"-*.txt | awk '{print $2}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
OFF=$(median off)
ON=$(median redis)
echo "== median read-by-id: cache off $OFF req/s, cache in Redis $ON req/s, ratio $(python3 -c "print(f'{$ON/$OFF:.2f}')")"
