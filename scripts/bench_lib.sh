# Shared by the benchmark scripts that run the bundled emulator (bench_fetch.sh,
# bench_usage.sh): a work directory removed on exit, one emulator at a time started and
# stopped, and the median of a column of numbers. Source it after `cd` to the repository.

TARGET_DIR=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
emulator_pid=
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# median: of the numbers on stdin (the lower middle one for an even count).
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# start_emulator ARGS…: the release emulator with these arguments and the bench key;
# sets `emulator_url` (its log is "$work/log").
start_emulator() {
  : >"$work/url"
  "$TARGET_DIR/release/examples/ecm_emulator" "$@" --secret-id AKIDbench --secret-key benchkey \
    >"$work/url" 2>"$work/log" &
  emulator_pid=$!
  for _ in $(seq 100); do
    [ -s "$work/url" ] && break
    sleep 0.1
  done
  emulator_url=$(head -n 1 "$work/url")
  [ -n "$emulator_url" ] || { echo "emulator did not start:" >&2; cat "$work/log" >&2; exit 1; }
}

# stop_emulator: SIGTERM, so the emulator prints what its limiters saw to its log.
stop_emulator() {
  kill -TERM "$emulator_pid"
  wait "$emulator_pid" || true
  emulator_pid=
}

# limiter_flags NAME SEED: the emulator's flags for `lenient` or `strict` (a sliding window,
# arrivals jittered by ±JITTER_MS with this seed).
limiter_flags() {
  case $1 in
    lenient) echo "--limiter token-bucket" ;;
    strict) echo "--limiter sliding-window --jitter-ms ${JITTER_MS:-20} --jitter-seed $2" ;;
    *) echo "unknown limiter $1" >&2; exit 2 ;;
  esac
}
