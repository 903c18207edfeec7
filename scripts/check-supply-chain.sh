#!/usr/bin/env bash
# Supply-chain checks (deny.toml): advisories from the offline RustSec bundle
# in ../shared/supply-chain, the license allow-list, bans (duplicate versions
# warn) and sources (crates.io only). Needs no network beyond crates.io for
# installing cargo-deny the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
  echo "== installing cargo-deny"
  cargo install cargo-deny --locked
fi

bundle="$(pwd)/../shared/supply-chain/advisory-db.bundle"
# cargo-deny's folder for the default advisory-db URL.
db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-3157b0e258782691"
if [ ! -d "$db/.git" ]; then
  echo "== cloning the advisory database bundle into $db"
  mkdir -p "$(dirname "$db")"
  git clone -q "$bundle" "$db"
fi

# cargo-deny reads the crates of every target (wasm and redox ones too, which
# a host build never downloads); `--offline` would fail on those.
echo "== cargo fetch (every target's crates, for cargo-deny)"
cargo fetch --locked

echo "== cargo deny --offline check"
cargo deny --offline check
