#!/usr/bin/env bash
# Times one complete live fetch against the local emulator and compares it with the bound
# set by the rate limit.
#
# Defaults: 25,000 generated images (250 pages of 100), 100 ms added latency per request,
# client rate 20 req/s, emulator limit 20 req/s. The bound is pages / rate = 12.5 s; the
# target is a ratio of at most 1.15.
#
#   scripts/bench_fetch.sh                      # defaults
#   IMAGES=5000 LATENCY_MS=300 scripts/bench_fetch.sh
#
# Everything runs on 127.0.0.1; the emulator is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGES=${IMAGES:-25000}
LATENCY_MS=${LATENCY_MS:-100}
RATE=${RATE:-20}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet --example ecm_emulator --example fetch_bench

work=$(mktemp -d)
emulator_pid=
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$TARGET_DIR/release/examples/ecm_emulator" --generate "$IMAGES" --latency-ms "$LATENCY_MS" \
  --rate-limit 20 --secret-id AKIDbench --secret-key benchkey >"$work/url" 2>"$work/log" &
emulator_pid=$!
for _ in $(seq 100); do
  [ -s "$work/url" ] && break
  sleep 0.1
done
url=$(head -n 1 "$work/url")
[ -n "$url" ] || { echo "emulator did not start:" >&2; cat "$work/log" >&2; exit 1; }

stats=$(env -u TENCENTCLOUD_TOKEN -u TENCENTCLOUD_SECURITY_TOKEN \
  TENCENTCLOUD_SECRET_ID=AKIDbench TENCENTCLOUD_SECRET_KEY=benchkey \
  "$TARGET_DIR/release/examples/fetch_bench" --endpoint "$url" --rate "$RATE")

echo "$stats"
echo "$stats" | awk -v images="$IMAGES" -v rate="$RATE" -v latency="$LATENCY_MS" '
  {
    match($0, /"duration_s":[0-9.e+-]+/); d = substr($0, RSTART + 13, RLENGTH - 13)
    match($0, /"requests":[0-9]+/); r = substr($0, RSTART + 11, RLENGTH - 11)
    pages = int((images + 99) / 100); if (pages < 1) pages = 1
    bound = pages / rate
    printf "fetched %d images: %d requests in %.2f s; rate-limit bound %d pages / %g req/s = %.2f s; ratio %.3f (target <= 1.15, latency %d ms)\n", images, r, d, pages, rate, bound, d / bound, latency
  }'
