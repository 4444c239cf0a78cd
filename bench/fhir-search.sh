#!/usr/bin/env bash
# Search and transaction Bundles at scale (issue 3): bulk-load a Synthea-like data set
# through transaction Bundles, time lone 1,000-entry transactions, then measure
# `Patient?identifier=` and `Claim?patient=` under load, beside pgbench running the
# very statements the server sends (PostgreSQL only: the ceiling the server sits on).
#
#   bench/fhir-search.sh [postgres|sqlite]     (default postgres)
#
# Needs wrk (Debian `wrk`), python3 and, for postgres, pgbench and a PostgreSQL at
# 127.0.0.1:5432 with trust auth. Environment: PATIENTS (default 100000; three Claims
# each), LOADERS (concurrent Bundle posters, default 2), DURATION (default 15),
# CONNECTIONS (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
PATIENTS=${PATIENTS:-100000}
LOADERS=${LOADERS:-2}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-8}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT/fhir"
MRN_SYSTEM="http://hospital.example.org/mrn"
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

build_server

use_fresh_database
start_server

echo "== claimbridge ($BACKEND): bulk load of $PATIENTS Patients + $((PATIENTS * 3)) Claims in 1,000-entry transaction Bundles, $LOADERS loaders"
python3 bench/synthea_like.py "$BASE" "$PATIENTS" 3 1000 "$LOADERS" "$WORK/ids.tsv"

# The loaded database at rest: the vacuum, statistics and checkpoint autovacuum and
# the checkpointer would do within minutes of the load, done now so that they do not
# run in the middle of the measurements.
if [ "$BACKEND" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -q claimbridge_bench -c "VACUUM ANALYZE" -c "CHECKPOINT"
fi

echo "== claimbridge ($BACKEND): five lone 1,000-entry transactions on the loaded database"
python3 bench/synthea_like.py "$BASE" 1250 3 1000 1 /dev/null "$PATIENTS"

# wrk scripts that pick a loaded Patient at random for each request.
python3 - "$WORK" "$MRN_SYSTEM" <<'PY'
import sys
from urllib.parse import quote
work, system = sys.argv[1], sys.argv[2]
pairs = [line.rstrip("\n").split("\t") for line in open(f"{work}/ids.tsv")]
def script(name, paths):
    with open(f"{work}/{name}.lua", "w") as out:
        out.write("paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n")
        out.write("request = function() return wrk.format('GET', paths[math.random(1, #paths)]) end\n")
script("identifier", [f"/fhir/Patient?identifier={quote(system + '|' + mrn, safe='')}" for mrn, _ in pairs])
script("patient", [f"/fhir/Claim?patient=Patient/{pid}" for _, pid in pairs])
PY

for search in identifier patient; do
  echo "== claimbridge ($BACKEND): search by $search, $CONNECTIONS connections, ${DURATION}s"
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/$search.lua" "http://127.0.0.1:$PORT"
done
stop_server

if [ "$BACKEND" = postgres ]; then
  # The server's statements, copied from PostgreSQL's statement log. pgbench cannot
  # draw random strings, so each transaction first looks its keys up by number
  # (\gset); `-r` reports the search statement's own latency apart from that lookup.
  psql -h 127.0.0.1 -U postgres -q claimbridge_bench <<SQL
DROP TABLE IF EXISTS bench_keys;
CREATE TABLE bench_keys (n serial PRIMARY KEY, code_hash bigint, hash bigint, mrn text, pid text);
INSERT INTO bench_keys (code_hash, hash, mrn, pid)
  SELECT t.hash_code, t.hash_system_code, t.code, t.res_id FROM search_token t
  WHERE t.res_type = 'Patient' AND t.param = 'identifier' AND t.system = '$MRN_SYSTEM';
ANALYZE bench_keys;
SQL
  KEYS=$(psql -h 127.0.0.1 -U postgres -tAc "SELECT count(*) FROM bench_keys" claimbridge_bench)
  cat > "$WORK/identifier.sql" <<SQL
\set n random(1, $KEYS)
SELECT code_hash, hash, mrn FROM bench_keys WHERE n = :n \gset
SELECT r.res_type, r.res_id, r.last_updated, r.body FROM resources r WHERE r.tenant = 'default' AND r.res_type = 'Patient' AND r.deleted = false AND r.res_id IN (SELECT x1.res_id FROM search_token x1 WHERE x1.tenant = 'default' AND x1.res_type = 'Patient' AND x1.param = 'identifier' AND x1.hash_identity = hashtextextended('default|Patient|identifier', 0) AND ((x1.hash_code = :code_hash AND x1.hash_system_code = :hash AND x1.system = '$MRN_SYSTEM' AND x1.code = :mrn))) ORDER BY r.res_id ASC LIMIT 21;
SQL
  cat > "$WORK/patient.sql" <<SQL
\set n random(1, $KEYS)
SELECT pid FROM bench_keys WHERE n = :n \gset
SELECT r.res_type, r.res_id, r.last_updated, r.body FROM resources r WHERE r.tenant = 'default' AND r.res_type = 'Claim' AND r.deleted = false AND r.res_id IN (SELECT x1.res_id FROM search_reference x1 WHERE x1.tenant = 'default' AND x1.res_type = 'Claim' AND x1.param = 'patient' AND x1.hash_identity = hashtextextended('default|Claim|patient', 0) AND ((x1.target_id = :pid AND x1.target_type = 'Patient'))) ORDER BY r.res_id ASC LIMIT 21;
SQL
  for search in identifier patient; do
    echo "== pgbench: the $search search statement, $CONNECTIONS clients, ${DURATION}s"
    pgbench -h 127.0.0.1 -U postgres -n -r -M prepared -c "$CONNECTIONS" -j1 -T "$DURATION" \
      -f "$WORK/$search.sql" claimbridge_bench | grep -E "latency average|tps|SELECT r\."
  done
fi
