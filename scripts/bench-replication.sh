#!/usr/bin/env bash
# What replication costs and how fast a slave catches up, measured in one run on this
# machine (docs/replication.md):
#   - 1 KiB produce (shardmq-bench produce, straight to the master's shard) against one
#     master shard alone, with an ASYNC_MASTER slave, and as SYNC_MASTER with its slave; the
#     slave runs on the same host and CPUs as the master;
#   - a new slave copying a master's log of --catch-up-size, with the page cache dropped, in
#     MiB/s from its first copied byte to its last (the slave on the harness's CPUs then, as
#     on a host of its own), against dd's O_DIRECT read of the master's segment on the same
#     disk, alone and with a dd O_DIRECT write of as much beside it (what a copy on one disk
#     asks of it: the master reads what the slave writes).
# Brokers run on 127.0.0.1 only, on CPU --broker-cpus, the harness on --harness-cpus, each
# process stopped by its PID; stores go under --store-dir and are deleted at the end.
#
# Usage: scripts/bench-replication.sh [--duration 10s] [--catch-up-size 1G]
#            [--broker-cpus 1] [--slave-cpus LIST] [--harness-cpus 0] [--store-dir DIR]
# --slave-cpus: where the slave runs during the produce runs (default: the broker CPUs, as a
# slave on the master's host; the harness's CPUs put it beside the load generator instead).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
catch_up_size=1G
slave_cpus=
own_option() {
    case $1 in
        --catch-up-size) catch_up_size=$2 ;;
        --slave-cpus) slave_cpus=$2 ;;
        *) return 1 ;;
    esac
}
bench_options bench-replication "$@"
slave_cpus=${slave_cpus:-$broker_cpus}
prepare_run "$store_root"
trap 'stop_all; rm -rf "$work"' EXIT

# The produce runs' topic on the master's shard: 8 queues.
create_topic() {
    timeout 60 "$bench" topic --broker "127.0.0.1:$master_port" --queues 8 >/dev/null
}

master_port=24911
slave_port=25911
slave_settings=(brokerRole=SLAVE brokerId=1 embeddedNamesrv=false
    "namesrvAddr=127.0.0.1:$((master_port + 10))"
    "haMasterAddress=127.0.0.1:$((master_port + 1))")

produce() { # mode → "msgs/s p99_us"
    local mode=$1 role=ASYNC_MASTER
    [ "$mode" = sync ] && role=SYNC_MASTER
    rm -rf "$work/master" "$work/slave"
    start master "$master_port" "$work/master" "brokerRole=$role"
    create_topic
    if [ "$mode" != none ]; then
        broker_cpus=$slave_cpus start slave "$slave_port" "$work/slave" "${slave_settings[@]}"
        wait_runtime "127.0.0.1:$master_port" haConnectionCount 1
    fi
    timeout 300 taskset -c "$harness_cpus" "$bench" produce --broker "127.0.0.1:$master_port" \
        --size 1024 --duration "$duration" --json "$work/$mode.json" >/dev/null
    stop_all
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(round(r["msgs_per_sec"]), r["latency_us"]["p99"], r["errors"])' "$work/$mode.json"
}

declare -A rate p99 errors
for mode in none async sync; do
    read -r rate[$mode] p99[$mode] errors[$mode] < <(produce $mode)
    echo "produce, $mode: ${rate[$mode]} msgs/s, p99 ${p99[$mode]} µs, errors ${errors[$mode]}" >&2
done

# Catch-up: a master holding --catch-up-size, a new slave, the page cache dropped.
rm -rf "$work/master" "$work/slave"
start master "$master_port" "$work/master"
create_topic
bytes=$(numfmt --from=iec "$catch_up_size")
timeout 600 taskset -c "$harness_cpus" "$bench" produce --broker "127.0.0.1:$master_port" \
    --size 1024 --messages $((bytes / 1200)) --duration 600s --json "$work/fill.json" >/dev/null
end=$(runtime "127.0.0.1:$master_port" commitLogMaxOffset)
wait_runtime "127.0.0.1:$master_port" commitLogWrittenOffset "$end"
sync
echo 3 >/proc/sys/vm/drop_caches
# The harness is idle now: the slave gets its CPUs, as it would have a host of its own.
broker_cpus=$harness_cpus start slave "$slave_port" "$work/slave" "${slave_settings[@]}"
# From the slave's first copied byte to its last, polled every 10 ms on one connection.
catch_up=$(python3 -c "$runtime_py
import time
conn, end = connect(sys.argv[1]), int(sys.argv[2])
copied = lambda: int(runtime(conn)[\"commitLogMaxOffset\"])
deadline = time.time() + 600
while copied() == 0 and time.time() < deadline:
    time.sleep(0.01)
started = time.time()
while copied() < end and time.time() < deadline:
    time.sleep(0.01)
print(round(end / (time.time() - started) / 1048576, 1))" "127.0.0.1:$slave_port" "$end")
stop_all
segment=$(ls "$work/master/shard-0/commitlog/" | head -1)
# MiB/s of dd's O_DIRECT read of what the master holds, page cache dropped first.
dd_read() {
    sync
    echo 3 >/proc/sys/vm/drop_caches
    dd if="$work/master/shard-0/commitlog/$segment" of=/dev/null bs=1M iflag=direct \
        count=$((end / 1048576)) 2>&1 | python3 -c '
import re, sys
text = sys.stdin.read()
m = re.search(r"(\d+) bytes .* s, ", text)
secs = float(re.search(r", ([0-9.]+) s,", text).group(1))
print(round(int(m.group(1)) / secs / 1048576, 1))'
}
disk=$(dd_read)
dd if=/dev/zero of="$work/written" bs=1M oflag=direct count=$((end / 1048576)) 2>/dev/null &
writer=$!
shared=$(dd_read)
wait "$writer"
rm -f "$work/written"

cat <<REPORT
| replication (1 shard, 1 KiB, $duration; master on CPU $broker_cpus, slave on CPU $slave_cpus, harness on CPU $harness_cpus) | msgs/s | p99 µs | errors | ratio to no slave |
| --- | ---: | ---: | ---: | ---: |
| no slave | ${rate[none]} | ${p99[none]} | ${errors[none]} | 1.00 |
| ASYNC_MASTER + slave | ${rate[async]} | ${p99[async]} | ${errors[async]} | $(python3 -c "print(f'{${rate[async]}/${rate[none]}:.2f}')") |
| SYNC_MASTER + slave | ${rate[sync]} | ${p99[sync]} | ${errors[sync]} | $(python3 -c "print(f'{${rate[sync]}/${rate[none]}:.2f}')") |

| catch-up of a new slave ($((end / 1048576)) MiB, page cache dropped) | MiB/s |
| --- | ---: |
| slave copying the master's log, first byte to last | $catch_up |
| dd O_DIRECT read of the master's segment, 1 MiB blocks | $disk |
| the same read with a dd O_DIRECT write of as much beside it | $shared |
| ratio to the read alone | $(python3 -c "print(f'{$catch_up/$disk:.2f}')") |
| ratio to the read beside a write | $(python3 -c "print(f'{$catch_up/$shared:.2f}')") |
REPORT
