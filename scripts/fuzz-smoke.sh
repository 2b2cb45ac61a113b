#!/usr/bin/env bash
# Fuzz smoke test: runs every cargo-fuzz target of fuzz/ for a bounded time and fails on any
# crash, hang or build failure.
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer=address, sancov passes); only a stable
# toolchain is installed here, so RUSTC_BOOTSTRAP=1 unlocks them on stable.
#
# Environment:
#   FUZZ_SECONDS      seconds per target (default 30)
#   FUZZ_TARGETS      space-separated targets (default: record_decode batch_decode frame_decode
#                     register_body_decode)
#   FUZZ_TOOL_ROOT    where cargo-fuzz is installed if missing (default .cache/cargo-fuzz,
#                     kept between CI runs on the same machine)
#   FUZZ_TARGET_DIR   cargo target dir of the fuzz build (default fuzz/target)
#   CARGO_FUZZ_VERSION  version installed when missing (default 0.13.2)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-30}"
targets="${FUZZ_TARGETS:-record_decode batch_decode frame_decode register_body_decode}"
tool_root="${FUZZ_TOOL_ROOT:-$repo/.cache/cargo-fuzz}"
version="${CARGO_FUZZ_VERSION:-0.13.2}"
logs="$repo/.cache/fuzz-logs"

export PATH="$tool_root/bin:$PATH"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$repo/fuzz/target}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz $version into $tool_root"
    cargo install cargo-fuzz --locked --version "$version" --root "$tool_root"
fi

mkdir -p "$logs"
cd "$repo"
failed=()
for target in $targets; do
    log="$logs/$target.log"
    echo "fuzz-smoke: $target for ${seconds}s (log: $log)"
    # -timeout flags an input that runs over 10 s as a hang; -rss_limit_mb bounds memory on
    # the 24 GiB machine even if a length check regresses.
    if cargo fuzz run "$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 >"$log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "$log" || tail -n 3 "$log"
    else
        echo "fuzz-smoke: $target FAILED; last lines of its log:"
        tail -n 40 "$log"
        failed+=("$target")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzz-smoke: failed: ${failed[*]} (inputs under fuzz/artifacts/)"
    exit 1
fi
echo "fuzz-smoke: all targets passed"
