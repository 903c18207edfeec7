#!/usr/bin/env bash
# Times complete live fetches against the local emulator and compares them with the bound set
# by the rate limit, under both of the emulator's readings of "20 requests per second":
#
#   lenient  a token bucket of 20, refilled at 20/s (forgives arrival jitter)
#   strict   a sliding 1-second window over arrival times in which throttled requests count
#            too, every arrival jittered by ±JITTER_MS (seeded per run)
#
# Defaults: 25,000 generated images (250 pages of 100), 100 ms added latency per request,
# client rate 20 req/s, emulator limit 20 req/s, 3 runs per limiter. The bound is
# pages / rate = 12.5 s. Targets (strict limiter): median ratio <= 1.15 and median share of
# throttled requests <= 1 %.
#
#   scripts/bench_fetch.sh                          # both limiters, 3 runs each
#   LIMITERS=strict RUNS=5 JITTER_MS=30 scripts/bench_fetch.sh
#   IMAGES=5000 LATENCY_MS=300 scripts/bench_fetch.sh
#
# Everything runs on 127.0.0.1; each run gets a fresh emulator, stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGES=${IMAGES:-25000}
LATENCY_MS=${LATENCY_MS:-100}
RATE=${RATE:-20}
RUNS=${RUNS:-3}
JITTER_MS=${JITTER_MS:-20}
LIMITERS=${LIMITERS:-"lenient strict"}
source scripts/bench_lib.sh

cargo build --release --quiet --example ecm_emulator --example fetch_bench

pages=$(( (IMAGES + 99) / 100 )); [ "$pages" -ge 1 ] || pages=1
bound=$(awk -v p="$pages" -v r="$RATE" 'BEGIN { printf "%.3f", p / r }')

# field NAME JSON: a number from fetch_bench's one-line JSON.
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" <<<"$2"; }
one_run() { # limiter seed -> prints "duration requests throttled busiest"
  local limiter=$1 seed=$2 flags
  read -r -a flags <<<"$(limiter_flags "$limiter" "$seed")"
  start_emulator --generate "$IMAGES" --latency-ms "$LATENCY_MS" --rate-limit 20 "${flags[@]}"
  local stats
  stats=$(env -u TENCENTCLOUD_TOKEN -u TENCENTCLOUD_SECURITY_TOKEN \
    TENCENTCLOUD_SECRET_ID=AKIDbench TENCENTCLOUD_SECRET_KEY=benchkey \
    "$TARGET_DIR/release/examples/fetch_bench" --endpoint "$emulator_url" --rate "$RATE")
  stop_emulator
  echo "  $limiter run (seed $seed): $stats" >&2
  local summary
  summary=$(grep 'in any 1 s' "$work/log" || true)
  echo "  emulator: ${summary#ecm_emulator: }" >&2
  local images distinct busiest
  images=$(field images "$stats"); distinct=$(field distinct_image_ids "$stats")
  if [ "$images" != "$IMAGES" ] || [ "$distinct" != "$IMAGES" ]; then
    echo "wrong result: $images images, $distinct distinct, expected $IMAGES" >&2
    exit 1
  fi
  busiest=$(sed -n 's/.*at most \([0-9]*\) in any 1 s.*/\1/p' <<<"$summary")
  echo "$(field duration_s "$stats") $(field requests "$stats") $(field throttled "$stats") ${busiest:-?}"
}

echo "fetch of $IMAGES images ($pages pages), latency $LATENCY_MS ms, client --rate $RATE, emulator limit 20 req/s"
echo "rate-limit bound: $pages requests / $RATE req/s = $bound s"
results=()
for limiter in $LIMITERS; do
  : >"$work/ratios"; : >"$work/shares"
  for run in $(seq "$RUNS"); do
    one_run "$limiter" "$run" >"$work/run"
    read -r duration requests throttled busiest <"$work/run"
    ratio=$(awk -v d="$duration" -v b="$bound" 'BEGIN { printf "%.3f", d / b }')
    share=$(awk -v t="$throttled" -v r="$requests" 'BEGIN { printf "%.2f", 100 * t / r }')
    printf '%-8s run %d: %6.2f s  ratio %s  %d requests, %d throttled (%s %%), busiest second %s\n' \
      "$limiter" "$run" "$duration" "$ratio" "$requests" "$throttled" "$share" "$busiest"
    echo "$ratio" >>"$work/ratios"; echo "$share" >>"$work/shares"
  done
  r=$(median <"$work/ratios"); s=$(median <"$work/shares")
  verdict=$(awk -v r="$r" -v s="$s" 'BEGIN { print (r <= 1.15 && s <= 1) ? "target met" : "target MISSED" }')
  results+=("$(printf '%-8s median of %d: ratio %s x the bound, %s %% of requests throttled (target <= 1.15 x, <= 1 %%: %s)' \
    "$limiter" "$RUNS" "$r" "$s" "$verdict")")
done
echo
printf '%s\n' "${results[@]}"
