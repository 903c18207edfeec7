#!/usr/bin/env bash
# What applying a plan costs (docs/remediation.md): `ecmguard apply` of a plan of DELETES
# deletes (default 200), each re-checked first (DescribeImage, DescribeInstances and
# DescribeModule with image-id, then DeleteImage), against the local emulator with
# LATENCY_MS of latency per request, every action limited to 20 requests/s on its own
# (strict limiter by default), the client at --rate RATE. Release build; medians of RUNS.
#
# THE figure is the ratio to the rate bound (target: at most 1.15): each API action has
# its own pacer and its own limit, so the four streams of DELETES requests can at best run
# side by side, DELETES / RATE seconds (plus the account check's DescribeImage pages, on
# the same pacer as the re-reads). The chain bound is printed as context: one action at a
# time, four round trips each, 4 x DELETES x LATENCY_MS (80 s at 100 ms), what a serial
# apply cannot beat.
#
# BINARIES compares builds in one session, their runs interleaved (run 1 of each, then
# run 2 of each…), each as LABEL=PATH; by default the one just built:
#
#   scripts/bench_apply.sh
#   BINARIES="before=/tmp/ecmguard-main after=target/release/ecmguard" scripts/bench_apply.sh
#   RUNS=5 LIMITERS="strict lenient" LATENCY_MS=50 scripts/bench_apply.sh
#
# Everything runs on 127.0.0.1; each run gets a fresh emulator, stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DELETES=${DELETES:-200}
LATENCY_MS=${LATENCY_MS:-100}
RATE=${RATE:-20}
RUNS=${RUNS:-3}
JITTER_MS=${JITTER_MS:-20}
LIMITERS=${LIMITERS:-"strict"}
BINARIES=${BINARIES:-"this=target/release/ecmguard"}
NOW=2026-01-01T00:00:00+08:00
source scripts/bench_lib.sh

# NO_BUILD=1: use the release binaries already built (while another build holds the lock).
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin ecmguard --example ecm_emulator

now_s() { date +%s.%N; }

# Generated images: two of every three are private; none is used (no instances, no
# modules), so every private image is planned for deletion.
IMAGES=$(( DELETES * 3 / 2 + 1 ))
account_pages=$(( (DELETES + 99) / 100 ))
rate_bound=$(awk -v n="$DELETES" -v p="$account_pages" -v r="$RATE" 'BEGIN { printf "%.3f", (n + p) / r }')
chain_bound=$(awk -v n="$DELETES" -v l="$LATENCY_MS" 'BEGIN { printf "%.3f", 4 * n * l / 1000 }')

mkdir -p "$work/policies"
cat >"$work/policies/delete.yaml" <<'EOF'
rules:
  - id: private-images-go
    title: Every private image is deleted (a benchmark's rule)
    where: { ImageType: PRIVATE_IMAGE }
    assert: { ImageState: RETIRED }
    fix: delete
EOF

credentials() {
  env -u TENCENTCLOUD_TOKEN -u TENCENTCLOUD_SECURITY_TOKEN HOME="$work" \
    TENCENTCLOUD_SECRET_ID=AKIDbench TENCENTCLOUD_SECRET_KEY=benchkey "$@"
}

run() { # binary limiter seed -> prints "seconds throttled"
  local bin=$1 limiter=$2 seed=$3 flags
  read -r -a flags <<<"$(limiter_flags "$limiter" "$seed")"
  start_emulator --generate "$IMAGES" --instances 0 --modules 0 \
    --latency-ms "$LATENCY_MS" --rate-limit 20 "${flags[@]}"
  credentials "$bin" plan --endpoint "$emulator_url" --rate "$RATE" \
    --policy "$work/policies" --config none --now "$NOW" --max-actions "$DELETES" \
    -o "$work/plan.json" >/dev/null 2>"$work/stderr" \
    || { echo "plan failed:" >&2; cat "$work/stderr" >&2; exit 1; }
  local planned
  planned=$(jq '[.actions[] | select(.action == "delete")] | length' "$work/plan.json")
  [ "$planned" -eq "$DELETES" ] || { echo "planned $planned deletes, not $DELETES" >&2; exit 1; }
  local start end code=0
  start=$(now_s)
  credentials "$bin" apply "$work/plan.json" --endpoint "$emulator_url" \
    --rate "$RATE" --config none --output "$work/result.json" >"$work/stdout" 2>"$work/stderr" \
    || code=$?
  end=$(now_s)
  stop_emulator
  if [ "$code" -ne 0 ]; then
    echo "apply failed (exit $code):" >&2; tail -n 5 "$work/stdout" >&2; cat "$work/stderr" >&2; exit 1
  fi
  grep -q "Apply: $DELETES done" "$work/stdout" || { tail -n 1 "$work/stdout" >&2; exit 1; }
  sed -n 's/^ecm_emulator: //p' "$work/log" | grep -E 'requests|Describe|Delete' | sed 's/^/  emulator: /' >&2
  local throttled
  throttled=$(sed -n 's/.* \([0-9]*\) throttled (RequestLimitExceeded).*/\1/p' "$work/log" | head -n 1)
  awk -v s="$start" -v e="$end" -v t="${throttled:-?}" 'BEGIN { printf "%.3f %s\n", e - s, t }'
}

echo "apply of $DELETES deletes, each re-checked (4 requests), latency $LATENCY_MS ms, --rate $RATE, emulator limit 20 req/s per action"
echo "rate bound (each action paced on its own, side by side): ($DELETES + $account_pages) / $RATE = $rate_bound s  <- THE bound (target <= 1.15 x)"
echo "chain bound (context: one action at a time, 4 round trips each): 4 x $DELETES x $LATENCY_MS ms = $chain_bound s"
results=()
for limiter in $LIMITERS; do
  for binary in $BINARIES; do : >"$work/ratios.${binary%%=*}"; done
  for n in $(seq "$RUNS"); do
    for binary in $BINARIES; do
      label=${binary%%=*} path=${binary#*=}
      read -r seconds throttled < <(run "$path" "$limiter" "$n")
      ratio=$(awk -v d="$seconds" -v b="$rate_bound" 'BEGIN { printf "%.3f", d / b }')
      chain=$(awk -v d="$seconds" -v b="$chain_bound" 'BEGIN { printf "%.3f", d / b }')
      printf '%-8s %-8s run %d: %7.2f s  %s x the rate bound (%s x the chain bound), %s throttled\n' \
        "$limiter" "$label" "$n" "$seconds" "$ratio" "$chain" "$throttled"
      echo "$ratio $seconds" >>"$work/ratios.$label"
    done
  done
  for binary in $BINARIES; do
    label=${binary%%=*}
    r=$(cut -d' ' -f1 <"$work/ratios.$label" | median)
    s=$(cut -d' ' -f2 <"$work/ratios.$label" | median)
    verdict=$(awk -v r="$r" 'BEGIN { print (r <= 1.15) ? "target met" : "target MISSED" }')
    results+=("$(printf '%-8s %-8s median of %d: %s s, %s x the rate bound of %s s (target <= 1.15 x: %s)' \
      "$limiter" "$label" "$RUNS" "$s" "$r" "$rate_bound" "$verdict")")
  done
done
echo
printf '%s\n' "${results[@]}"
