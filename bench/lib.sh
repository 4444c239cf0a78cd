# Shared by the benchmark scripts (sourced): a fresh database for the chosen backend
# and the release server started on it. Expects BACKEND, PORT and WORK to be set.

# Points CLAIMBRIDGE_DATABASE_URL at an empty database of $BACKEND.
use_fresh_database() {
  case "$BACKEND" in
    postgres)
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS claimbridge_bench" -c "CREATE DATABASE claimbridge_bench"
      export CLAIMBRIDGE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/claimbridge_bench ;;
    sqlite)
      export CLAIMBRIDGE_DATABASE_URL="sqlite://$WORK/bench.db" ;;
    *) echo "usage: $0 [postgres|sqlite]" >&2; exit 2 ;;
  esac
}

# Builds target/release/claimbridge, unless BIN names the binary to run instead.
build_server() {
  if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet --bin claimbridge
  fi
}

# Starts target/release/claimbridge (or $BIN; extra settings come from the
# environment) and waits until it answers; its pid is in SERVER. Authorization is
# off (loopback only) unless AUTH=required: these figures are the server's work
# without token checks.
start_server() {
  RUST_LOG=warn CLAIMBRIDGE_BIND=127.0.0.1:$PORT CLAIMBRIDGE_DATABASE_POOL_SIZE=${POOL:-16} \
    CLAIMBRIDGE_AUTH=${AUTH:-disabled} "${BIN:-target/release/claimbridge}" serve &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/fhir/metadata" >/dev/null && break; sleep 0.1; done
}

# On PostgreSQL, prints the database's size (tables, indexes, TOAST; WAL excluded)
# divided by the rows of the table `$1`, with the label `$2`: the storage one
# message or claim costs, for the sizing arithmetic in BENCHMARKS.md.
report_storage() {
  [ "$BACKEND" = postgres ] || return 0
  psql -h 127.0.0.1 -U postgres -d claimbridge_bench -qc VACUUM
  psql -h 127.0.0.1 -U postgres -d claimbridge_bench -tAc "
    SELECT format('== storage: %s %s, database %s, %s bytes per %s',
                  count(*), '$2', pg_size_pretty(pg_database_size(current_database())),
                  pg_database_size(current_database()) / greatest(count(*), 1), '$2')
    FROM $1"
}

# Stops the server start_server started and waits for it to exit.
stop_server() {
  kill $SERVER
  wait $SERVER 2>/dev/null || true
  SERVER=
}
