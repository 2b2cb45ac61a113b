#!/usr/bin/env bash
# The project's test command (README, .ci/run): formatting, lints, every test, fuzz smoke.
# Installs what it needs itself; safe to run on a fresh machine with only Rust installed.
# Long soak tests are not part of it: see scripts/soak.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --locked

step "fuzz smoke"
scripts/fuzz-smoke.sh
