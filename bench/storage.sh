#!/usr/bin/env bash
# Storage side-by-side: lookout vs Prometheus blocks vs VictoriaMetrics 1.79
# on the scrape-like dataset of performance-anchors §4.4, plus lookout's
# append throughput and memory per series (`lookout tsdb bench write`)
# against `promtool tsdb bench write`, run in the same invocation.
#
# Uses only bash, curl, jq, /usr/bin/time (or /proc) and the binaries
# .ci/install-deps installs; builds lookout and lookout-loadgen (release).
#
# Sizes (env):  METRICS=50 SERIES_PER_METRIC=200 HOURS=6   storage dataset (10k series, 14.4M samples)
#               ENTROPY=scrape-like|high-entropy
#               RSS_SERIES=1000000 RSS_POINTS=16            memory-per-series run
#               APPEND_SERIES=100000 APPEND_POINTS=100       append-throughput runs (lookout and promtool bench write)
#               SKIP_VM=1 SKIP_RSS=1                         skip parts
#               KEEP=1                                       keep the temp dir
set -euo pipefail
cd "$(dirname "$0")/.."

METRICS=${METRICS:-50}
SERIES_PER_METRIC=${SERIES_PER_METRIC:-200}
HOURS=${HOURS:-6}
ENTROPY=${ENTROPY:-scrape-like}
RSS_SERIES=${RSS_SERIES:-1000000}
RSS_POINTS=${RSS_POINTS:-16}
APPEND_SERIES=${APPEND_SERIES:-100000}
APPEND_POINTS=${APPEND_POINTS:-100}
VM_PORT=${VM_PORT:-18428}

