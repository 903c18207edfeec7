#!/usr/bin/env bash
# What reading a hostile input file costs: `ecmguard validate` on generated
# files a generator (or an attacker) could write, timed and with the size of
# what it prints. Medians of several runs (a shared machine is noisy); wall
# clock and CPU (user + system).
#   - config-keys:   an ecmguard.yaml of 50,000 unknown keys (0.5 MB)
#   - config-value:  an ecmguard.yaml whose fail_on is a 900 KB value
#   - param-names:   a --param-file of 50,000 names no policy defines
#   - policy-keys:   a policy rule with 50,000 unknown keys
#   - config-secrets: an ecmguard.yaml of 50,000 credential lines (each refused,
#                    each value masked in whatever is shown)
# With --baseline REV the same files are run against ecmguard built from the
# git revision REV first (for example `main`), and the ratio is printed.
#
# usage: scripts/bench_inputs.sh [--runs N] [--baseline REV]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
baseline=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --baseline) baseline="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--baseline REV]" >&2; exit 2 ;;
  esac
done

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
root="$(pwd)"

# The baseline is built first, in the same target directory (its
# dependencies are shared), and its binary set aside before ours is built.
if [ -n "$baseline" ]; then
  echo "== building $baseline (release)" >&2
  mkdir "$dir/baseline-src"
  git archive "$baseline" | tar -x -C "$dir/baseline-src"
  CARGO_TARGET_DIR="$root/target" cargo build --release --quiet --bin ecmguard \
    --manifest-path "$dir/baseline-src/Cargo.toml"
  cp target/release/ecmguard "$dir/ecmguard-baseline"
fi
echo "== building the working tree (release)" >&2
cargo build --release --quiet --bin ecmguard
cp target/release/ecmguard "$dir/ecmguard-current"

python3 - "$dir" <<'EOF'
import os, sys
d = sys.argv[1]
policy = ('params:\n  min_size: { default: 20 }\nrules:\n  - id: size\n'
          '    title: Disks are large enough\n'
          '    assert: { ImageSize: { gte: "${min_size}" } }\n')
keys = ''.join('k%05d: 1\n' % i for i in range(50_000))
for name in ['config-keys', 'config-value', 'param-names', 'policy-keys', 'config-secrets']:
    os.makedirs(f'{d}/{name}/policies')
    with open(f'{d}/{name}/policies/main.yaml', 'w') as f:
        f.write(policy)
open(f'{d}/config-keys/ecmguard.yaml', 'w').write(keys)
open(f'{d}/config-value/ecmguard.yaml', 'w').write('fail_on: ' + 'a' * 900_000 + '\n')
open(f'{d}/param-names/vars.yaml', 'w').write(keys)
rule = 'rules:\n  - id: r1\n    title: A rule\n    assert: { ImageState: NORMAL }\n'
open(f'{d}/config-secrets/ecmguard.yaml', 'w').write(
    ''.join('token%d: v%ds\n' % (i, i) for i in range(50_000)))
open(f'{d}/policy-keys/policies/main.yaml', 'w').write(
    rule + ''.join('    ' + line + '\n' for line in keys.splitlines()))
EOF

args_of() {
  case "$1" in
    param-names) echo "validate --param-file vars.yaml" ;;
    *) echo "validate" ;;
  esac
}

# One run: "wall cpu stderr-bytes".
measure() {
  local bin="$1" case="$2"
  (
    cd "$dir/$case"
    python3 - "$bin" $(args_of "$case") <<'EOF'
import os, resource, subprocess, sys, time
start = time.monotonic()
before = resource.getrusage(resource.RUSAGE_CHILDREN)
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.monotonic() - start
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(f"{wall:.3f} {cpu:.3f} {len(done.stderr)}")
EOF
  )
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-13s %-9s %10s %10s %12s\n' case binary wall_s cpu_s stderr_bytes
for case in config-keys config-value param-names policy-keys config-secrets; do
  for which in baseline current; do
    bin="$dir/ecmguard-$which"
    [ -x "$bin" ] || continue
    results="$(for _ in $(seq "$runs"); do measure "$bin" "$case"; done)"
    wall="$(echo "$results" | awk '{print $1}' | median)"
    cpu="$(echo "$results" | awk '{print $2}' | median)"
    bytes="$(echo "$results" | awk '{print $3}' | median)"
    printf '%-13s %-9s %10s %10s %12s\n' "$case" "$which" "$wall" "$cpu" "$bytes"
  done
done
