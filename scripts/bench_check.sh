#!/usr/bin/env bash
# End-to-end scale benchmark of `ecmguard check --snapshot` against the
# shipped policy pack, on generated snapshots of 10k, 100k and 1M images
# (10% violating). Prints medians of several runs, because a shared 2-core
# machine is noisy:
#   - 100k: check --format human and --format json (stdout to /dev/null)
#     against parse-only (read + parse + build the ImageSet), and their ratio;
#   - peak RSS (ru_maxrss of the child) next to the snapshot file size;
#   - the 10k/100k/1M series with the time per image, to show growth;
#   - compliance history: the 100k check with --history (SQLite, a history
#     already holding 30 daily runs, every run one more day) against the same
#     check without, interleaved, and `ecmguard history` over 365 daily runs
#     of 10k findings (written by examples/gen_history.rs);
#   - compliance history with many findings: the heavy snapshot below (every
#     image failing, ~217k findings a run) checked with --history into a
#     history of a few such runs, against the same check without, interleaved;
#     and `ecmguard history` in every format over that history, then over it
#     with the same run recorded under a second label (twice the open findings).
# Times are wall clock and CPU (user + system, steadier on a shared machine).
#   - heavy findings: 100k images all violating, plus a rule every image
#     breaks (~215k findings, a ~220 MB JSON report): check --format json
#     --output FILE and --format human, wall vs parse-only and RSS vs file;
#   - fetch -o FILE of the same 100k images from the bundled emulator on
#     127.0.0.1 (no rate limit): peak RSS vs the snapshot it writes.
# Targets: check <= 1.5x parse-only; peak RSS <= 2x the file (also with
# heavy findings: reports stream to their file); fetch -o RSS <= 1.5x the
# snapshot it writes; linear growth;
# recording the run adds <= 25% (1.25x); history over a year <= 2 s;
# with many findings: recording peaks <= 2x the snapshot and takes <= 2x the
# check without history, and `history` peaks under 256 MiB in every format.
# Exits 1 when any target is MISSED (after printing every table).
#
# --binary PATH measures that ecmguard (another build, for a before/after
# comparison on the same machine) and builds nothing: the examples must be
# in target/release/examples already.
#
# usage: scripts/bench_check.sh [--runs N] [--no-1m] [--no-history] [--only-heavy-history] [--binary PATH] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
with_1m=1
with_history=1
only_heavy_history=0
binary=""
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --no-1m) with_1m=0; shift ;;
    --no-history) with_history=0; shift ;;
    --only-heavy-history) only_heavy_history=1; with_1m=0; shift ;;
    --binary) binary="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--no-1m] [--no-history] [--only-heavy-history] [--binary PATH] [--keep DIR]" >&2; exit 2 ;;
  esac
done

if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing GNU time (peak RSS)" >&2
  apt-get install -y -q time >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q time >/dev/null 2>&1) || true
fi
if [ ! -x /usr/bin/time ]; then
  echo "note: GNU time not found (apt-get install time); peak RSS falls back to ru_maxrss, inflated for small runs" >&2
fi

if [ -z "$binary" ]; then
  echo "== building (release)" >&2
  cargo build --release --quiet --bin ecmguard --example gen_images --example parse_only --example ecm_emulator --example gen_history
  binary=target/release/ecmguard
fi

if [ -n "$keep" ]; then
  mkdir -p "$keep"
  dir="$keep"
else
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi

sizes="10000 100000"
[ "$with_1m" = 1 ] && sizes="$sizes 1000000"
for n in $sizes; do
  if [ ! -s "$dir/images-$n.json" ]; then
    echo "== generating $n images" >&2
    target/release/examples/gen_images --count "$n" --seed 1 --violating 0.1 \
      > "$dir/images-$n.json" 2>/dev/null
  fi
done

if [ ! -s "$dir/heavy-100000.json" ]; then
  echo "== generating 100000 images, all violating" >&2
  target/release/examples/gen_images --count 100000 --seed 1 --violating 1.0 \
    > "$dir/heavy-100000.json" 2>/dev/null
