#!/usr/bin/env bash
# Checks the report formats with the real consumers, which `cargo test`
# cannot run (they are installed from npm, PyPI and Debian):
#   sarif  the official SARIF validator (npm @microsoft/sarif-multitool)
#   junit  Python's junitparser, which reads the file and checks the counts
#   html   headless Chromium renders the page to a PNG; Pillow checks that
#          something was drawn (size, many colours, the verdict banner);
#          the same for `ecmguard history --format html` over a recorded
#          history of ten runs (charts drawn, nothing loaded from the network)
# Called by .ci/run after `cargo test`; runnable by hand from the repository
# root. Needs npm, python3 and (for Chromium, if missing) apt-get as root.
# REPORTS_KEEP=DIR keeps the generated reports and the screenshot there.
set -euo pipefail
cd "$(dirname "$0")/.."

SARIF_MULTITOOL_VERSION=5.7.0
work=$(mktemp -d)
cleanup() {
  if [ -n "${REPORTS_KEEP:-}" ]; then
    mkdir -p "$REPORTS_KEEP" && cp -r "$work"/out/. "$REPORTS_KEEP"/ && echo "kept the reports in $REPORTS_KEEP"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/out"
out="$work/out"

echo "== check-reports: every format from one run of the fixture"
cargo build --quiet --bin ecmguard
bin="${CARGO_TARGET_DIR:-target}/debug/ecmguard"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
set +e
(
  cd tests/fixtures/reports &&
    "$bin" check --policy policy.yaml --snapshot snapshot.json --baseline baseline.json \
      --now 2026-11-27T00:00:00+08:00 --format json --output "$out/fixture.json" \
      --report sarif="$out/fixture.sarif" --report junit="$out/fixture.xml" \
      --report html="$out/fixture.html" --report markdown="$out/fixture.md" \
      --report csv="$out/fixture.csv" --report github="$out/fixture.github.txt"
) 2> "$work/check.log"
code=$?
# The shipped policies on the example account: real-world data for SARIF too.
"$bin" check --snapshot examples/snapshots/account.json --now 2026-11-27T00:00:00+08:00 \
  --format sarif --output "$out/account.sarif" 2>> "$work/check.log"
account_code=$?
# A compliance history of ten daily runs of the example account, with the
# failed import fixed half-way, for `history --format html`.
history_db="$work/history.db"
python3 - examples/snapshots/account.json "$work/fixed.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
for image in doc["ImageSet"] if isinstance(doc, dict) else doc:
    if image.get("ImageState") == "IMPORTFAILED":
        image["ImageState"] = "NORMAL"
json.dump(doc, open(sys.argv[2], "w", encoding="utf-8"))
EOF
for day in 01 02 03 04 05 06 07 08 09 10; do
  snapshot=examples/snapshots/account.json
  if [ "$day" -gt 5 ]; then snapshot="$work/fixed.json"; fi
  "$bin" check --snapshot "$snapshot" --policy policies --policy examples/policies \
    --history "$history_db" --now "2026-11-${day}T00:00:00+08:00" --format json > /dev/null 2>> "$work/check.log"
done
"$bin" history --history "$history_db" --policy policies --policy examples/policies \
  --now 2026-11-10T12:00:00+08:00 --format html > "$out/history.html" 2>> "$work/check.log"
history_code=$?
set -e
if [ "$history_code" -ne 0 ]; then
  cat "$work/check.log"
  echo "ecmguard history --format html failed ($history_code)"
  exit 1
fi
if [ "$code" -ne 1 ] || [ "$account_code" -ne 1 ]; then
  cat "$work/check.log"
  echo "expected exit 1 (violations) from both runs, got $code and $account_code"
  exit 1
fi

echo "== SARIF: the official validator, @microsoft/sarif-multitool $SARIF_MULTITOOL_VERSION"
npm install --prefix "$work/npm" --no-audit --no-fund --no-save --loglevel=error \
  "@microsoft/sarif-multitool@$SARIF_MULTITOOL_VERSION" > /dev/null
multitool="$work/npm/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
# npm does not keep the execute bit of the packaged .NET binary everywhere.
chmod +x "$multitool"
# A self-contained .NET program: without ICU it must run in invariant mode.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
# The validator exits 0 even when it reports errors: count them in its output.
validate() {
  local file=$1 log=$2
  "$multitool" validate "$file" > "$log" 2>&1 || {
    cat "$log" >&2
    echo "the SARIF validator failed to run on $file" >&2
    exit 1
  }
  grep -cE ": error [A-Z]+[0-9]+:" "$log" || true
}
# First make sure errors would be seen: a file with two schema errors.
python3 - "$out/fixture.sarif" "$work/broken.sarif" <<'EOF'
import json, sys
log = json.load(open(sys.argv[1], encoding="utf-8"))
log["bogus"] = 1
log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
json.dump(log, open(sys.argv[2], "w", encoding="utf-8"))
EOF
broken=$(validate "$work/broken.sarif" "$work/broken.log")
if [ "$broken" -lt 2 ]; then
  cat "$work/broken.log"
  echo "the validator did not report the errors of a broken file ($broken found): the check would be vacuous"
  exit 1
fi
for file in "$out/fixture.sarif" "$out/account.sarif"; do
  errors=$(validate "$file" "$work/validate.log")
  grep -E ": (error|warning) " "$work/validate.log" || true
  if [ "$errors" -ne 0 ]; then
    echo "SARIF validator: $errors error(s) in $(basename "$file")"
    exit 1
  fi
  echo "SARIF validator: no errors in $(basename "$file")"
done

echo "== JUnit: read by junitparser"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "junitparser>=3,<6" "pillow>=10"
"$work/venv/bin/python" - "$out/fixture.xml" "$out/fixture.json" <<'EOF'
import json, sys
from junitparser import JUnitXml, Failure, Skipped, Error

xml = JUnitXml.fromfile(sys.argv[1])
report = json.load(open(sys.argv[2], encoding="utf-8"))
rules = report["rules"]
failing = {f["rule"] for f in report["findings"] if f["failing"]}
skipped = {r["id"] for r in rules if r["status"] == "skip"}
suites = list(xml) if isinstance(xml, JUnitXml) else [xml]
assert len(suites) == 1, f"one suite, got {len(suites)}"
suite = suites[0]
cases = list(suite)
assert [c.name for c in cases] == [r["id"] for r in rules], [c.name for c in cases]
assert suite.tests == len(rules), (suite.tests, len(rules))
assert suite.failures == len(failing), (suite.failures, failing)
assert suite.skipped == len(skipped), (suite.skipped, skipped)
assert suite.errors == 0, suite.errors
for case in cases:
    kinds = {type(r) for r in case.result}
    if case.name in failing:
        assert kinds == {Failure}, (case.name, kinds)
        count = sum(1 for f in report["findings"] if f["rule"] == case.name and f["failing"])
        assert len(case.result[0].text.strip().splitlines()) >= count, case.name
    elif case.name in skipped:
        assert kinds == {Skipped}, (case.name, kinds)
    else:
        assert not kinds, (case.name, kinds)
waived = [c for c in cases if c.system_out and "waiver:" in c.system_out]
assert waived, "waived findings are noted in system-out"
print(f"junitparser: {suite.tests} tests, {suite.failures} failures, {suite.skipped} skipped, as in the JSON report")
EOF

echo "== HTML: rendered by headless Chromium"
if ! command -v chromium > /dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is not installed and this is not root: apt-get install chromium first"
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi
png="$out/fixture.png"
timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d -p "$work")" --screenshot="$png" --window-size=1280,2000 \
  "file://$out/fixture.html" > "$work/chromium.log" 2>&1 || {
  cat "$work/chromium.log"
  echo "chromium failed"
  exit 1
}
"$work/venv/bin/python" - "$png" <<'EOF'
import sys
from PIL import Image

