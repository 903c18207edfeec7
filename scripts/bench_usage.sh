#!/usr/bin/env bash
# What usage costs (docs/usage.md), measured two ways:
#
# 1. Live: `ecmguard check` with a rule that reads usage against the local emulator serving
#    IMAGES images, INSTANCES instances and MODULES modules (defaults 10,000 / 20,000 / 500:
#    100 + 200 + 5 pages of 100), every action limited to 20 requests/s on its own (the
#    emulator counts each action apart, as Tencent limits each API), LATENCY_MS of latency per
#    request, the client at --rate 20. The three listings run one after another (images, then
#    instances, then modules), each with its own pacer, so the bound the rate limits set is
#    the sum of the three: (100 + 200 + 5) / 20 = 15.25 s. Target: median wall time of the
#    whole check <= 1.15 x that bound, nothing throttled.
# 2. The join: a 100,000-image snapshot with usage (gen_images: about 137,000 instances and
#    8,600 modules) evaluated in-process as `check --snapshot` does, step by step
#    (examples/usage_join_bench.rs, medians of 7): read, check the usage section, join it
#    into the image set (every image's Usage.* fields and what uses each), evaluate the
#    shipped pack, render the JSON report. Target: the join <= 10 % of that evaluation (the
#    join against `evaluate` alone is printed too). And end to end: `check --snapshot` of that
#    file with the shipped pack, against the same pack without its usage rule (so nothing is
#    joined), medians of RUNS.
#
#   scripts/bench_usage.sh
#   RUNS=5 LIMITERS="strict lenient" scripts/bench_usage.sh
#   SKIP_LIVE=1 scripts/bench_usage.sh       # the join only
#
# Everything runs on 127.0.0.1; each live run gets a fresh emulator, stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGES=${IMAGES:-10000}
INSTANCES=${INSTANCES:-20000}
MODULES=${MODULES:-500}
LATENCY_MS=${LATENCY_MS:-100}
RATE=${RATE:-20}
RUNS=${RUNS:-3}
JITTER_MS=${JITTER_MS:-20}
LIMITERS=${LIMITERS:-"strict lenient"}
JOIN_IMAGES=${JOIN_IMAGES:-100000}
NOW=2026-01-01T00:00:00+08:00
source scripts/bench_lib.sh

cargo build --release --quiet --bin ecmguard --example ecm_emulator --example gen_images \
  --example usage_join_bench

now_s() { date +%s.%N; }

pages() { echo $(( ($1 + 99) / 100 )); }
image_pages=$(pages "$IMAGES"); instance_pages=$(pages "$INSTANCES"); module_pages=$(pages "$MODULES")
bound=$(awk -v a="$image_pages" -v b="$instance_pages" -v c="$module_pages" -v r="$RATE" \
  'BEGIN { printf "%.3f", (a + b + c) / r }')

mkdir -p "$work/policies"
cat >"$work/policies/usage.yaml" <<'EOF'
rules:
  - id: unused-private-images-expire
    title: Unused private images are deleted after 90 days
    where: { ImageType: PRIVATE_IMAGE, Usage.InUse: false }
    assert: { ImageCreateTime: { newer_than: 90d } }
EOF

live_run() { # limiter seed -> prints "seconds requests throttled"
  local limiter=$1 seed=$2 flags
  read -r -a flags <<<"$(limiter_flags "$limiter" "$seed")"
  start_emulator --generate "$IMAGES" --instances "$INSTANCES" --modules "$MODULES" \
    --latency-ms "$LATENCY_MS" --rate-limit 20 "${flags[@]}"
  local start end code=0
  start=$(now_s)
  env -u TENCENTCLOUD_TOKEN -u TENCENTCLOUD_SECURITY_TOKEN HOME="$work" \
    TENCENTCLOUD_SECRET_ID=AKIDbench TENCENTCLOUD_SECRET_KEY=benchkey \
    "$TARGET_DIR/release/ecmguard" check --endpoint "$emulator_url" --rate "$RATE" \
    --policy "$work/policies" --config none --now "$NOW" --format json \
    >"$work/report.json" 2>"$work/stderr" || code=$?
  end=$(now_s)
  stop_emulator
  if [ "$code" -ne 0 ] && [ "$code" -ne 1 ]; then
    echo "check failed (exit $code):" >&2; cat "$work/stderr" >&2; exit 1
  fi
  grep -q "\"instances\": $INSTANCES," "$work/report.json" \
    || { echo "the report lists another number of instances" >&2; exit 1; }
  sed -n 's/^ecm_emulator: //p' "$work/log" | grep -E 'requests|Describe' | sed 's/^/  emulator: /' >&2
  local requests throttled
  requests=$(grep -m1 '"requests":' "$work/report.json" | tr -dc '0-9')
  throttled=$(sed -n 's/.* \([0-9]*\) throttled (RequestLimitExceeded).*/\1/p' "$work/log" | head -n 1)
  awk -v s="$start" -v e="$end" -v r="$requests" -v t="${throttled:-?}" \
    'BEGIN { printf "%.3f %s %s\n", e - s, r, t }'
}

