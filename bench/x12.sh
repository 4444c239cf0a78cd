#!/usr/bin/env bash
# X12 (issue 5): parse-only throughput of the sample 835 remittances with the
# project's reader beside Python's linuxforhealth-x12 on the same files.
#
#   bench/x12.sh
#
# Needs python3; the peer is installed into a venv (X12_VENV, default
# ~/.cache/claimbridge/x12venv) as `.ci/run` does.
set -euo pipefail
cd "$(dirname "$0")/.."

X12_VENV=${X12_VENV:-$HOME/.cache/claimbridge/x12venv}
if [ ! -x "$X12_VENV/bin/python" ] || ! "$X12_VENV/bin/python" -c "import linuxforhealth.x12.io" 2>/dev/null; then
  python3 -m venv "$X12_VENV"
  "$X12_VENV/bin/pip" install --quiet "linuxforhealth-x12==0.57.0" "pydantic<2"
fi
FILES=$(ls tests/fixtures/x12/*.835)

echo "== 835 parse: claimbridge, then linuxforhealth-x12"
# shellcheck disable=SC2086
cargo bench --quiet --bench x12_835 -- $FILES
# shellcheck disable=SC2086
"$X12_VENV/bin/python" bench/x12_835_peer.py $FILES
