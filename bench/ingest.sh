#!/usr/bin/env bash
# Side-by-side remote-write ingest: lookout, Prometheus 2.42 and
# VictoriaMetrics 1.79 take the same pre-encoded remote-write load
# (performance-anchors §4.2/§4.3), one peer at a time, then answer the §4.6
# range queries on the same data.
#
# Prints, per peer: samples per server CPU-second, wall time, RSS per active
# series after a settle period, median query latencies (5 runs), and
# lookout's ratio to each peer.
#
# Usage: bench/ingest.sh [rw10k|ingest100k|ingest1m|all]   (default rw10k)
#   rw10k      10,000 series x 720 points (7.2 M samples): throughput + queries
#   ingest100k 100,000 series x 20 points: RSS per series at 100k
#   ingest1m   1,000,000 series x 16 points: RSS per series at 1M
#
# Everything runs on loopback with temporary data directories and is
# stopped by PID when the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-rw10k}
[ "$SIZES" = all ] && SIZES="rw10k ingest100k ingest1m"
SETTLE=${SETTLE:-20}
CONNS=2

for tool in prometheus victoria-metrics curl jq; do
  command -v "$tool" >/dev/null || { echo "missing $tool (run .ci/install-deps)" >&2; exit 1; }
done
cargo build --release -q -p lookout -p lookout-loadgen
cargo build --release -q -p lookout-api --example rw_replay
TARGET=${CARGO_TARGET_DIR:-target}
LOOKOUT=$TARGET/release/lookout
LOADGEN=$TARGET/release/lookout-loadgen
REPLAY=$TARGET/release/examples/rw_replay

T=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

CLK=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$CLK" '{ split($0, a, ") "); split(a[2], f, " "); printf "%.3f", (f[12] + f[13]) / t }' "/proc/$1/stat"; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "timeout waiting for $1" >&2; return 1; }

start_peer() { # name port datadir -> sets PEER_PID
  local name=$1 port=$2 dir=$3
  mkdir -p "$dir"
  case $name in
    lookout)
      printf 'prometheus:\n  scrape_configs: []\n' > "$dir/lookout.yaml"
      "$LOOKOUT" --config.file="$dir/lookout.yaml" --web.listen-address=127.0.0.1:$port \
        --storage.tsdb.path="$dir/data" --storage.tsdb.retention.time=30d >"$dir/log" 2>&1 &
      PEER_PID=$!; wait_http "http://127.0.0.1:$port/-/ready" ;;
    prometheus)
      printf 'global: {scrape_interval: 15s}\n' > "$dir/prometheus.yml"
      prometheus --config.file="$dir/prometheus.yml" --web.listen-address=127.0.0.1:$port \
        --storage.tsdb.path="$dir/data" --storage.tsdb.retention.time=30d \
        --web.enable-remote-write-receiver >"$dir/log" 2>&1 &
      PEER_PID=$!; wait_http "http://127.0.0.1:$port/-/ready" ;;
    vm)
      victoria-metrics -storageDataPath="$dir/data" -httpListenAddr=127.0.0.1:$port \
        -retentionPeriod=30d -search.disableCache >"$dir/log" 2>&1 &
      PEER_PID=$!; wait_http "http://127.0.0.1:$port/health" ;;
  esac
  PIDS+=("$PEER_PID")
}

stop_peer() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# §4.6 range queries over the whole dataset, step 60 s.
QUERIES=(
  'sum(rate(bf_metric_0_total[5m]))'
  'sum by (instance) (rate(bf_metric_1_total[5m]))'
  'max_over_time(bf_metric_4[30m])'
  'count({__name__=~"bf_metric_.*"})'
  'quantile(0.9, bf_metric_3)'
)