results=()
if [ -z "${SKIP_LIVE:-}" ]; then
  echo "live check: $IMAGES images, $INSTANCES instances, $MODULES modules ($image_pages + $instance_pages + $module_pages pages), latency $LATENCY_MS ms, --rate $RATE, emulator limit 20 req/s per action"
  echo "bound: the three listings one after another, each at $RATE req/s: ($image_pages + $instance_pages + $module_pages) / $RATE = $bound s"
  for limiter in $LIMITERS; do
    : >"$work/ratios"
    for run in $(seq "$RUNS"); do
      read -r seconds requests throttled < <(live_run "$limiter" "$run")
      ratio=$(awk -v d="$seconds" -v b="$bound" 'BEGIN { printf "%.3f", d / b }')
      printf '%-8s run %d: %6.2f s  ratio %s  %s requests, %s throttled\n' \
        "$limiter" "$run" "$seconds" "$ratio" "$requests" "$throttled"
      echo "$ratio" >>"$work/ratios"
    done
    r=$(median <"$work/ratios")
    verdict=$(awk -v r="$r" 'BEGIN { print (r <= 1.15) ? "target met" : "target MISSED" }')
    results+=("$(printf 'live %-8s median of %d: %s x the bound (target <= 1.15 x: %s)' "$limiter" "$RUNS" "$r" "$verdict")")
  done
fi

echo
echo "join: generating $JOIN_IMAGES images with their usage"
"$TARGET_DIR/release/examples/gen_images" --count "$JOIN_IMAGES" --seed 1 >"$work/big.json" 2>"$work/gen"
cat "$work/gen"
join=$("$TARGET_DIR/release/examples/usage_join_bench" "$work/big.json" --runs 7 --policy policies)
echo "usage_join_bench: $join"
number() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$join"; }
share=$(number join_share); vs_eval=$(number join_vs_evaluate)
verdict=$(awk -v s="$share" 'BEGIN { print (s <= 0.10) ? "target met" : "target MISSED" }')
results+=("$(printf 'join of %d images: %s ms, %.1f %% of evaluating the snapshot in-process (target <= 10 %%: %s); %.0f %% of the evaluate step alone' \
  "$JOIN_IMAGES" "$(number join_ms)" "$(awk -v s="$share" 'BEGIN { print 100 * s }')" "$verdict" \
  "$(awk -v s="$vs_eval" 'BEGIN { print 100 * s }')")")

# End to end: the shipped pack, and the same pack without its usage rule.
mkdir -p "$work/no-usage"
cp policies/*.yaml "$work/no-usage/"
rm "$work/no-usage/usage.yaml" "$work/no-usage/usage.test.yaml"
check_time() { # policy dir -> seconds
  local start end code=0
  start=$(now_s)
  "$TARGET_DIR/release/ecmguard" check --snapshot "$work/big.json" --policy "$1" --config none \
    --now "$NOW" --format json >/dev/null 2>"$work/stderr" || code=$?
  end=$(now_s)
  if [ "$code" -ne 0 ] && [ "$code" -ne 1 ]; then cat "$work/stderr" >&2; exit 1; fi
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}
: >"$work/with"; : >"$work/without"
for _ in $(seq "$RUNS"); do
  check_time "$work/no-usage" >>"$work/without"
  check_time policies >>"$work/with"
done
with=$(median <"$work/with"); without=$(median <"$work/without")
echo "check --snapshot ($JOIN_IMAGES images, --format json): shipped pack $with s, without its usage rule $without s"
results+=("$(printf 'check --snapshot of %d images: %.3f s with the usage rule, %.3f s without (%.2f x)' \
  "$JOIN_IMAGES" "$with" "$without" "$(awk -v a="$with" -v b="$without" 'BEGIN { print a / b }')")")

echo
printf '%s\n' "${results[@]}"
