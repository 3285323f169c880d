#!/usr/bin/env bash
# Side-by-side remote-write ingest and query latency: lookout, Prometheus 2.42
# (--web.enable-remote-write-receiver) and VictoriaMetrics 1.79 take the same
# pre-encoded remote-write load, one peer at a time, on loopback, with
# temporary data directories (performance-anchors §4.2, §4.3, §4.6).
#
# Phases (all by default, or name some: bench/ingest.sh ingest memory queries):
#   ingest   §4.2: 10,000 series x 720 points (7.2 M samples, 5,000 samples per
#            request, time-major, 2 connections), INGEST_RUNS fresh runs per
#            peer; samples per server CPU-second (utime+stime from
#            /proc/<pid>/stat, charged while the load is sent), median of runs.
#   memory   100,000 series x 20 points and (§4.3) 1,000,000 series x 16
#            points; RSS (/proc/<pid>/status VmRSS) SETTLE seconds after the
#            load, per active series, plus peak RSS and samples per CPU-second.
#   queries  §4.6 on one fresh instance per peer holding the 6 h backfilled
#            scrape-like set (50 metrics x 200 series x 1,440 points at 15 s,
#            14.4 M samples) and a live-like set (100 node-like instances x
#            500 series + 20 x 2,500 synth series, 5 min at 15 s, ending when
#            the bodies were generated): instant queries 60 s before the live
#            set's end, query_range over the whole 6 h at step 60 s, once the
#            peer is idle after the load (no flush or merge still running);
#            VictoriaMetrics with -search.disableCache and nocache=1; median
#            of QUERY_RUNS runs (curl time_total).
#
# Prints every figure, lookout's ratio to each peer, and a one-line SUMMARY
# against the targets (ingest >= VictoriaMetrics per CPU-second; <= 0.8 KB
# RSS per series at 1 M series; every query <= VictoriaMetrics' latency).
#
# Environment: INGEST_RUNS (3), QUERY_RUNS (5), SETTLE (20 s), PEERS
# ("lookout prometheus vm"), CONNS (2), KEEP_BODIES=dir to reuse generated
# bodies across runs (regenerated when absent), BENCH_TMP (default $TMPDIR or
# /tmp) for bodies (~1.5 GB) and data directories (up to ~2 GB at once).
#
# The load generator shares the machine with the server (2 vCPU here); it is
# a raw-socket replayer of pre-encoded bodies and is not charged.
set -euo pipefail
cd "$(dirname "$0")/.."
PHASES=${*:-ingest memory queries}
INGEST_RUNS=${INGEST_RUNS:-3}
QUERY_RUNS=${QUERY_RUNS:-5}
SETTLE=${SETTLE:-20}
CONNS=${CONNS:-2}
PEERS=${PEERS:-lookout prometheus vm}

for tool in prometheus victoria-metrics curl jq python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (run .ci/install-deps)" >&2; exit 1; }
done
echo "building (release)..." >&2
cargo build --release -q -p lookout --bin lookout --example rw_replay --example rw_live
cargo build --release -q -p lookout-loadgen
TARGET=${CARGO_TARGET_DIR:-target}
LOOKOUT=$TARGET/release/lookout
LOADGEN=$TARGET/release/lookout-loadgen
REPLAY=$TARGET/release/examples/rw_replay
LIVEGEN=$TARGET/release/examples/rw_live

T=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/lookout-bench.XXXXXX")
BODIES=${KEEP_BODIES:-$T/bodies}
mkdir -p "$BODIES"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

CLK=$(getconf CLK_TCK)
# utime + stime (fields 14 and 15; the command name may hold spaces, so
# count from the closing parenthesis).
cpu_seconds() { awk -v t="$CLK" '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); printf "%.3f", (f[12] + f[13]) / t }' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "timeout waiting for $1" >&2; return 1; }
fmt_ms() { awk -v t="$1" 'BEGIN { printf "%.1f", t * 1000 }'; }