fi
# The shipped pack and one rule every generated image breaks.
mkdir -p "$dir/heavy-policies"
for f in policies/*.yaml; do
  case "$f" in *.test.yaml) ;; *) cp "$f" "$dir/heavy-policies/" ;; esac
done
cat > "$dir/heavy-policies/heavy.yaml" <<'YAML'
rules:
  - id: bench-large-disks
    title: Disks are at least 1000 GB (every generated image breaks this)
    severity: warning
    assert: { ImageSize: { gte: 1000 } }
YAML

RUNS="$runs" DIR="$dir" SIZES="$sizes" HISTORY="$with_history" ONLY_HEAVY_HISTORY="$only_heavy_history" ECMGUARD="$binary" python3 - <<'PY'
import os, statistics, subprocess, time

runs = int(os.environ["RUNS"])
d = os.environ["DIR"]
sizes = [int(n) for n in os.environ["SIZES"].split()]
now = "2026-01-01T00:00:00+08:00"
ecmguard = os.environ["ECMGUARD"]
parse_only = "target/release/examples/parse_only"

# Every target's verdict; the script exits 1 when one is missed, so a CI job
# or a script running it cannot take a missed target for success.
missed = []

def target(ok, what):
    if not ok:
        missed.append(what)
    return "met" if ok else "MISSED"

def finish():
    if missed:
        print(f"\n{len(missed)} target(s) MISSED: " + "; ".join(missed))
        raise SystemExit(1)
    print("\nevery target met")
    raise SystemExit(0)

GNU_TIME = "/usr/bin/time"
stats = f"{d}/time.txt"

def once(cmd):
    """Wall time (s), peak RSS (bytes) and exit code of one child.

    Peak RSS comes from GNU time when it is installed: a child forked from
    Python counts Python's own pages in ru_maxrss until it execs, which
    inflates small measurements by ~10 MiB."""
    if os.path.exists(GNU_TIME):
        start = time.perf_counter()
        code = subprocess.call([GNU_TIME, "-o", stats, "-f", "%U %S %M"] + cmd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        with open(stats) as f:
            user, system, kib = f.read().split()[-3:]
        return wall, kib_bytes(kib), code, float(user) + float(system)
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    return (wall, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status),
            usage.ru_utime + usage.ru_stime)

def kib_bytes(text):
    return int(text) * 1024

def median(cmd, n):
    """Medians of wall time, peak RSS and CPU time (user + system), and the
    exit codes seen. CPU time is the steadier figure on a shared machine."""
    results = [once(cmd) for _ in range(n)]
    codes = {r[2] for r in results}
    return (statistics.median(r[0] for r in results),
            statistics.median(r[1] for r in results), codes,
            statistics.median(r[3] for r in results))

def check(path, fmt):
    return [ecmguard, "check", "--snapshot", path, "--now", now, "--format", fmt]

def mib(b):
    return f"{b / 2**20:.1f} MiB"

def heavy_history():
    """Recording a run with ~217k findings into a history of a few such
    runs, against the same check without history (interleaved, so both see
    the same machine load); then `history` in every format over it."""
    path = f"{d}/heavy-100000.json"
    size = os.path.getsize(path)
    pol = f"{d}/heavy-policies"
    db = f"{d}/heavy-history.db"
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    base = [ecmguard, "check", "--snapshot", path, "--policy", pol, "--now", now, "--format", "json"]
    for _ in range(3):
        subprocess.call(base + ["--history", db], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    plain, recorded = [], []
    for _ in range(max(runs, 5)):
        plain.append(once(base))
        recorded.append(once(base + ["--history", db]))
    def med(rows, i):
        return statistics.median(r[i] for r in rows)
    pt, ht = med(plain, 0), med(recorded, 0)
    pc, hc = med(plain, 3), med(recorded, 3)
    prss, hrss = med(plain, 1), med(recorded, 1)
    codes = sorted({r[2] for r in plain + recorded})
    print(f"\ncompliance history with many findings: heavy snapshot {mib(size)}, "
          f"a history of 3 such runs before ({len(plain)} interleaved runs, medians)")
    print(f"{'':32} {'wall':>8} {'cpu':>8} {'peak RSS':>11} {'RSS/file':>9}  exit")
    print(f"{'check --format json':32} {pt:7.3f}s {pc:7.3f}s {mib(prss):>11} {prss / size:8.2f}x  {codes}")
    print(f"{'  … --history DB':32} {ht:7.3f}s {hc:7.3f}s {mib(hrss):>11} {hrss / size:8.2f}x")
    print(f"recording: wall {ht / pt:.2f}x the check (target <= 2x: {target(ht / pt <= 2, 'recording wall <= 2x the check')}), "
          f"cpu {hc / pc:.2f}x, "
          f"peak RSS {hrss / size:.2f}x the snapshot (target <= 2x: {target(hrss / size <= 2, 'recording peak RSS <= 2x the snapshot')}), "
          f"{hrss / prss:.2f}x the check's")
    print(f"history file after {3 + len(recorded)} runs: {mib(os.path.getsize(db))}")
    # Then the same snapshot under a second label: twice the open findings,
    # and `history` must not grow with them.
    for label, extra in [("one account", []), ("two accounts, twice the open findings", ["--account", "second"])]:
        if extra:
            subprocess.call(base + ["--history", db] + extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"ecmguard history, {label}:")
        for fmt in ["human", "json", "html"]:
            t, rss, codes, cpu = median([ecmguard, "history", "--history", db, "--now", now, "--format", fmt], runs)
            print(f"  history --format {fmt:6} {t:7.3f}s wall {mib(rss):>11}  "
                  f"target < 256 MiB: {target(rss < 256 * 2**20, f'history --format {fmt} < 256 MiB ({label})')}  {sorted(codes)}")

if os.environ["ONLY_HEAVY_HISTORY"] == "1":
    print(f"machine: {os.cpu_count()} cores; {runs} runs each, medians")
    heavy_history()
    finish()

path = f"{d}/images-100000.json"
size = os.path.getsize(path)
print(f"machine: {os.cpu_count()} cores; {runs} runs each, medians")
print(f"\n100k images, shipped pack, snapshot {mib(size)}")
parse_t, parse_rss, parse_codes, parse_cpu = median([parse_only, path], runs)
rows = [("parse-only", parse_t, parse_rss, parse_codes, parse_cpu)]
for fmt in ["human", "json"]:
    rows.append((f"check --format {fmt}",) + median(check(path, fmt), runs))
print(f"{'':24} {'wall':>8} {'vs parse':>9} {'cpu':>8} {'vs parse':>9} {'peak RSS':>11} {'RSS/file':>9}  exit")
for name, t, rss, codes, cpu in rows:
    print(f"{name:24} {t:7.3f}s {t / parse_t:8.2f}x {cpu:7.3f}s {cpu / parse_cpu:8.2f}x {mib(rss):>11} {rss / size:8.2f}x  {sorted(codes)}")
worst_t = max(r[1] for r in rows[1:]) / parse_t
worst_cpu = max(r[4] for r in rows[1:]) / parse_cpu
worst_rss = max(r[2] for r in rows) / size
print(f"target check <= 1.5x parse-only: wall {target(worst_t <= 1.5, 'worst_t <= 1.5')} ({worst_t:.2f}x), "
      f"cpu {target(worst_cpu <= 1.5, 'worst_cpu <= 1.5')} ({worst_cpu:.2f}x)")
print(f"target peak RSS <= 2x file:      {target(worst_rss <= 2, 'worst_rss <= 2')} ({worst_rss:.2f}x)")

print("\nseries: check --format json (1M: a single run)")
print(f"{'images':>9} {'file':>11} {'wall':>8} {'cpu':>8} {'cpu/image':>10} {'peak RSS':>11} {'RSS/file':>9}  exit")
per = []
for n in sizes:
    path = f"{d}/images-{n}.json"
    size = os.path.getsize(path)
    t, rss, codes, cpu = median(check(path, "json"), 1 if n >= 1_000_000 else runs)
    per.append(cpu / n)
    print(f"{n:>9} {mib(size):>11} {t:7.3f}s {cpu:7.3f}s {cpu / n * 1e6:8.2f}us {mib(rss):>11} {rss / size:8.2f}x  {sorted(codes)}")
# GNU time reports CPU in 10 ms steps: compare against the smallest run long
# enough (>= 0.1 s) for that not to matter.
steady = [(n, p) for n, p in zip(sizes, per) if p * n >= 0.1] or list(zip(sizes, per))
growth = steady[-1][1] / steady[0][1]
print(f"cpu time per image, {steady[-1][0]} vs {steady[0][0]} images: {growth:.2f}x (linear growth: about 1x)")
print("(small files: the process's fixed ~6 MiB dominates RSS/file)")

# Heavy findings: the report is several times the snapshot, and is streamed
# into its file, never held whole.
path = f"{d}/heavy-100000.json"
size = os.path.getsize(path)
pol = f"{d}/heavy-policies"
print(f"\nheavy findings: 100k images all violating + a rule all break, snapshot {mib(size)}")
parse_t, parse_rss, _, parse_cpu = median([parse_only, path], runs)
report = f"{d}/heavy-report.json"
heavy = [
    ("parse-only", [parse_only, path]),
    ("check --format human", [ecmguard, "check", "--snapshot", path, "--policy", pol, "--now", now]),
    ("check json --output FILE", [ecmguard, "check", "--snapshot", path, "--policy", pol, "--now", now,
                                  "--format", "json", "--output", report]),
]
print(f"{'':26} {'wall':>8} {'vs parse':>9} {'peak RSS':>11} {'RSS/file':>9}  exit")
worst = 0
for name, cmd in heavy:
    t, rss, codes, cpu = median(cmd, runs)
    worst = max(worst, rss / size)
    print(f"{name:26} {t:7.3f}s {t / parse_t:8.2f}x {mib(rss):>11} {rss / size:8.2f}x  {sorted(codes)}")
findings = None
try:
    import json
    with open(report) as f:
        findings = len(json.load(f)["findings"])
except Exception:
    pass
print(f"report: {mib(os.path.getsize(report))}, {findings} findings")
print(f"target peak RSS <= 2x file with heavy findings: {target(worst <= 2, 'worst <= 2')} ({worst:.2f}x)")

# fetch -o FILE from the emulator: the snapshot is streamed to its file.
import socket, signal
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
emulator = subprocess.Popen(["target/release/examples/ecm_emulator", "--images", path,
                             "--port", str(port), "--rate-limit", "1000000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    env = dict(os.environ,
               TENCENTCLOUD_SECRET_ID="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
               TENCENTCLOUD_SECRET_KEY="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")
    fetched = f"{d}/fetched.json"
    os.environ.update(env)
    t, rss, codes, cpu = median([ecmguard, "fetch", "--endpoint", f"http://127.0.0.1:{port}",
                                 "--rate", "1000", "-o", fetched], runs)
    out = os.path.getsize(fetched)
    print(f"\nfetch -o FILE, 100k images from the emulator (no rate limit): {t:.2f}s, "
          f"peak RSS {mib(rss)} for a {mib(out)} snapshot = {rss / out:.2f}x  {sorted(codes)}")
    print(f"target fetch -o RSS <= 1.5x the snapshot: {target(rss / out <= 1.5, 'rss / out <= 1.5')} ({rss / out:.2f}x)")
finally:
    emulator.send_signal(signal.SIGTERM)
    emulator.wait()
if os.environ["HISTORY"] != "1":
    finish()

# Compliance history. Recording: a history that already holds 30 runs of the
# same account (the steady state of a daily job), then the measured runs;
# the plain check runs interleaved with it, so both see the same machine
# load. Ratios are of medians. Every run is at the same --now: the generated
# images' ages are relative to it, and a later --now would make more of them
# too old (more findings), so runs would not be comparable.
path = f"{d}/images-100000.json"
db = f"{d}/history.db"
for suffix in ["", "-wal", "-shm"]:
    if os.path.exists(db + suffix):
        os.remove(db + suffix)
def day(n):
    return now
for n in range(30):
    subprocess.call([ecmguard, "check", "--snapshot", path, "--now", day(n), "--format", "json",
                     "--history", db], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
plain, recorded = [], []
for n in range(30, 30 + max(runs, 5)):
    plain.append(once([ecmguard, "check", "--snapshot", path, "--now", day(n), "--format", "json"]))
    recorded.append(once([ecmguard, "check", "--snapshot", path, "--now", day(n), "--format", "json",
                          "--history", db]))
def med(rows, i):
    return statistics.median(r[i] for r in rows)
pt, ht = med(plain, 0), med(recorded, 0)
pc, hc = med(plain, 3), med(recorded, 3)
codes = sorted({r[2] for r in plain + recorded})
print(f"\ncompliance history: recording a 100k-image run (SQLite, after 30 runs; {len(plain)} interleaved runs, medians)")
print(f"{'':32} {'wall':>8} {'cpu':>8}  exit")
print(f"{'check --format json':32} {pt:7.3f}s {pc:7.3f}s  {codes}")
print(f"{'  … --history DB':32} {ht:7.3f}s {hc:7.3f}s")
print(f"recording adds: wall {ht / pt:.2f}x, cpu {hc / pc:.2f}x; target <= 1.25x: "
      f"wall {target(ht / pt <= 1.25, 'ht / pt <= 1.25')}, cpu {target(hc / pc <= 1.25, 'hc / pc <= 1.25')}")
print(f"history file after {30 + len(recorded)} runs: {mib(os.path.getsize(db))}")

year = f"{d}/year.db"
if not os.path.exists(year):
    start = time.perf_counter()
    subprocess.check_call(["target/release/examples/gen_history", "--history", year,
                           "--runs", "365", "--findings", "10000"], stderr=subprocess.DEVNULL)
    print(f"\nwrote 365 daily runs of 10k findings in {time.perf_counter() - start:.1f}s ({mib(os.path.getsize(year))})")
print(f"\necmguard history over 365 daily runs of 10k findings ({runs} runs, medians)")
for fmt in ["human", "json", "html"]:
    t, rss, codes, cpu = median([ecmguard, "history", "--history", year, "--now", "2027-01-01T00:00:00+08:00",
                                  "--format", fmt], runs)
    print(f"  history --format {fmt:6} {t:7.3f}s wall {cpu:7.3f}s cpu {mib(rss):>11}  "
          f"{t / pt:5.2f}x the 100k check  target <= 2 s: {target(t <= 2, 't <= 2')}  {sorted(codes)}")
heavy_history()
finish()
PY
