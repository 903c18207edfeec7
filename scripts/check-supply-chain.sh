#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (deny.toml): RustSec advisories, the license
# allow-list, bans (duplicate versions warn) and sources (crates.io only).
#
#   scripts/check-supply-chain.sh             # cargo-deny fetches the advisory database itself
#   scripts/check-supply-chain.sh BUNDLE      # offline: the database from a git bundle
#   ECMGUARD_ADVISORY_BUNDLE=BUNDLE scripts/check-supply-chain.sh
#
# Without a bundle this is plain `cargo deny check`: cargo-deny clones or updates the
# RustSec database (github.com/rustsec/advisory-db) in its default folder. With a bundle
# (a `git bundle` of that database, for machines that cannot reach GitHub), the bundle is
# cloned into that same folder unless a clone is already there, and the check runs with
# `--offline` (crates.io must still be reachable, for cargo-deny the first time and for
# crate sources). Installs cargo-deny from crates.io the first time.
set -euo pipefail

bundle="${1:-${ECMGUARD_ADVISORY_BUNDLE:-}}"
if [ -n "$bundle" ]; then
  if [ ! -f "$bundle" ]; then
    echo "advisory database bundle not found: $bundle" >&2
    exit 2
  fi
  bundle="$(cd "$(dirname "$bundle")" && pwd)/$(basename "$bundle")"
fi
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
  echo "== installing cargo-deny"
  cargo install --locked cargo-deny
fi

if [ -z "$bundle" ]; then
  echo "== cargo deny check (advisory database fetched by cargo-deny)"
  cargo deny check
  exit 0
fi

# cargo-deny's folder for the default advisory-db URL, where --offline looks.
db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-3157b0e258782691"
if [ ! -d "$db/.git" ]; then
  echo "== cloning the advisory database bundle into $db"
  mkdir -p "$(dirname "$db")"
  git -c init.defaultBranch=main -c advice.detachedHead=false clone -q "$bundle" "$db"
  # As if cargo-deny had cloned it: a later run without a bundle updates it from there.
  git -C "$db" remote set-url origin https://github.com/RustSec/advisory-db
fi
echo "== advisory database: $(git -C "$db" log -1 --format='%h of %cs')"

# --offline reaches cargo too, and cargo-deny's metadata covers every target
# (Windows crates included): fetch the sources first (from crates.io).
echo "== cargo fetch --locked"
cargo fetch --locked

# cargo-deny reads the crates of every target (wasm and redox ones too, which
# a host build never downloads); `--offline` would fail on those.
echo "== cargo fetch (every target's crates, for cargo-deny)"
cargo fetch --locked

echo "== cargo deny --offline check"
cargo deny --offline check