PEER_PID=
PEER_PORT=
start_peer() { # name datadir -> PEER_PID, PEER_PORT
  local name=$1 dir=$2 port
  port=$(free_port)
  mkdir -p "$dir"
  case $name in
    lookout)
      printf 'prometheus:\n  global: {scrape_interval: 15s}\n  scrape_configs: []\n' > "$dir/lookout.yaml"
      "$LOOKOUT" server --config.file="$dir/lookout.yaml" --web.listen-address=127.0.0.1:$port \
        --storage.tsdb.path="$dir/data" --storage.tsdb.retention.time=30d >"$dir/log" 2>&1 &
      PEER_PID=$!; PIDS+=("$PEER_PID"); wait_http "http://127.0.0.1:$port/-/ready" ;;
    prometheus)
      printf 'global: {scrape_interval: 15s}\n' > "$dir/prometheus.yml"
      prometheus --config.file="$dir/prometheus.yml" --web.listen-address=127.0.0.1:$port \
        --storage.tsdb.path="$dir/data" --storage.tsdb.retention.time=30d \
        --web.enable-remote-write-receiver >"$dir/log" 2>&1 &
      PEER_PID=$!; PIDS+=("$PEER_PID"); wait_http "http://127.0.0.1:$port/-/ready" ;;
    vm)
      victoria-metrics -storageDataPath="$dir/data" -httpListenAddr=127.0.0.1:$port \
        -retentionPeriod=30d -search.disableCache >"$dir/log" 2>&1 &
      PEER_PID=$!; PIDS+=("$PEER_PID"); wait_http "http://127.0.0.1:$port/health" ;;
    *) echo "unknown peer $name" >&2; exit 1 ;;
  esac
  PEER_PORT=$port
  sleep 1 # let start-up work finish before charging CPU
}

# Waits until a process used < 2% of a CPU for 3 seconds in a row (at most
# 180 s); prints how long that took.
wait_idle() {
  local pid=$1 quiet=0 waited=0 c0 c1
  while [ "$quiet" -lt 3 ] && [ "$waited" -lt 180 ]; do
    c0=$(cpu_seconds "$pid"); sleep 1; c1=$(cpu_seconds "$pid")
    waited=$((waited + 1))
    if awk -v a="$c0" -v b="$c1" 'BEGIN { exit !(b - a < 0.02) }'; then quiet=$((quiet + 1)); else quiet=0; fi
  done
  echo "$waited"
}

stop_peer() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# Replays a body file; prints "requests ok wall" and fails loudly when a
# request was not accepted (a benchmark over refused data would be a lie).
replay() { # port file
  local out ok reqs
  out=$("$REPLAY" "http://127.0.0.1:$1/api/v1/write" "$2" "$CONNS")
  reqs=$(jq -r '.requests' <<<"$out")
  ok=$(jq -r '(.status_204 // 0) + (.status_200 // 0)' <<<"$out")
  if [ "$ok" != "$reqs" ]; then echo "WARNING: not every request was accepted: $out" >&2; fi
  echo "$reqs $ok $(jq -r '.seconds' <<<"$out")"
}

gen_loadgen() { # preset name [extra loadgen args...]
  local preset=$1 name=$2; shift 2
  if [ ! -s "$BODIES/$name.bin" ] || [ ! -s "$BODIES/$name.stats.json" ]; then
    echo "generating $name bodies..." >&2
    "$LOADGEN" --preset "$preset" "$@" --format stats --out - > "$BODIES/$name.stats.json"
    "$LOADGEN" --preset "$preset" "$@" --format remote-write --samples-per-request 5000 --out "$BODIES/$name.bin" >&2
  fi
}

declare -A R
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }

# ---------------------------------------------------------------- ingest --
if has_phase ingest; then
  gen_loadgen rw10k rw10k
  SAMPLES=$(jq -r '.samples' "$BODIES/rw10k.stats.json")
  echo
  echo "== ingest: 10,000 series x 720 points = $SAMPLES samples, 5,000 per request, $CONNS connections, $INGEST_RUNS runs per peer"
  printf '%-11s %4s %9s %8s %9s %14s %11s %10s\n' peer run requests wall_s cpu_s samples/CPU-s cpu+3s_s peak_MB
  for run in $(seq 1 "$INGEST_RUNS"); do
    for peer in $PEERS; do
      start_peer "$peer" "$T/ingest-$peer-$run"
      pid=$PEER_PID
      c0=$(cpu_seconds "$pid")
      read -r reqs ok wall < <(replay "$PEER_PORT" "$BODIES/rw10k.bin")
      c1=$(cpu_seconds "$pid")
      sleep 3
      c2=$(cpu_seconds "$pid")
      hwm=$(status_kb "$pid" VmHWM)
      cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
      cpu3=$(awk -v a="$c0" -v b="$c2" 'BEGIN { printf "%.3f", b - a }')
      rate=$(awk -v s="$SAMPLES" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? s / c : 0) }')
      R[ingest,$peer]="${R[ingest,$peer]:-} $rate"
      printf '%-11s %4s %4s/%-4s %8s %9s %14s %11s %10s\n' "$peer" "$run" "$ok" "$reqs" "$wall" "$cpu" "$rate" "$cpu3" "$((hwm / 1000))"
      stop_peer "$pid"
    done
  done
  for peer in $PEERS; do
    R[ingest_med,$peer]=$(printf '%s\n' ${R[ingest,$peer]} | median)
    printf 'median %-11s %14.0f samples per CPU-second\n' "$peer" "${R[ingest_med,$peer]}"
  done
