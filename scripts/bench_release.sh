#!/usr/bin/env bash
# Release profile variants: size of the ecmguard binary, the time of a clean
# release build, and the CPU time of one check with each binary.
#
# Each variant is a clean `cargo build --release --bin ecmguard` in a target
# directory of its own (target/release-variants/NAME, removed afterwards unless
# --keep), with the profile set through cargo's CARGO_PROFILE_RELEASE_*
# variables on top of Cargo.toml's [profile.release]. Build times are wall and
# CPU (user + system of cargo and every compiler it runs, from GNU time): on a
# shared machine CPU time is the steadier figure. The check is
# `check --snapshot` of 100k generated images (10% violating) against the
# shipped pack, `--format json` to /dev/null, median CPU of 5 runs.
#
# usage: scripts/bench_release.sh [--keep] [VARIANT...]
#   variants: current symbols thin fat cgu1 thin-cgu1 opt-s (default: all)
# The 100k snapshot is generated once by the gen_images example (dev build).
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0
variants=()
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    current | symbols | thin | fat | cgu1 | thin-cgu1 | opt-s) variants+=("$arg") ;;
    *) echo "usage: $0 [--keep] [current|symbols|thin|fat|cgu1|thin-cgu1|opt-s ...]" >&2; exit 2 ;;
  esac
done
[ ${#variants[@]} -eq 0 ] && variants=(current symbols thin fat cgu1 thin-cgu1 opt-s)

if [ ! -x /usr/bin/time ]; then
  echo "GNU time is needed (apt-get install time)" >&2
  exit 2
fi

root="$(pwd)"
out="$root/target/release-variants"
mkdir -p "$out"
snapshot="$out/images-100000.json"
if [ ! -s "$snapshot" ]; then
  echo "== generating 100000 images" >&2
  cargo run --quiet --features generate --example gen_images -- \
    --count 100000 --seed 1 --violating 0.1 > "$snapshot"
fi

# NAME -> the profile settings it changes (cargo's environment form).
settings() {
  case "$1" in
    current) echo "" ;;
    symbols) echo "STRIP=symbols" ;;
    thin) echo "STRIP=symbols LTO=thin" ;;
    fat) echo "STRIP=symbols LTO=fat" ;;
    cgu1) echo "STRIP=symbols CODEGEN_UNITS=1" ;;
    thin-cgu1) echo "STRIP=symbols LTO=thin CODEGEN_UNITS=1" ;;
    opt-s) echo "STRIP=symbols OPT_LEVEL=s" ;;
  esac
}

printf '%-10s %-40s %10s %10s %12s %12s\n' variant settings wall cpu binary "check cpu"
for name in "${variants[@]}"; do
  dir="$out/$name"
  rm -rf "$dir"
  env_args=()
  for kv in $(settings "$name"); do
    env_args+=("CARGO_PROFILE_RELEASE_$kv")
  done
  echo "== $name: clean build ($(settings "$name"))" >&2
  env "${env_args[@]}" CARGO_TARGET_DIR="$dir" /usr/bin/time -o "$out/$name.time" -f '%e %U %S' \
    cargo build --release --quiet --locked --bin ecmguard
  read -r wall user sys < <(tail -n 1 "$out/$name.time")
  bin="$dir/release/ecmguard"
  bytes=$(stat -c %s "$bin")
  cpus=()
  for _ in 1 2 3 4 5; do
    /usr/bin/time -o "$out/$name.check" -f '%U %S' "$bin" check --snapshot "$snapshot" \
      --now 2026-01-01T00:00:00+08:00 --format json > /dev/null 2>&1 || true
    read -r cu cs < <(tail -n 1 "$out/$name.check")
    cpus+=("$(echo "$cu + $cs" | bc)")
  done
  check=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 3p)
  printf '%-10s %-40s %9.0fs %9.0fs %9.2f MB %11.3fs\n' "$name" "$(settings "$name")" \
    "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$bytes / 1000000" | bc -l)" "$check"
  [ "$keep" = 1 ] || rm -rf "$dir"
done
