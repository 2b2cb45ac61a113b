#!/usr/bin/env bash
# The project's test command (README, .ci/run): formatting, lints, every test, fuzz smoke.
# Installs what it needs itself; safe to run on a fresh machine with Rust, Node 20 + npm and
# Python 3.11 installed. Long soak tests are not part of it: see scripts/soak.sh.
#
# Every test includes the real-client interop suite (tests/interop_*.rs, tests/interop/README.md):
# the Node and Python clients are installed into .cache/, and the driver of the Rust client, a
# cargo workspace of its own (tests/rust-client/Cargo.toml says why), is built into the same
# target directory, where the interop tests look for it. A missing client fails its tests.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step_started=$SECONDS
step_name=""
step() {
  if [ -n "$step_name" ]; then
    printf '   (%s: %d s)\n' "$step_name" $((SECONDS - step_started))
  fi
  step_name="$*"
  step_started=$SECONDS
  printf '\n== %s\n' "$*"
}

driver=(--manifest-path tests/rust-client/Cargo.toml)
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

step "format"
cargo fmt --all -- --check
cargo fmt "${driver[@]}" --all -- --check

step "lints"
scripts/check-layers.sh
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy "${driver[@]}" --target-dir "$target_dir" --all-targets --locked -- -D warnings

step "docs"
# The API docs build without a warning: a broken intra-doc link is a broken reference.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "interop clients"
scripts/install-test-clients.sh

step "Rust client driver"
cargo test "${driver[@]}" --target-dir "$target_dir" --locked

step "tests"
# Every test binary runs even after one fails, so one CI run shows every failure.
cargo test --workspace --locked --no-fail-fast

step "fuzz smoke"
scripts/fuzz-smoke.sh

step "done"
printf '   (all steps: %d s)\n' $((SECONDS - started))
