#!/usr/bin/env bash
# The real-client interop suite (REMOTING.md §7 scenarios with the Rust, Node and Python
# RocketMQ clients), run apart from scripts/test.sh until every scenario passes.
#
# Installs the Node and Python clients, builds the Rust client driver (its own workspace,
# about 10 minutes the first time), links the scenarios of tests/interop/scenarios into
# tests/ for the run, and runs them with every client required (a missing client fails).
# Extra arguments go to the test binaries, e.g. `tests/interop/run.sh python`.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-test-clients.sh
cargo build --manifest-path tests/rust-client/Cargo.toml
export SHARDMQ_INTEROP_RUST_CLIENT="$PWD/tests/rust-client/target/debug/shardmq-interop-rust"

links=()
cleanup() { rm -f "${links[@]}"; }
trap cleanup EXIT
tests=()
for file in tests/interop/scenarios/interop_*.rs; do
  name="$(basename "$file" .rs)"
  ln -sf "interop/scenarios/$name.rs" "tests/$name.rs"
  links+=("tests/$name.rs")
  tests+=(--test "$name")
done
SHARDMQ_INTEROP_REQUIRED=1 cargo test --no-fail-fast "${tests[@]}" -- "$@"
