#!/usr/bin/env bash
# Read-by-id and create-Patient throughput of a release build, against the same
# statements run straight on the database by pgbench (the ceiling the server sits on).
#
#   bench/fhir-core.sh [postgres|sqlite]     (default postgres)
#
# One wrk thread: the load generator shares the 2 cores with the server and the
# database, so it should take as little of them as it can.
# Needs wrk (Debian package `wrk`) and, for postgres, pgbench and a PostgreSQL at
# 127.0.0.1:5432 with trust auth. Environment: DURATION (default 20), CONNECTIONS
# (default 32), SEED (patients to read back, default 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BACKEND=${1:-postgres}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-32}
SEED=${SEED:-1000}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT/fhir"
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

build_server

use_fresh_database
start_server

# Seed patients with known ids (PUT = update-as-create) from the official example.
python3 bench/seed_patients.py "$BASE" "$SEED"

cat > "$WORK/read.lua" <<LUA
request = function()
  return wrk.format("GET", "/fhir/Patient/bench-" .. math.random(1, $SEED))
end
LUA
python3 - "$WORK/create.lua" <<'PY'
import json, sys
patient = json.load(open("tests/fixtures/fhir-examples/Patient-example.json"))
patient.pop("id", None)
body = json.dumps(patient).replace("\\", "\\\\").replace('"', '\\"')
open(sys.argv[1], "w").write(
    'wrk.method = "POST"\n'
    'wrk.headers["Content-Type"] = "application/fhir+json"\n'
    f'wrk.body = "{body}"\n')
PY

echo "== claimbridge ($BACKEND): read Patient by id, $CONNECTIONS connections, ${DURATION}s"
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/read.lua" "http://127.0.0.1:$PORT" | tee "$WORK/read.txt"
echo "== claimbridge ($BACKEND): create Patient, $CONNECTIONS connections, ${DURATION}s"
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/create.lua" "http://127.0.0.1:$PORT/fhir/Patient" | tee "$WORK/create.txt"
stop_server

if [ "$BACKEND" = postgres ]; then
  # The same statements the server runs, sent by pgbench with prepared statements:
  # a read is one primary-key SELECT of the body; a create is one transaction
  # of a history insert, a current-row insert and an identifier-token insert.
  # The body is kept in a table: pgbench would read the `:` of JSON as variables.
  python3 -c 'import json;p=json.load(open("tests/fixtures/fhir-examples/Patient-example.json"));p.pop("id");print(json.dumps(p))' > "$WORK/body.json"
  echo "DROP TABLE IF EXISTS bench_body; CREATE TABLE bench_body AS SELECT :'body'::text AS body;" \
    | psql -h 127.0.0.1 -U postgres -q claimbridge_bench -v body="$(cat "$WORK/body.json")"
  cat > "$WORK/read.sql" <<SQL
\set n random(1, $SEED)
SELECT version_id, last_updated, deleted, body FROM resources WHERE tenant = 'default' AND res_type = 'Patient' AND res_id = 'bench-' || :n;
SQL
  cat > "$WORK/create.sql" <<SQL
\set r random(1, 1000000000)
BEGIN;
SELECT version_id FROM resources WHERE tenant = 'default' AND res_type = 'Patient' AND res_id = 'pgbench-' || :r FOR UPDATE;
WITH h AS (INSERT INTO resource_history (res_type, res_id, version_id, last_updated, method, deleted, body)
           SELECT 'Patient', gen_random_uuid()::text, 1, now(), 'POST', false, body FROM bench_body RETURNING change_seq, res_id, body)
INSERT INTO resources (res_type, res_id, version_id, last_updated, deleted, change_seq, body)
  SELECT 'Patient', res_id, 1, now(), false, change_seq, body FROM h;
INSERT INTO search_token (res_type, res_id, param, system, code, hash_code, hash_system_code, hash_system, hash_identity)
  VALUES ('Patient', gen_random_uuid()::text, 'identifier', 'http://hospital.example/mrn', '12345', 1, 2, 3, hashtextextended('default|Patient|identifier', 0));
COMMIT;
SQL
  echo "== pgbench: the read statement, $CONNECTIONS clients, ${DURATION}s"
  pgbench -h 127.0.0.1 -U postgres -n -M prepared -c "$CONNECTIONS" -j2 -T "$DURATION" -f "$WORK/read.sql" claimbridge_bench | grep -E "latency|tps"
  echo "== pgbench: the create transaction, $CONNECTIONS clients, ${DURATION}s"
  pgbench -h 127.0.0.1 -U postgres -n -M prepared -c "$CONNECTIONS" -j2 -T "$DURATION" -f "$WORK/create.sql" claimbridge_bench | grep -E "latency|tps"
fi
