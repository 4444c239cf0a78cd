#!/usr/bin/env bash
# FHIR JSON validation (issue 8): parse + validate throughput of official R4 examples
# by the server's validator, beside Python's fhir.resources on the same files.
#
#   bench/fhir-validate.sh
#
# Needs python3 with `pip install fhir.resources==8.3.0` (PYTHON picks the
# interpreter, default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
FILES="tests/fixtures/fhir-examples/Patient-example.json
tests/fixtures/fhir-examples/Encounter-f001.json
tests/fixtures/fhir-examples/Coverage-9876B1.json
tests/fixtures/fhir-examples/Claim-100150.json"

echo "== claimbridge: R4 JSON schema + fhirbolt strict"
cargo bench --quiet --bench fhir_validate -- $FILES
echo "== fhir.resources (pydantic v2)"
"$PYTHON" bench/fhir_validate_peer.py $FILES
