#!/usr/bin/env bash
# The machine's limits in one run, to read harness figures against: sequential disk
# bandwidth with O_DIRECT (io_uring, 1 MiB blocks, iodepth 8), the latency of a 4 KiB write
# followed by fdatasync (what a synchronous flush pays), and TCP bandwidth on loopback.
#
# Usage: scripts/bench-limits.sh [DIR] [JSON]
#   DIR   where the temporary test file goes (default .cache/bench-limits); it must be on
#         the disk you want to measure. The file is removed at the end.
#   JSON  where the results go (default DIR/limits.json).
# Bounded: at most a 2 GiB file, 10 s per measurement. Installs fio, iperf3 and jq with
# apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-.cache/bench-limits}
json=${2:-$dir/limits.json}
size=2G
seconds=10
port=5299

need() {
    local missing=()
    for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    [ ${#missing[@]} -eq 0 ] && return
    echo "installing ${missing[*]}" >&2
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
}
need fio iperf3 jq

mkdir -p "$dir"
file=$dir/bench-limits.$$.fio
out=$(mktemp -d)
iperf_pid=
cleanup() {
    rm -f "$file"
    rm -rf "$out"
    [ -n "$iperf_pid" ] && kill "$iperf_pid" 2>/dev/null || true
}
trap cleanup EXIT

fio_run() { # name, fio args...
    local name=$1
    shift
    timeout $((seconds * 6)) fio --name="$name" --filename="$file" --output-format=json \
        --runtime="$seconds" "$@" >"$out/$name.json"
}

echo "fio: sequential write, $size O_DIRECT, 1 MiB x iodepth 8, io_uring" >&2
fio_run seqwrite --rw=write --size="$size" --bs=1M --iodepth=8 --ioengine=io_uring --direct=1
echo "fio: sequential read" >&2
fio_run seqread --rw=read --size="$size" --bs=1M --iodepth=8 --ioengine=io_uring --direct=1
rm -f "$file"
echo "fio: 4 KiB write + fdatasync" >&2
# The file is written once first (overwrite) so each sync pays for data, not for
# allocating extents, as a preallocated CommitLog would.
fio_run fdatasync --rw=write --size=256M --bs=4k --ioengine=psync --fdatasync=1 \
    --overwrite=1 --time_based

echo "iperf3: loopback, one stream" >&2
iperf3 -s -B 127.0.0.1 -p "$port" -1 >/dev/null 2>&1 &
iperf_pid=$!
sleep 0.5
timeout $((seconds * 3)) iperf3 -c 127.0.0.1 -p "$port" -t "$seconds" -J >"$out/iperf3.json"
wait "$iperf_pid" 2>/dev/null || true
iperf_pid=

mib() { jq ".jobs[0].$2.bw_bytes / 1048576" "$out/$1.json"; }
sync_us() { jq ".jobs[0].sync.lat_ns.percentile[\"$1\"] / 1000" "$out/fdatasync.json"; }
jq -n \
    --argjson write "$(mib seqwrite write)" \
    --argjson read "$(mib seqread read)" \
    --argjson p50 "$(sync_us 50.000000)" \
    --argjson p99 "$(sync_us 99.000000)" \
    --argjson iops "$(jq '.jobs[0].write.iops' "$out/fdatasync.json")" \
    --argjson gbit "$(jq '.end.sum_received.bits_per_second / 1e9' "$out/iperf3.json")" \
    --arg dir "$(realpath "$dir")" \
    --arg kernel "$(uname -r)" \
    --argjson cores "$(nproc)" \
    --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    '{disk: {dir: $dir, seq_write_mib_per_sec: $write, seq_read_mib_per_sec: $read,
             write_4k_fdatasync_per_sec: $iops,
             fdatasync_us: {p50: $p50, p99: $p99}},
      loopback: {tcp_gbit_per_sec: $gbit},
      machine: {cores: $cores, kernel: $kernel, cpu_model: $cpu}}' >"$json"

jq -r '["measure", "value"],
    ["O_DIRECT seq write (MiB/s)", (.disk.seq_write_mib_per_sec | floor)],
    ["O_DIRECT seq read (MiB/s)", (.disk.seq_read_mib_per_sec | floor)],
    ["4 KiB write+fdatasync (ops/s)", (.disk.write_4k_fdatasync_per_sec | floor)],
    ["fdatasync p50 (us)", .disk.fdatasync_us.p50],
    ["fdatasync p99 (us)", .disk.fdatasync_us.p99],
    ["loopback TCP (Gbit/s)", (.loopback.tcp_gbit_per_sec * 10 | floor / 10)]
    | @tsv' "$json" | column -t -s $'\t'
echo "written: $json" >&2
