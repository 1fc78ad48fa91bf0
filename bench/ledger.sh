#!/usr/bin/env bash
# bench/ledger.sh: the FinOps ledger against DuckDB, and `bursar report` over 10M spend records.
#
#   1. generates a realistic FOCUS 1.0 file of ROWS rows (default 1,000,000; bench/ledger_gen.mjs)
#   2. times `bursar import focus` + `bursar report --source focus --by ServiceName --output csv`
#      (a fresh SQLite ledger) against DuckDB's read_csv + the same GROUP BY
#      (bench/ledger_duckdb.mjs, @duckdb/node-api), both as whole processes, best of RUNS, and
#      checks that both give the same exact totals
#   3. runs bench/report_10m (the ledger's program: 10M gateway spend records through the store,
#      `report --by team`) and reads its report_10M_ms
# Last line: ledger: bursar/duckdb_time=R report_10M_ms=N
# Env: BURSAR_BUILD (default build), ROWS, RUNS (default 3), REPORT_RECORDS (default 10000000),
#      REPORT_DATA (reuse a report_10m data folder), SKIP_REPORT_10M=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BURSAR_BUILD:-build}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
OUT=bench/out
mkdir -p "$OUT"

if [ ! -x "$BUILD/bursar" ] || [ ! -x "$BUILD/bench/report_10m" ]; then
  BURSAR_BUILD_TARGETS="bursar report_10m" ./scripts/build.sh release >/dev/null
  BUILD=build
fi
[ -d bench/node_modules/@duckdb/node-api ] || (cd bench && npm ci --no-audit --no-fund --loglevel=error)

FILE="$OUT/focus-$ROWS.csv"
if [ ! -s "$FILE" ]; then
  echo "generating $FILE ($ROWS rows)"
  node bench/ledger_gen.mjs "$FILE" "$ROWS"
fi
echo "file: $FILE, $(du -m "$FILE" | cut -f1) MB, $ROWS rows"

now() { date +%s.%N; }
best_bursar=""; best_duck=""
for run in $(seq 1 "$RUNS"); do
  data=$(mktemp -d "$OUT/ledger.XXXXXX")
  t0=$(now)
  "$BUILD/bursar" import focus "$FILE" --data "$data" >"$OUT/import.log"
  t1=$(now)
  "$BUILD/bursar" report --data "$data" --source focus --by ServiceName --output csv >"$OUT/bursar.csv"
  t2=$(now)
  rm -rf "$data"
  node bench/ledger_duckdb.mjs "$FILE" >"$OUT/duckdb.csv"
  t3=$(now)
  b=$(echo "$t2 - $t0" | bc); d=$(echo "$t3 - $t2" | bc)
  printf 'run %d: bursar import %.2f s + report %.2f s = %.2f s; duckdb %.2f s\n' "$run" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$b" "$d"
  if [ -z "$best_bursar" ] || (( $(echo "$b < $best_bursar" | bc) )); then best_bursar=$b; fi
  if [ -z "$best_duck" ] || (( $(echo "$d < $best_duck" | bc) )); then best_duck=$d; fi
done
if ! diff <(sort "$OUT/bursar.csv") <(sort "$OUT/duckdb.csv") >/dev/null; then
  echo "MISMATCH: bursar and DuckDB totals differ" >&2
  diff <(sort "$OUT/bursar.csv") <(sort "$OUT/duckdb.csv") | head >&2
  exit 1
fi
echo "totals: bursar and DuckDB agree exactly on $(($(wc -l <"$OUT/bursar.csv") - 1)) ServiceName groups"
ratio=$(echo "scale=2; $best_bursar / $best_duck" | bc)
printf 'best: bursar %.2f s, duckdb %.2f s\n' "$best_bursar" "$best_duck"

report_ms=NA
if [ "${SKIP_REPORT_10M:-0}" != 1 ]; then
  args=(--records "${REPORT_RECORDS:-10000000}")
  [ -n "${REPORT_DATA:-}" ] && args+=(--data "$REPORT_DATA" --keep)
  "$BUILD/bench/report_10m" "${args[@]}" | tee "$OUT/report_10m.log"
  report_ms=$(grep -Eo 'report_10M_ms=[0-9]+' "$OUT/report_10m.log" | tail -1 | cut -d= -f2)
fi
echo "ledger: bursar/duckdb_time=$(printf '%.1f' "$ratio") report_10M_ms=$report_ms"