fi

# ---------------------------------------------------------------- memory --
if has_phase memory; then
  gen_loadgen ingest100k ingest100k
  gen_loadgen ingest1m ingest1m
  echo
  echo "== memory: RSS ${SETTLE}s after the load, per active series (KB = 1000 B)"
  printf '%-11s %-11s %9s %8s %9s %14s %9s %9s %10s\n' size peer requests wall_s cpu_s samples/CPU-s RSS_MB peak_MB KB/series
  for size in ingest100k ingest1m; do
    SERIES=$(jq -r '.series' "$BODIES/$size.stats.json")
    SAMPLES=$(jq -r '.samples' "$BODIES/$size.stats.json")
    for peer in $PEERS; do
      start_peer "$peer" "$T/$size-$peer"
      pid=$PEER_PID
      c0=$(cpu_seconds "$pid")
      read -r reqs ok wall < <(replay "$PEER_PORT" "$BODIES/$size.bin")
      c1=$(cpu_seconds "$pid")
      sleep "$SETTLE"
      rss=$(status_kb "$pid" VmRSS)
      hwm=$(status_kb "$pid" VmHWM)
      cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
      rate=$(awk -v s="$SAMPLES" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? s / c : 0) }')
      per=$(awk -v r="$rss" -v s="$SERIES" 'BEGIN { printf "%.3f", r * 1024 / s / 1000 }')
      R[$size,$peer]=$per
      R[${size}_rate,$peer]=$rate
      printf '%-11s %-11s %4s/%-4s %8s %9s %14s %9s %9s %10s\n' "$size" "$peer" "$ok" "$reqs" "$wall" "$cpu" "$rate" \
        "$((rss * 1024 / 1000000))" "$((hwm * 1024 / 1000000))" "$per"
      stop_peer "$pid"
    done
  done
fi