image = Image.open(sys.argv[1]).convert("RGB")
assert image.size == (1280, 2000), image.size
colours = image.getcolors(maxcolors=1 << 20) or []
distinct = len(colours)
top = max(colours)[0] / (1280 * 2000) if colours else 1.0
# A blank or unstyled page has a handful of colours; ours has text,
# charts and coloured badges (thousands with anti-aliasing).
assert distinct >= 500, f"only {distinct} distinct colours: the page did not render"
assert top < 0.9, f"{top:.0%} of the page is one colour: nearly blank"
# The FAIL verdict banner is red: the stylesheet was applied.
r, g, b = image.getpixel((8, 8))
assert r > 140 and g < 90 and b < 90, f"banner pixel {(r, g, b)} is not red"
print(f"chromium: 1280x2000 screenshot with {distinct} colours, the largest covering {top:.0%}, red FAIL banner")
EOF

echo "== history HTML: rendered by headless Chromium"
grep -q "<svg" "$out/history.html" || { echo "history.html has no chart"; exit 1; }
if grep -qiE '(src|href)="(https?:)?//' "$out/history.html"; then
  echo "history.html loads something from the network"
  exit 1
fi
png="$out/history.png"
timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d -p "$work")" --screenshot="$png" --window-size=1280,1600 \
  "file://$out/history.html" > "$work/chromium.log" 2>&1 || {
  cat "$work/chromium.log"
  echo "chromium failed on the history page"
  exit 1
}
"$work/venv/bin/python" - "$png" <<'EOF'
import sys
from PIL import Image

image = Image.open(sys.argv[1]).convert("RGB")
assert image.size == (1280, 1600), image.size
colours = image.getcolors(maxcolors=1 << 20) or []
distinct = len(colours)
top = max(colours)[0] / (1280 * 1600) if colours else 1.0
assert distinct >= 300, f"only {distinct} distinct colours: the history page did not render"
assert top < 0.92, f"{top:.0%} of the page is one colour: nearly blank"
# The latest run fails (the example account has violations): a red banner.
r, g, b = image.getpixel((8, 8))
assert r > 140 and g < 90 and b < 90, f"banner pixel {(r, g, b)} is not red"
# The chart of violations per run draws red (error) bars below the banner.
red = sum(1 for x in range(0, 1280, 2) for y in range(200, 900, 2)
          if (lambda p: p[0] > 150 and p[1] < 80 and p[2] < 80)(image.getpixel((x, y))))
assert red > 200, f"only {red} red pixels in the chart area: no bars were drawn"
print(f"chromium: history page 1280x1600 with {distinct} colours, red banner, {red} red chart pixels")
EOF

echo "check-reports: SARIF validator, junitparser and Chromium checks (report and history) all passed"