for t in curl jq promtool victoria-metrics; do
  command -v "$t" >/dev/null || { echo "missing $t (run .ci/install-deps)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/lookout-storage-bench.XXXXXX)
VM_PID=""
cleanup() {
  if [ -n "$VM_PID" ]; then kill "$VM_PID" 2>/dev/null || true; wait "$VM_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT

log() { echo "# $*" >&2; }

cargo build --release -q -p lookout -p lookout-loadgen
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
LOOKOUT="$TARGET_DIR/release/lookout"
LOADGEN="$TARGET_DIR/release/lookout-loadgen"
CLK_TCK=$(getconf CLK_TCK)

# run_measured NAME CMD... : runs CMD, records wall s, CPU s (user+sys of
# the command, from the shell's `times`) and the peak anonymous RSS
# (RssAnon from /proc, so mmap'd input files do not count).
run_measured() {
  local name=$1; shift
  local start end wpid peak=0 a c
  start=$(date +%s.%N)
  OUT="$T/$name.out" ERR="$T/$name.err" TIMES="$T/times" \
    bash -c '"$@" >"$OUT" 2>"$ERR"; rc=$?; times >"$TIMES"; exit $rc' _ "$@" &
  wpid=$!
  while kill -0 "$wpid" 2>/dev/null; do
    for c in $(cat "/proc/$wpid/task/$wpid/children" 2>/dev/null); do
      a=$(awk '/^RssAnon:/{print $2}' "/proc/$c/status" 2>/dev/null || true)
      if [ -n "$a" ] && [ "$a" -gt "$peak" ]; then peak=$a; fi
    done
    sleep 0.1
  done
  wait "$wpid" || { echo "$name failed:" >&2; cat "$T/$name.err" >&2; exit 1; }
  end=$(date +%s.%N)
  printf -v "${name}_WALL" '%s' "$(calc "$end - $start")"
  # Second line of `times`: children's user and system time, e.g. "0m1.234s 0m0.056s".
  printf -v "${name}_CPU" '%s' "$(awk 'NR==2{n=split($0,f," "); s=0; for(i=1;i<=n;i++){split(f[i],p,"m"); sub("s","",p[2]); s+=p[1]*60+p[2]} printf "%.3f", s}' "$T/times")"
  printf -v "${name}_RSS_KB" '%s' "$peak"
}

calc() { awk "BEGIN{printf \"%.6f\", $*}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }

# ---------------------------------------------------------------- dataset
START_MS=$(( ($(date +%s) / 7200) * 7200 * 1000 - HOURS * 3600 * 1000 ))
GEN=(--metrics "$METRICS" --series-per-metric "$SERIES_PER_METRIC" --hours "$HOURS" --entropy "$ENTROPY" --start-ms "$START_MS" --seed 1)
log "generating $((METRICS * SERIES_PER_METRIC)) series x ${HOURS}h ($ENTROPY)"
# Each input file is ~1 GB: generated just before use and deleted after.
"$LOADGEN" "${GEN[@]}" --format openmetrics --out "$T/ds.om" 2>"$T/gen.err"
SAMPLES=$("$LOADGEN" "${GEN[@]}" --format stats | jq .samples)
log "$SAMPLES samples"

# ---------------------------------------------------------------- lookout
log "lookout tsdb import --openmetrics (+ compaction)"
run_measured LK_IMPORT "$LOOKOUT" tsdb import --openmetrics "$T/ds.om" --data-dir "$T/lookout"
LK_BYTES=$(du -sb "$T/lookout" | cut -f1)
LK_APPENDED=$(grep -o 'imported [0-9]*' "$T/LK_IMPORT.out" | awk '{print $2}')
[ "$LK_APPENDED" = "$SAMPLES" ] || { echo "lookout stored $LK_APPENDED of $SAMPLES samples" >&2; exit 1; }

# ---------------------------------------------------------------- Prometheus
log "promtool tsdb create-blocks-from openmetrics"
run_measured PROM_IMPORT promtool tsdb create-blocks-from openmetrics "$T/ds.om" "$T/prom"
rm -f "$T/ds.om"
PROM_BYTES=$(du -sb "$T/prom" | cut -f1)
PROM_SAMPLES=$(cat "$T"/prom/*/meta.json | jq -s 'map(.stats.numSamples) | add')
[ "$PROM_SAMPLES" = "$SAMPLES" ] || { echo "promtool stored $PROM_SAMPLES of $SAMPLES samples" >&2; exit 1; }

# ---------------------------------------------------------------- VictoriaMetrics
VM_BYTES=""
if [ "${SKIP_VM:-0}" != 1 ]; then
  log "victoria-metrics import"
  "$LOADGEN" "${GEN[@]}" --format prometheus --out "$T/ds.prom" 2>>"$T/gen.err"
  victoria-metrics -storageDataPath="$T/vm" -httpListenAddr="127.0.0.1:$VM_PORT" \
    -retentionPeriod=100y -loggerLevel=ERROR >"$T/vm.log" 2>&1 &
  VM_PID=$!
  for _ in $(seq 100); do curl -sf "127.0.0.1:$VM_PORT/health" >/dev/null && break; sleep 0.1; done
  cpu0=$(awk -v t="$CLK_TCK" '{print ($14+$15)/t}' "/proc/$VM_PID/stat")
  s0=$(date +%s.%N)
  # -T streams the file (--data-binary @file buffers it whole and fails on ~1 GB files).
  curl -sf -X POST -T "$T/ds.prom" "127.0.0.1:$VM_PORT/api/v1/import/prometheus"
  curl -sf "127.0.0.1:$VM_PORT/internal/force_flush" >/dev/null
  for m in $(seq 0 $(( HOURS / 24 + 1 ))); do
    p=$(date -u -d "@$(( START_MS / 1000 + m * 86400 ))" +%Y_%m)
    curl -sf "127.0.0.1:$VM_PORT/internal/force_merge?partition_prefix=$p" >/dev/null || true
  done
  # Wait until every row is in storage and no merge is running (twice in a row).
  stable=0
  for _ in $(seq 600); do
    metrics=$(curl -sf "127.0.0.1:$VM_PORT/metrics")
    rows=$(echo "$metrics" | awk '/^vm_rows\{type="storage\/(small|big)"\}/{s+=$2} END{printf "%d", s}')
    merges=$(echo "$metrics" | awk '/^vm_active_merges\{type="storage\/(small|big)"\}/{s+=$2} END{printf "%d", s}')
    if [ "$rows" = "$SAMPLES" ] && [ "$merges" = 0 ]; then stable=$((stable+1)); else stable=0; fi
    [ $stable -ge 2 ] && break
    sleep 0.5
  done
  VM_WALL=$(calc "$(date +%s.%N) - $s0")
  VM_CPU=$(calc "$(awk -v t="$CLK_TCK" '{print ($14+$15)/t}' "/proc/$VM_PID/stat") - $cpu0")
  [ "$rows" = "$SAMPLES" ] || { echo "VictoriaMetrics holds $rows of $SAMPLES rows" >&2; exit 1; }
  rm -f "$T/ds.prom"
  VM_BYTES=$(du -sb "$T/vm/data" "$T/vm/indexdb" | awk '{s+=$1} END{print s}')
  kill "$VM_PID"; wait "$VM_PID" 2>/dev/null || true; VM_PID=""
fi

# ---------------------------------------------------------------- append throughput and memory
# Both engines' own in-process write benchmarks, run in this script:
# `lookout tsdb bench write` (native batch API, loadgen scrape-like values)
# and `promtool tsdb bench write` (Prometheus' head), same series count and
# scrapes. Samples per CPU-second use each whole process's CPU time.
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1==k{print $2}'; }

log "append throughput: lookout tsdb bench write, $APPEND_SERIES series x $APPEND_POINTS samples"
run_measured LK_APPEND "$LOOKOUT" tsdb bench write --series "$APPEND_SERIES" --samples-per-series "$APPEND_POINTS" \
  --dataset scrape --include-close --data-dir "$T/lk-append"
LK_APPEND_LINE=$(grep '^bench_write ' "$T/LK_APPEND.out")
A_SAMPLES=$(kv "$LK_APPEND_LINE" samples)
[ "$A_SAMPLES" = $((APPEND_SERIES * APPEND_POINTS)) ] || { echo "lookout bench appended $A_SAMPLES samples" >&2; exit 1; }
LK_APS=$(calc "$A_SAMPLES / $LK_APPEND_CPU")
LK_APS_INPROC=$(kv "$LK_APPEND_LINE" samples_per_cpu_s)
rm -rf "$T/lk-append"

log "append throughput: promtool tsdb bench write, $APPEND_SERIES series x $APPEND_POINTS scrapes"
awk -v n="$APPEND_SERIES" 'BEGIN{for(i=0;i<n;i++) printf "{\"__name__\":\"bench_metric_%d\",\"idx\":\"%d\",\"instance\":\"host-%05d:9100\",\"job\":\"loadgen\"}\n", i%100, i, i%10000}' >"$T/labels.txt"
run_measured PT_BENCH promtool tsdb bench write --out="$T/ptbench" --metrics="$APPEND_SERIES" --scrapes="$APPEND_POINTS" "$T/labels.txt"
PT_SAMPLES=$((APPEND_SERIES * APPEND_POINTS))
PT_APS=$(calc "$PT_SAMPLES / $PT_BENCH_CPU")
rm -rf "$T/ptbench"

LK_RSS_PER_SERIES=""
if [ "${SKIP_RSS:-0}" != 1 ]; then
  log "memory: lookout tsdb bench write, $RSS_SERIES series x $RSS_POINTS samples"
  run_measured LK_RSS "$LOOKOUT" tsdb bench write --series "$RSS_SERIES" --samples-per-series "$RSS_POINTS" \
    --dataset simple --data-dir "$T/lk-rss"
  LK_RSS_LINE=$(grep '^bench_write ' "$T/LK_RSS.out")
  # Resident memory the store added for its series (final RSS - RSS at start,
  # store open) and the process's peak anonymous RSS per series.
  LK_RSS_PER_SERIES=$(kv "$LK_RSS_LINE" rss_per_series_bytes)
  LK_RSS_PEAK_PER_SERIES=$(calc "$LK_RSS_RSS_KB * 1024 / $RSS_SERIES")
  rm -rf "$T/lk-rss"
fi

# ---------------------------------------------------------------- report
bps() { calc "$1 / $SAMPLES"; }
LK_BPS=$(bps "$LK_BYTES"); PROM_BPS=$(bps "$PROM_BYTES")
printf '\n%-28s %14s %12s %10s %10s\n' "store" "bytes" "B/sample" "wall s" "CPU s"
printf '%-28s %14d %12.3f %10.2f %10.2f\n' "lookout (import+compact)" "$LK_BYTES" "$LK_BPS" "$LK_IMPORT_WALL" "$LK_IMPORT_CPU"
printf '%-28s %14d %12.3f %10.2f %10.2f\n' "prometheus blocks (promtool)" "$PROM_BYTES" "$PROM_BPS" "$PROM_IMPORT_WALL" "$PROM_IMPORT_CPU"
if [ -n "$VM_BYTES" ]; then
  VM_BPS=$(bps "$VM_BYTES")
  printf '%-28s %14d %12.3f %10.2f %10.2f\n' "victoriametrics 1.79" "$VM_BYTES" "$VM_BPS" "$VM_WALL" "$VM_CPU"
fi
echo
echo "dataset: $SAMPLES samples, $((METRICS * SERIES_PER_METRIC)) series, ${HOURS}h, $ENTROPY"
printf 'append: lookout tsdb bench write %.0f samples/CPU-s (in-process figure %.0f), promtool tsdb bench write %.0f samples/CPU-s (%d series x %d scrapes, whole-process CPU)\n' \
  "$LK_APS" "$LK_APS_INPROC" "$PT_APS" "$APPEND_SERIES" "$APPEND_POINTS"
if [ -n "$LK_RSS_PER_SERIES" ]; then
  printf 'memory: lookout tsdb bench write at %d series: %.0f bytes/series resident above start (final), peak anonymous RSS %.0f MiB = %.0f bytes/series\n' \
    "$RSS_SERIES" "$LK_RSS_PER_SERIES" "$(calc "$LK_RSS_RSS_KB / 1024")" "$LK_RSS_PEAK_PER_SERIES"
fi
SUMMARY="summary: lookout $(printf %.3f "$LK_BPS") B/sample; vs prometheus $(ratio "$LK_BPS" "$PROM_BPS")x"
[ -n "$VM_BYTES" ] && SUMMARY="$SUMMARY; vs victoriametrics $(ratio "$LK_BPS" "$VM_BPS")x (target <= 0.8)"
SUMMARY="$SUMMARY; append/CPU-s vs promtool $(ratio "$LK_APS" "$PT_APS")x (target >= 1)"
[ -n "$LK_RSS_PER_SERIES" ] && SUMMARY="$SUMMARY; RSS $(printf %.0f "$LK_RSS_PER_SERIES") B/series at $RSS_SERIES (target <= 512)"
echo "$SUMMARY"