# --------------------------------------------------------------- queries --
INSTANT=(
  'sum by (mode) (rate(node_cpu_seconds_total[1m]))'
  'count({__name__=~"synth_metric_.*"})'
  'topk(5, synth_metric_1)'
)
RANGE=(
  'sum(rate(bf_metric_0_total[5m]))'
  'sum by (instance) (rate(bf_metric_1_total[5m]))'
  'max_over_time(bf_metric_4[30m])'
  'count({__name__=~"bf_metric_.*"})'
  'quantile(0.9, bf_metric_3)'
)
if has_phase queries; then
  gen_loadgen bar bar
  if [ ! -s "$BODIES/live.bin" ] || [ ! -s "$BODIES/live.stats.json" ]; then
    echo "generating live bodies..." >&2
    "$LIVEGEN" "$BODIES/live.bin" "$(($(date +%s) * 1000))" > "$BODIES/live.stats.json"
  fi
  BSTART=$(( $(jq -r '.start_ms' "$BODIES/bar.stats.json") / 1000 ))
  BEND=$(( $(jq -r '.end_ms' "$BODIES/bar.stats.json") / 1000 ))
  LEND=$(( $(jq -r '.end_ms' "$BODIES/live.stats.json") / 1000 ))
  QT=$((LEND - 60))
  echo
  echo "== queries: backfill $(jq -r '.samples' "$BODIES/bar.stats.json") samples ($(jq -r '.series' "$BODIES/bar.stats.json") series, 6 h), live $(jq -r '.samples' "$BODIES/live.stats.json") samples ($(jq -r '.series' "$BODIES/live.stats.json") series); median of $QUERY_RUNS, ms"
  for peer in $PEERS; do
    start_peer "$peer" "$T/q-$peer"
    pid=$PEER_PID
    c0=$(cpu_seconds "$pid")
    read -r reqs ok wall < <(replay "$PEER_PORT" "$BODIES/bar.bin")
    read -r reqs2 ok2 wall2 < <(replay "$PEER_PORT" "$BODIES/live.bin")
    c1=$(cpu_seconds "$pid")
    echo "$peer: loaded backfill ($ok/$reqs requests, ${wall}s) and live set ($ok2/$reqs2, ${wall2}s), server CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", b - a }')s"
    if [ "$peer" = vm ]; then
      curl -sf "http://127.0.0.1:$PEER_PORT/internal/force_flush" >/dev/null || true
    fi
    # Queries are timed at steady state, for every peer alike: wait until
    # the work the load triggered (flushes, merges, compaction) is done.
    settled=$(wait_idle "$pid")
    echo "$peer: idle ${settled}s after the load"
    qi=0
    for q in "${INSTANT[@]}" "${RANGE[@]}"; do
      if [ "$qi" -lt "${#INSTANT[@]}" ]; then
        args=(--data-urlencode "time=$QT")
        url="http://127.0.0.1:$PEER_PORT/api/v1/query"
      else
        args=(--data-urlencode "start=$BSTART" --data-urlencode "end=$BEND" --data-urlencode "step=60")
        url="http://127.0.0.1:$PEER_PORT/api/v1/query_range"
      fi
      [ "$peer" = vm ] && args+=(--data-urlencode "nocache=1")
      times=()
      for _ in $(seq 1 "$QUERY_RUNS"); do
        times+=("$(curl -s -o "$T/q.json" -w '%{time_total}' --get --data-urlencode "query=$q" "${args[@]}" "$url")")
      done
      # What came back, so the peers' answers can be compared by eye.
      shape=$(jq -r 'if .status != "success" then "ERROR " + (.error // "?")
        elif .data.resultType == "matrix" then "\(.data.result | length) series, \([.data.result[].values | length] | add // 0) points, sum \([.data.result[].values[][1] | tonumber] | add // 0 | . * 1000 | round / 1000)"
        else "\(.data.result | length) series, sum \([.data.result[].value[1] | tonumber] | add // 0 | . * 1000 | round / 1000)" end' "$T/q.json" 2>/dev/null || echo "unparsable answer")
      med=$(printf '%s\n' "${times[@]}" | median)
      R[q$qi,$peer]=$med
      printf '  %-11s %8s ms  %-52s %s\n' "$peer" "$(fmt_ms "$med")" "$q" "$shape"
      qi=$((qi + 1))
    done
    stop_peer "$pid"
  done
fi

# --------------------------------------------------------------- ratios --
echo
echo "== lookout / peer (samples per CPU-s: higher is better; RSS and latency: lower is better)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
for peer in $PEERS; do
  [ "$peer" = lookout ] && continue
  line="vs $peer:"
  if has_phase ingest; then line+=" ingest x$(ratio "${R[ingest_med,lookout]:-}" "${R[ingest_med,$peer]:-}")"; fi
  if has_phase memory; then
    line+=" | RSS/series@100k x$(ratio "${R[ingest100k,lookout]:-}" "${R[ingest100k,$peer]:-}")"
    line+=" @1M x$(ratio "${R[ingest1m,lookout]:-}" "${R[ingest1m,$peer]:-}")"
    line+=" | ingest@1M x$(ratio "${R[ingest1m_rate,lookout]:-}" "${R[ingest1m_rate,$peer]:-}")"
  fi
  echo "$line"
  if has_phase queries; then
    qi=0
    for q in "${INSTANT[@]}" "${RANGE[@]}"; do
      printf '   latency x%-6s %s\n' "$(ratio "${R[q$qi,lookout]:-}" "${R[q$qi,$peer]:-}")" "$q"
      qi=$((qi + 1))
    done
  fi
done

# --------------------------------------------------------------- summary --
if [[ " $PEERS " == *" lookout "* && " $PEERS " == *" vm "* ]]; then
  s="SUMMARY:"
  if has_phase ingest; then
    ok=$(awk -v a="${R[ingest_med,lookout]}" -v b="${R[ingest_med,vm]}" 'BEGIN { print (a >= b ? "PASS" : "FAIL") }')
    s+=" ingest $(awk -v a="${R[ingest_med,lookout]}" 'BEGIN { printf "%.2fM", a / 1e6 }') samples/CPU-s = x$(ratio "${R[ingest_med,lookout]}" "${R[ingest_med,vm]}") VM [$ok];"
  fi
  if has_phase memory; then
    ok=$(awk -v a="${R[ingest1m,lookout]}" 'BEGIN { print (a <= 0.8 ? "PASS" : "FAIL") }')
    s+=" RSS@1M ${R[ingest1m,lookout]} KB/series (VM ${R[ingest1m,vm]}) [$ok]; RSS@100k ${R[ingest100k,lookout]} KB/series (VM ${R[ingest100k,vm]});"
  fi
  if has_phase queries; then
    n=$(( ${#INSTANT[@]} + ${#RANGE[@]} )); good=0; worst=0
    for qi in $(seq 0 $((n - 1))); do
      r=$(ratio "${R[q$qi,lookout]}" "${R[q$qi,vm]}")
      good=$((good + $(awk -v r="$r" 'BEGIN { print (r != "n/a" && r <= 1.0) ? 1 : 0 }')))
      worst=$(awk -v r="$r" -v w="$worst" 'BEGIN { print (r != "n/a" && r > w) ? r : w }')
    done
    ok=$([ "$good" = "$n" ] && echo PASS || echo FAIL)
    s+=" queries $good/$n at most VM's latency (worst x$worst) [$ok]"
  fi
  echo
  echo "$s"
fi
