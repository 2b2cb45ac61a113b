#!/usr/bin/env bash
# One shard's store against the disk it runs on, in one run: the machine's limits
# (scripts/bench-limits.sh: fio O_DIRECT sequential write and read, 1 MiB blocks, iodepth 8,
# io_uring; 4 KiB write + fdatasync), then the store micro bench (benches/storage_append.rs)
# on the same directory, then the ratios the storage targets are stated in.
#
# Usage: scripts/bench-store.sh [DIR]
#   DIR  where the test files go (default .cache/bench-store); it must be on the disk you
#        want to measure. Removed at the end.
# Env: BENCH_RECORDS (ASYNC records, default 2000000), BENCH_SYNC_RECORDS (default 100000)
# and the bench's other knobs (see benches/storage_append.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.cache/bench-store}
mkdir -p "$dir"
dir=$(realpath "$dir")
trap 'rm -rf "$dir/store"' EXIT
scripts/bench-limits.sh "$dir" "$dir/limits.json"
out=$dir/store-bench.txt
BENCH_DIR="$dir/store" cargo bench -q --bench storage_append | tee "$out"
# "ASYNC_FLUSH: N records of S B in T s: R records/s, M MiB/s; ..."
async_mib=$(sed -n 's/^ASYNC_FLUSH:.* \([0-9.]*\) MiB\/s.*/\1/p' "$out")
async_rate=$(sed -n 's/^ASYNC_FLUSH:.*: \([0-9]*\) records\/s.*/\1/p' "$out")
recovery_mib=$(sed -n 's/^recovery.*: \([0-9.]*\) MiB\/s.*/\1/p' "$out")
write_mib=$(jq ".disk.seq_write_mib_per_sec | floor" "$dir/limits.json")
read_mib=$(jq ".disk.seq_read_mib_per_sec | floor" "$dir/limits.json")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
echo
echo "ASYNC_FLUSH: $async_rate records/s, $async_mib MiB/s = $(ratio "$async_mib" "$write_mib") of fio's sequential write ($write_mib MiB/s)"
echo "recovery: $recovery_mib MiB/s = $(ratio "$recovery_mib" "$read_mib") of fio's sequential read ($read_mib MiB/s)"