declare -A RESULT
for size in $SIZES; do
  echo "== $size: generating bodies" >&2
  "$LOADGEN" --preset "$size" --format stats --out - > "$T/$size.stats.json"
  "$LOADGEN" --preset "$size" --format remote-write --samples-per-request 5000 --out "$T/$size.bin" >&2
  SERIES=$(jq -r '.series' "$T/$size.stats.json")
  SAMPLES=$(jq -r '.samples' "$T/$size.stats.json")
  START=$(jq -r '.start_ms' "$T/$size.stats.json")
  END=$(jq -r '.end_ms' "$T/$size.stats.json")
  for peer in lookout prometheus vm; do
    port=$(free_port)
    dir="$T/$size-$peer"
    start_peer "$peer" "$port" "$dir"
    pid=$PEER_PID
    sleep 1
    c0=$(cpu_seconds "$pid")
    out=$("$REPLAY" "http://127.0.0.1:$port/api/v1/write" "$T/$size.bin" "$CONNS")
    c1=$(cpu_seconds "$pid")
    wall=$(jq -r '.seconds' <<<"$out")
    ok=$(jq -r '(.status_204 // 0) + (.status_200 // 0)' <<<"$out")
    reqs=$(jq -r '.requests' <<<"$out")
    cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    per_cpu=$(awk -v s="$SAMPLES" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? s / c : 0) }')
    sleep "$SETTLE"
    rss=$(rss_bytes "$pid")
    per_series=$(awk -v r="$rss" -v s="$SERIES" 'BEGIN { printf "%.2f", r / s / 1000 }')
    RESULT[$size,$peer,cpu]=$per_cpu
    RESULT[$size,$peer,rss]=$per_series
    printf '%-10s %-10s requests %s/%s ok, wall %ss, server CPU %ss, %s samples/CPU-s, RSS %s MB = %s KB/series\n' \
      "$size" "$peer" "$ok" "$reqs" "$wall" "$cpu" "$per_cpu" "$((rss / 1000000))" "$per_series"
    if [ "$size" = rw10k ]; then
      # Let VM make its freshest data searchable before timing queries.
      [ "$peer" = vm ] && curl -s "http://127.0.0.1:$port/internal/force_flush" >/dev/null && sleep 2
      qi=0
      for q in "${QUERIES[@]}"; do
        url="http://127.0.0.1:$port/api/v1/query_range"
        times=()
        for _ in 1 2 3 4 5; do
          times+=("$(curl -s -o "$T/q.json" -w '%{time_total}' --get --data-urlencode "query=$q" \
            --data-urlencode "start=$((START / 1000))" --data-urlencode "end=$((END / 1000))" \
            --data-urlencode "step=60" --data-urlencode "nocache=1" "$url")")
        done
        n=$(jq -r '.data.result | length' "$T/q.json" 2>/dev/null || echo "?")
        med=$(printf '%s\n' "${times[@]}" | median)
        RESULT[$size,$peer,q$qi]=$med
        printf '           %-10s %8.1f ms  (%s series)  %s\n' "$peer" "$(awk -v t="$med" 'BEGIN { print t * 1000 }')" "$n" "$q"
        qi=$((qi + 1))
      done
    fi
    stop_peer "$pid"
  done
done

echo
echo "lookout / peer ratios (ingest: higher is better; RSS and latency: lower is better)"
for size in $SIZES; do
  for peer in prometheus vm; do
    awk -v n="$size" -v p="$peer" \
      -v lc="${RESULT[$size,lookout,cpu]}" -v pc="${RESULT[$size,$peer,cpu]}" \
      -v lr="${RESULT[$size,lookout,rss]}" -v pr="${RESULT[$size,$peer,rss]}" \
      'BEGIN { printf "%-10s vs %-10s samples/CPU-s x%.2f   RSS/series x%.2f\n", n, p, (pc > 0 ? lc / pc : 0), (pr > 0 ? lr / pr : 0) }'
    if [ "$size" = rw10k ]; then
      for qi in 0 1 2 3 4; do
        awk -v p="$peer" -v q="${QUERIES[$qi]}" -v l="${RESULT[$size,lookout,q$qi]}" -v o="${RESULT[$size,$peer,q$qi]}" \
          'BEGIN { printf "           vs %-10s latency x%.2f  %s\n", p, (o > 0 ? l / o : 0), q }'
      done
    fi
  done
done
