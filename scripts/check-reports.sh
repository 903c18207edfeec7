#!/usr/bin/env bash
# The report formats read by their real consumers, by hand: installs the consumers
# (scripts/consumer-tools.sh: Chromium, the SARIF validator, junitparser) and runs
# the tests that use them, which a plain `cargo test` ignores:
#
#   cargo test --test integration consumers -- --include-ignored
#
# in this checkout, as .ci/run does (.ci/run runs them in its fresh clone). The
# checks are the tests, in tests/consumers/; this only installs and runs them.
#
#   scripts/check-reports.sh                    # every consumer test
#   scripts/check-reports.sh consumers::sarif   # those whose name has this filter
#   ECMGUARD_CONSUMERS_KEEP=DIR scripts/check-reports.sh   # keep the reports and screenshots
#
# Needs npm, python3 and (for Chromium, if missing) apt-get as root.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/consumer-tools.sh
cargo test --test integration "${1:-consumers}" -- --include-ignored
