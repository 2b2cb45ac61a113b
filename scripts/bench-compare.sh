#!/usr/bin/env bash
# shardmq and a reference RocketMQ broker, measured side by side by shardmq-bench in one run.
#
# The reference is the Rust port of Apache RocketMQ from crates.io (rocketmq-broker and
# rocketmq-namesrv), built once with `cargo install --locked` into .cache/ (about 20 minutes
# on 2 cores; it needs cmake, clang and libclang-dev, installed with apt-get when missing).
# Every scenario runs against each broker in turn, each time on a fresh store, both started
# on 127.0.0.1 only and stopped by PID. The machine's limits come from
# scripts/bench-limits.sh in the same run. The figures go to a marked section of
# bench/RESULTS.md (the rest of the file is kept) and the JSON reports to .cache/.
#
# Usage: scripts/bench-compare.sh [options]
#   --quick               3 s runs and a 64 MiB catch-up read, scenarios produce-1k,
#                         produce-sync, consume and e2e (a check that everything works)
#   --scenarios LIST      comma-separated, from: produce-1k produce-1k-half produce-sync
#                         produce-100b produce-16k consume e2e queues-1000 connections-200
#                         (default: all)
#   --duration D          measured time of each produce and e2e run (default 10s)
#   --warmup D            left out of each produce run's figures (default 1s)
#   --consume-size SIZE   bytes written, then read back from the first offset (default 1G)
#   --e2e-rates LIST      messages/s of the end-to-end latency runs, one run each (default
#                         500,10000: one rate the reference sustains, one moderate for
#                         shardmq)
#   --header FORM         json or rocketmq request headers, the same for both (default json)
#   --broker-cpus LIST    CPUs the broker under test may use (default 1); shardmq runs one
#                         shard per CPU
#   --harness-cpus LIST   CPUs shardmq-bench may use (default 0)
#   --skip-limits         do not measure the machine's limits (or: --limits FILE to reuse
#                         a JSON from scripts/bench-limits.sh)
#   --keep-cache          do not drop the page cache before the catch-up read
#   --store-dir DIR       where the brokers' stores go (default .cache/bench-compare);
#                         the reference refuses to start on a filesystem more than 90 %
#                         used
#   --reference-loop SIZE put the reference's stores on an ext4 image of SIZE (e.g. 8G;
#                         sparse, on the store dir's disk, loop device with direct I/O): the
#                         way round that limit on a fuller disk
#   --no-reference        measure shardmq only
#   --install-only        install the reference broker and exit
#   --results FILE        where the markdown section goes (default bench/RESULTS.md; - for
#                         stdout only)
set -euo pipefail
cd "$(dirname "$0")/.."

# ---- options --------------------------------------------------------------------------

all_scenarios="produce-1k produce-1k-half produce-sync produce-100b produce-16k consume e2e"
all_scenarios+=" queues-1000 connections-200"
scenarios=$all_scenarios
duration=10s
warmup=1s
consume_size=1G
e2e_rates=500,10000
header=json
broker_cpus=1
harness_cpus=0
measure_limits=true
limits_file=
drop_cache=true
with_reference=true
install_only=false
results=bench/RESULTS.md
store_dir=
reference_loop=
argv=("$@")

die() {
    echo "bench-compare: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --quick)
        duration=3s
        consume_size=64M
        scenarios="produce-1k produce-sync consume e2e"
        ;;
    --scenarios) scenarios=${2//,/ } && shift ;;
    --duration) duration=$2 && shift ;;
    --warmup) warmup=$2 && shift ;;
    --consume-size) consume_size=$2 && shift ;;
    --e2e-rates) e2e_rates=$2 && shift ;;
    --store-dir) store_dir=$2 && shift ;;
    --reference-loop) reference_loop=$2 && shift ;;
    --header) header=$2 && shift ;;
    --broker-cpus) broker_cpus=$2 && shift ;;
    --harness-cpus) harness_cpus=$2 && shift ;;
    --skip-limits) measure_limits=false ;;
    --limits) limits_file=$2 && measure_limits=false && shift ;;
    --keep-cache) drop_cache=false ;;
    --no-reference) with_reference=false ;;
    --install-only) install_only=true ;;
    --results) results=$2 && shift ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
for scenario in $scenarios; do
    [[ " $all_scenarios " == *" $scenario "* ]] || die "unknown scenario $scenario"
done
# e2e runs once per rate, as e2e-RATE.
for rate in ${e2e_rates//,/ }; do
    [[ $rate =~ ^[1-9][0-9]*$ ]] || die "--e2e-rates takes whole numbers: $e2e_rates"
done
expanded=
for name in $scenarios; do
    if [ "$name" = e2e ]; then
        for rate in ${e2e_rates//,/ }; do expanded+=" e2e-$rate"; done
    else
        expanded+=" $name"
    fi
done
scenarios=${expanded# }
case $header in json | rocketmq) ;; *) die "--header is json or rocketmq" ;; esac

# Bytes from 64M, 1G, 512K or a plain number.
bytes() {
    local n=${1%[KkMmGg]} unit=${1: -1}
    [[ $n =~ ^[0-9]+$ ]] || die "not a size: $1"
    case $unit in
    K | k) echo $((n << 10)) ;;
    M | m) echo $((n << 20)) ;;
    G | g) echo $((n << 30)) ;;
    *) echo "$n" ;;
    esac
}
consume_bytes=$(bytes "$consume_size")

# CPUs in a taskset list such as 1 or 0-3 or 1,3.
cpu_count() {
    local count=0 part
    for part in ${1//,/ }; do
        if [[ $part == *-* ]]; then
            count=$((count + ${part#*-} - ${part%-*} + 1))
        else
            count=$((count + 1))
        fi
    done
    echo "$count"
}
shards=$(cpu_count "$broker_cpus")

# ---- the reference broker -------------------------------------------------------------

cache=.cache/bench-compare
ref_version=1.0.0
ref_root=$cache/rocketmq-$ref_version
ref_namesrv_bin=$ref_root/bin/rocketmq-namesrv-rust
ref_broker_bin=$ref_root/bin/rocketmq-broker-rust
# Why the reference is not measured, when it is not.
ref_failure=

need_apt() {
    local missing=() pkg
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return
    echo "installing ${missing[*]}" >&2
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

# Installs rocketmq-namesrv and rocketmq-broker into .cache/ once; the two share a target
# directory so their common dependencies build once. Sets ref_failure when it fails.
install_reference() {
    if [ -x "$ref_namesrv_bin" ] && [ -x "$ref_broker_bin" ]; then
        return
    fi
    mkdir -p "$ref_root"
    local log=$cache/reference-install.log crate
    echo "building the reference broker (crates.io rocketmq-broker $ref_version, about 20 min" \
        "on 2 cores; log: $log)" >&2
    if ! need_apt cmake clang libclang-dev >"$log" 2>&1; then
        ref_failure="apt-get could not install cmake, clang and libclang-dev (see $log)"
        return
    fi
    for crate in rocketmq-namesrv rocketmq-broker; do
        if ! cargo install --locked --version "$ref_version" --root "$ref_root" \
            --target-dir "$cache/rocketmq-target" "$crate" >>"$log" 2>&1; then
            ref_failure="cargo install $crate $ref_version failed: $(grep -m1 '^error' "$log" ||
                tail -n1 "$log") (full log: $log)"
            return
        fi
    done
    # The binaries are all that is needed; the build tree is over a GiB of a disk the
    # benchmarks need.
    rm -rf "$cache/rocketmq-target"
}

if $with_reference || $install_only; then
    install_reference
fi
if $install_only; then
    [ -z "$ref_failure" ] || die "$ref_failure"
    echo "reference installed in $ref_root/bin" >&2
    exit 0
fi
$with_reference || ref_failure="left out (--no-reference)"

# ---- shardmq and the harness ----------------------------------------------------------

echo "building shardmq and shardmq-bench (release)" >&2
cargo build --release --quiet -p shardmq -p shardmq-bench
target_dir=${CARGO_TARGET_DIR:-target}
shardmq_bin=$target_dir/release/shardmq
bench_bin=$target_dir/release/shardmq-bench
if ! [ -x "$shardmq_bin" ] || ! [ -x "$bench_bin" ]; then
    die "no release binaries in $target_dir/release"
fi
command -v taskset >/dev/null || need_apt util-linux
command -v jq >/dev/null || need_apt jq

run_id=$(date -u +%Y%m%dT%H%M%SZ)
out=$cache/runs/$run_id
mkdir -p "$out" "${store_dir:-$cache}"
# The run's own directory, removed at the end. Absolute: shardmq cannot open a store under a
# relative --store-path.
work=$(mktemp -d -p "$(realpath "${store_dir:-$cache}")" bench-compare-stores.XXXXXX)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- processes this script started ----------------------------------------------------

pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        # Give each a few seconds to shut down cleanly, then insist.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break && sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
loop_dev=
cleanup() {
    stop_all
    if [ -n "$loop_dev" ]; then
        umount "$work/reference-fs" || true
        losetup -d "$loop_dev" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a command on the broker CPUs in the background and remembers its PID.
spawn() { # log, command...
    local log=$1
    shift
    taskset -c "$broker_cpus" "$@" >"$log" 2>&1 &
    pids+=($!)
}

# True while every started process still runs.
all_alive() {
    local pid
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
}

# shardmq-bench on the harness CPUs, stopped after a time limit whatever happens.
bench() { # seconds, shardmq-bench arguments...
    local limit=$1
    shift
    timeout "$limit" taskset -c "$harness_cpus" "$bench_bin" "$@"
}

# ---- machine limits -------------------------------------------------------------------

if $measure_limits; then
    echo "measuring the machine's limits (scripts/bench-limits.sh)" >&2
    limits_file=$out/limits.json
    if ! scripts/bench-limits.sh "$cache/bench-limits" "$limits_file" >"$out/limits.txt" 2>&1; then
        echo "bench-limits.sh failed; the limit column stays empty (see $out/limits.txt)" >&2
        limits_file=
    fi
elif [ -n "$limits_file" ]; then
    [ -r "$limits_file" ] || die "cannot read $limits_file"
    cp "$limits_file" "$out/limits.json"
fi

# ---- brokers --------------------------------------------------------------------------

# Ports below the ephemeral range, chosen free at each start (other jobs on the machine
# run brokers too): from a base B, the broker's main port B (shardmq shard k: B + 4k, its
# fast port 2 below, HA 1 above) and the NameServer on B - 35.
port_bases=$(seq 23911 1000 31911)
# Broker masters of the run's broker, set by start_*: connection and queue counts are
# totals split over them, so both brokers see the same load.
masters=1
namesrv=

port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# The first base whose ports base+offset are all free.
free_base() { # offsets...
    local base offset
    for base in $port_bases; do
        for offset in "$@"; do
            port_busy $((base + offset)) && continue 2
        done
        echo "$base"
        return 0
    done
    echo "no free ports from any of the bases $port_bases" >&2
    return 1
}

wait_for_port() { # port, what, log
    for _ in $(seq 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        all_alive || { tail -n 20 "$3" >&2; return 1; }
        sleep 0.1
    done
    echo "$2 did not listen on 127.0.0.1:$1 within 60 s" >&2
    tail -n 20 "$3" >&2
    return 1
}

start_shardmq() { # flush type, store dir
    local log=$out/shardmq-$scenario.log offsets=(-35) k port
    for k in $(seq 0 $((shards - 1))); do offsets+=($((4 * k - 2)) $((4 * k)) $((4 * k + 1))); done
    port=$(free_base "${offsets[@]}") || return 1
    spawn "$log" "$shardmq_bin" broker --listen-addr 127.0.0.1 --listen-port "$port" \
        --namesrv-listen-port $((port - 35)) --store-path "$2" --shards "$shards" \
        --flush-disk-type "$1"
    namesrv=127.0.0.1:$((port - 35))
    masters=$shards
    wait_for_port $((port - 35)) "shardmq's NameServer" "$log" &&
        wait_for_port "$port" shardmq "$log"
}

# The reference's store stops taking writes (and its broker does not start) when its
# filesystem is more than 90 % used, counted as (size - available) / size; reserved blocks
# count as used.
reference_disk_check() { # store dir
    local size avail mount
    read -r size avail mount < <(df -P -B1 "$1" | awk 'NR == 2 { print $2, $4, $6 }')
    LC_ALL=C awk -v size="$size" -v avail="$avail" -v mount="$mount" 'BEGIN {
        used = (size - avail) / size
        if (used > 0.90) {
            printf "the reference refuses to start: the filesystem of its store (%s) is %d %% " \
                "used as it counts it, (size - available) / size, above its 90 %% limit; " \
                "free space there or pass --store-dir on another filesystem\n", mount, 100 * used
            exit 1
        } }' >&2
}

start_reference() { # flush type, store dir
    local home=$2/home log_ns=$out/reference-$scenario-namesrv.log
    local log=$out/reference-$scenario.log ref_port ref_namesrv_port
    reference_disk_check "$2" || return 1
    ref_port=$(free_base -35 -2 0 1) || return 1
    ref_namesrv_port=$((ref_port - 35))
    mkdir -p "$home/conf" "$2/store"
    cat >"$2/broker.toml" <<EOF
[broker]
listenPort = $ref_port
brokerIp1 = "127.0.0.1"
namesrvAddr = "127.0.0.1:$ref_namesrv_port"
storePathRootDir = "$2/store"
autoCreateTopicEnable = true

[broker.brokerServerConfig]
bindAddress = "127.0.0.1"

[broker.brokerIdentity]
brokerName = "broker-ref"
brokerClusterName = "BenchCluster"
brokerId = 0

[store]
storePathRootDir = "$2/store"
flushDiskType = "$1"
haListenAddress = "127.0.0.1"
haListenPort = $((ref_port + 1))
EOF
    # Its logs and any file it keeps under the home directory stay in the store dir.
    HOME=$home ROCKETMQ_HOME=$home spawn "$log_ns" "$ref_namesrv_bin" \
        --listenPort "$ref_namesrv_port" --bindAddress 127.0.0.1 --rocketmqHome "$home"
    wait_for_port "$ref_namesrv_port" "the reference NameServer" "$log_ns" || return 1
    HOME=$home ROCKETMQ_HOME=$home spawn "$log" "$ref_broker_bin" -c "$2/broker.toml"
    namesrv=127.0.0.1:$ref_namesrv_port
    masters=1
    wait_for_port "$ref_port" "the reference broker" "$log"
}

# Creates topic $1 with $2 queues in all, split over the masters, and waits until the
# NameServer routes them; brokers register with it a moment after they listen.
create_topic() { # topic, total queues
    local per_master=$((($2 + masters - 1) / masters)) deadline=$((SECONDS + 60))
    until bench 60 topic --namesrv "$namesrv" --topic "$1" --queues "$per_master" \
        --header "$header" --wait 10s >/dev/null 2>"$work/topic.err"; do
        if ! all_alive || [ $SECONDS -ge $deadline ]; then
            cat "$work/topic.err" >&2
            return 1
        fi
        sleep 1
    done
}

# ---- scenarios ------------------------------------------------------------------------

# A produce run with CONNECTIONS in all, split over the masters (2 × 64 in flight unless
# the arguments set --window).
produce() { # json, connections, extra arguments...
    local json=$1 connections=$2
    shift 2
    bench 900 produce --namesrv "$namesrv" --topic BenchTopic --header "$header" \
        --duration "$duration" --warmup "$warmup" --json "$json" \
        --connections "$(((connections + masters - 1) / masters))" "$@"
}

# Runs scenario $scenario against $broker; the report goes to $1.
run_scenario() { # json
    local json=$1 flush=ASYNC_FLUSH queues=8
    case $scenario in
    produce-sync) flush=SYNC_FLUSH ;;
    queues-1000) queues=1000 ;;
    esac
    local store=$work/$broker-$scenario
    [ "$broker" = reference ] && store=$reference_root/$broker-$scenario
    mkdir -p "$store"
    "start_$broker" "$flush" "$store" || return 1
    create_topic BenchTopic "$queues" || return 1
    case $scenario in
    produce-1k | produce-sync | queues-1000) produce "$json" 2 --size 1024 ;;
    produce-100b) produce "$json" 2 --size 100 ;;
    produce-16k) produce "$json" 2 --size 16384 ;;
    produce-1k-half)
        local max
        max=$(jq -r '.msgs_per_sec // empty' "$out/$broker-produce-1k.json" 2>/dev/null) ||
            true
        [ -n "$max" ] || { echo "needs produce-1k's rate, which is missing" >&2 && return 1; }
        produce "$json" 2 --size 1024 \
            --rate "$(awk -v max="$max" 'BEGIN { printf "%.0f", max / 2 }')"
        ;;
    connections-200)
        produce "$json" 200 --size 1024 --window 4
        ;;
    consume)
        local messages=$((consume_bytes / 1024))
        # Written in batches of 16 to fill quickly; the figure is the read.
        bench 1800 produce --namesrv "$namesrv" --topic BenchTopic --header "$header" \
            --size 1024 --batch 16 --messages "$messages" --warmup 0 \
            --json "$out/$broker-consume-fill.json" >/dev/null || return 1
        if $drop_cache; then
            sync
            if ! echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
                echo "cannot drop the page cache: the read may come from memory" >&2
            fi
        fi
        bench 1800 consume --namesrv "$namesrv" --topic BenchTopic --header "$header" \
            --from first --warmup 0 --messages "$messages" --duration 1500s --json "$json"
        ;;
    e2e-*)
        bench 900 e2e --namesrv "$namesrv" --topic BenchTopic --header "$header" \
            --size 1024 --rate "${scenario#e2e-}" --duration "$duration" --warmup "$warmup" \
            --json "$json"
        ;;
    esac
}

# Where the reference's stores go: beside shardmq's, or on the loop-mounted image.
reference_root=$work
if [ -n "$reference_loop" ] && [ -z "$ref_failure" ]; then
    truncate -s "$(bytes "$reference_loop")" "$work/reference-fs.img"
    mkfs.ext4 -q -F "$work/reference-fs.img"
    loop_dev=$(losetup --find --show --direct-io=on "$work/reference-fs.img")
    mkdir -p "$work/reference-fs"
    mount -o discard "$loop_dev" "$work/reference-fs"
    reference_root=$work/reference-fs
fi

brokers=(shardmq)
[ -z "$ref_failure" ] && brokers+=(reference)
for scenario in $scenarios; do
    for broker in "${brokers[@]}"; do
        echo "== $scenario on $broker" >&2
        json=$out/$broker-$scenario.json
        if ! run_scenario "$json" >"$out/$broker-$scenario.txt" 2>"$work/error"; then
            # The reason: the harness's or clap's error line, else the last line printed.
            { grep -m1 -E '^(error|shardmq-bench:|shardmq:|the reference)' "$work/error" ||
                grep -v '^\s*$' "$work/error" | tail -n 1 || echo "failed"; } \
                >"$out/$broker-$scenario.err"
            rm -f "$json"
            echo "   failed: $(cat "$out/$broker-$scenario.err")" >&2
        else
            head -n 2 "$out/$broker-$scenario.txt" | sed 's/^/   /' >&2
        fi
        cat "$work/error" >>"$out/$broker-$scenario.txt"
        stop_all
        rm -rf "${work:?}/$broker-$scenario" "${reference_root:?}/$broker-$scenario"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ------------------------------------------------------------------------

# A figure of one report: jq path applied to $out/BROKER-SCENARIO.json.
figure() { # broker, scenario, jq filter
    local file=$out/$1-$2.json
    if [ -r "$file" ]; then jq -r "$3" "$file"; fi
}

# Thousands separators for integers, one decimal for small numbers.
human() {
    [ -n "$1" ] || return 0
    LC_ALL=C awk -v n="$1" 'BEGIN {
        if (n < 100 && n != int(n)) { printf "%.1f", n; exit }
        s = sprintf("%.0f", n); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        printf "%s%s", s, out }'
}

cell() { # broker, scenario, jq filter, unit suffix
    local value
    value=$(figure "$1" "$2" "$3")
    if [ -n "$value" ]; then
        echo "$(human "$value")$4"
    elif [ -r "$out/$1-$2.err" ]; then
        echo "failed"
    elif [ "$1" = reference ] && [ -n "$ref_failure" ]; then
        echo "not run"
    else
        echo "–"
    fi
}

ratio() { # scenario, jq filter, higher-is-better (true/false)
    local ours theirs
    ours=$(figure shardmq "$1" "$2")
    theirs=$(figure reference "$1" "$2")
    if [ -z "$ours" ] || [ -z "$theirs" ]; then
        echo "–"
        return
    fi
    LC_ALL=C awk -v a="$ours" -v b="$theirs" 'BEGIN {
        if (b == 0) { print "–"; exit }
        r = a / b; printf (r >= 10 ? "%.0f×" : r >= 0.1 ? "%.2f×" : "%.2g×"), r }'
}

limit() { # jq filter on limits.json
    if [ -n "$limits_file" ] && [ -r "$out/limits.json" ]; then jq -r "$1" "$out/limits.json"; fi
}
write_mib=$(limit '.disk.seq_write_mib_per_sec | floor')
read_mib=$(limit '.disk.seq_read_mib_per_sec | floor')
sync_ops=$(limit '.disk.write_4k_fdatasync_per_sec | floor')
sync_p50=$(limit '.disk.fdatasync_us.p50 | floor')
gbit=$(limit '.loopback.tcp_gbit_per_sec * 10 | floor / 10')

# The disk's sequential write in messages/s of a size, the ceiling of an ASYNC_FLUSH run.
write_limit() { # body bytes
    [ -n "$write_mib" ] || { echo "not measured"; return; }
    local msgs
    msgs=$(awk -v mib="$write_mib" -v size="$1" 'BEGIN { printf "%.0f", mib * 1048576 / size }')
    echo "disk write $(human "$write_mib") MiB/s ≈ $(human "$msgs") msgs/s; loopback $gbit Gbit/s"
}

row() { # scenario, label, jq filter, unit, limit text
    local a b
    a=$(cell shardmq "$1" "$3" "$4")
    b=$(cell reference "$1" "$3" "$4")
    echo "| $1 | $2 | $a | $b | $(ratio "$1" "$3") | $5 |"
}

# Latency rows: lower is better, so the ratio is still shardmq / reference (below 1 wins).
table() {
    local rate='.msgs_per_sec' mib='.mib_per_sec' p99='.latency_us.p99' p999='.latency_us.p999'
    echo "| scenario | figure | shardmq | reference | shardmq / reference | machine limit |"
    echo "| --- | --- | ---: | ---: | ---: | --- |"
    for scenario in $scenarios; do
        case $scenario in
        produce-1k)
            row "$scenario" "1 KiB ASYNC_FLUSH, msgs/s" "$rate" "" "$(write_limit 1024)"
            row "$scenario" "MiB/s" "$mib" "" ""
            row "$scenario" "p99 at max rate, µs" "$p99" "" ""
            ;;
        produce-1k-half)
            row "$scenario" "1 KiB at half each one's max, msgs/s" "$rate" "" ""
            row "$scenario" "p99, µs" "$p99" "" ""
            row "$scenario" "p99.9, µs" "$p999" "" ""
            ;;
        produce-sync)
            row "$scenario" "1 KiB SYNC_FLUSH, msgs/s" "$rate" "" \
                "4 KiB write+fdatasync ${sync_ops:-?}/s, p50 ${sync_p50:-?} µs"
            row "$scenario" "p99, µs" "$p99" "" ""
            ;;
        produce-100b) row "$scenario" "100 B, msgs/s" "$rate" "" "$(write_limit 100)" ;;
        produce-16k)
            row "$scenario" "16 KiB, msgs/s" "$rate" "" "$(write_limit 16384)"
            row "$scenario" "MiB/s" "$mib" "" ""
            ;;
        consume)
            row "$scenario" "catch-up read of $consume_size from the first offset, msgs/s" \
                "$rate" "" ""
            row "$scenario" "MiB/s" "$mib" "" \
                "disk read ${read_mib:-not measured} MiB/s (O_DIRECT, 1 MiB blocks)"
            ;;
        e2e-*)
            row "$scenario" "at $(human "${scenario#e2e-}") msgs/s: received msgs/s" "$rate" "" ""
            row "$scenario" "send to receipt p50, µs" '.latency_us.p50' "" ""
            row "$scenario" "p99, µs" "$p99" "" ""
            row "$scenario" "p99.9, µs" "$p999" "" ""
            ;;
        queues-1000) row "$scenario" "1 KiB to 1,000 queues, msgs/s" "$rate" "" "" ;;
        connections-200)
            row "$scenario" "1 KiB over 200 connections × 4 in flight, msgs/s" "$rate" "" ""
            row "$scenario" "p99, µs" "$p99" "" ""
            ;;
        esac
    done
}

# The issue's targets, checked against shardmq's figures of this run.
targets() {
    local async half99 half999 sync consume_mib e2e99 scenario
    async=$(figure shardmq produce-1k '.msgs_per_sec')
    half99=$(figure shardmq produce-1k-half '.latency_us.p99')
    half999=$(figure shardmq produce-1k-half '.latency_us.p999')
    sync=$(figure shardmq produce-sync '.msgs_per_sec')
    consume_mib=$(figure shardmq consume '.mib_per_sec')
    check() { # description, awk condition over a and b, value text, a, b
        local verdict="not measured"
        if [ -n "$4" ] && { [ "$#" -lt 5 ] || [ -n "$5" ]; }; then
            verdict=$(LC_ALL=C awk -v a="$4" -v b="${5:-0}" "BEGIN { print ($2) ? \"met\" : \"missed\" }")
        fi
        echo "| $1 | $3 | $verdict |"
    }
    echo "| target | this run | |"
    echo "| --- | --- | --- |"
    check "produce 1 KiB ASYNC ≥ 300k msgs/s" "a >= 300000" "$(human "$async") msgs/s" "$async"
    check "produce 1 KiB ASYNC ≥ 10× reference" "b > 0 && a >= 10 * b" \
        "$(ratio produce-1k '.msgs_per_sec')" "$async" \
        "$(figure reference produce-1k '.msgs_per_sec')"
    check "at half max rate p99 < 1 ms" "a < 1000" "$(human "$half99") µs" "$half99"
    check "at half max rate p99.9 < 5 ms" "a < 5000" "$(human "$half999") µs" "$half999"
    check "SYNC_FLUSH ≥ 30 % of ASYNC" "b > 0 && a >= 0.3 * b" \
        "$(LC_ALL=C awk -v a="${sync:-0}" -v b="${async:-0}" \
            'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b }')" "$sync" "$async"
    check "catch-up read ≥ 50 % of disk sequential read" "b > 0 && a >= 0.5 * b" \
        "$(LC_ALL=C awk -v a="${consume_mib:-0}" -v b="${read_mib:-0}" \
            'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b }')" "$consume_mib" "$read_mib"
    for scenario in $scenarios; do
        [[ $scenario == e2e-* ]] || continue
        e2e99=$(figure shardmq "$scenario" '.latency_us.p99')
        check "e2e p99 < 2 ms at $(human "${scenario#e2e-}") msgs/s" "a < 2000" \
            "$(human "$e2e99") µs" "$e2e99"
    done
}

notes() {
    local file name
    if [ -n "$ref_failure" ]; then
        echo "- Reference not measured: $ref_failure."
    fi
    # One line per broker and reason, naming the scenarios that failed for it.
    for file in "$out"/*.err; do
        [ -e "$file" ] || continue
        name=$(basename "$file" .err)
        printf '%s\t%s\t%s\n' "${name%%-*}" "$(cat "$file")" "${name#*-}"
    done | sort | awk -F '\t' '
        $1 FS $2 != key { if (key != "") print line "): `" reason "`"
                          key = $1 FS $2; reason = $2; line = "- " $1 " failed (" $3; next }
        { line = line ", " $3 }
        END { if (key != "") print line "): `" reason "`" }'

    # Requests the broker refused: the rates above count accepted messages only.
    for file in "$out"/*.json; do
        name=$(basename "$file" .json)
        [[ $name == shardmq-* || $name == reference-* ]] || continue
        jq -r --arg name "$name" 'select((.errors | length) > 0) | "- \($name | sub("-"; " ")):" +
            " \(.requests) requests, of which refused or failed: " +
            (.errors | to_entries | map("\(.key) \(.value)") | join(", ")) + "."' "$file"
    done
    if [ -n "$reference_loop" ]; then
        echo "- The reference's stores were on a $reference_loop ext4 image on the same disk" \
            "(sparse file, loop device with direct I/O, mounted with discard): its store" \
            "refuses writes on a filesystem more than 90 % used, and this disk's was."
    fi
    if [[ " $scenarios " == *" consume "* ]] && $drop_cache; then
        echo "- consume: written in batches of 16, then the page cache was dropped, so both" \
            "brokers read from disk."
    fi
}

section() {
    local cpu kernel
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    kernel=$(uname -r)
    echo "## shardmq and the reference broker side by side ($(date -u +%Y-%m-%d))"
    echo
    echo "Written by \`scripts/bench-compare.sh ${argv[*]}\`; JSON reports in \`$out/\`."
    echo
    echo "- Machine: $(nproc) cores ($cpu), Linux $kernel; load average (1, 5, 15 min)" \
        "$load_before before the run, $load_after after."
    echo "- Brokers on CPU $broker_cpus, shardmq-bench on CPU $harness_cpus (taskset);" \
        "shardmq with $shards shard(s); reference: crates.io rocketmq-broker and" \
        "rocketmq-namesrv $ref_version. Both on 127.0.0.1, fresh store per scenario," \
        "default store settings, ASYNC_FLUSH unless the row says otherwise."
    echo "- Load: $duration measured after a $warmup warm-up; topic of 8 queues in all" \
        "(split over shardmq's shards); 2 connections × 64 requests in flight in all;" \
        "$header request headers. Ratios are shardmq / reference: above 1 is better for" \
        "rates, below 1 for latencies."
    echo
    table
    echo
    targets
    local extra
    extra=$(notes)
    if [ -n "$extra" ]; then
        echo
        echo "$extra"
    fi
}

begin='<!-- bench-compare: begin -->'
end='<!-- bench-compare: end -->'
section >"$out/section.md"
if [ "$results" = - ]; then
    cat "$out/section.md"
else
    [ -f "$results" ] || echo "# shardmq benchmark results" >"$results"
    if grep -qF "$begin" "$results"; then
        awk -v begin="$begin" -v end="$end" -v section="$out/section.md" '
            $0 == begin { print; while ((getline line < section) > 0) print line; skip = 1; next }
            $0 == end { skip = 0 }
            !skip { print }' "$results" >"$work/results.md"
    else
        { cat "$results"; echo; echo "$begin"; cat "$out/section.md"; echo "$end"; } \
            >"$work/results.md"
    fi
    mv "$work/results.md" "$results"
    cat "$out/section.md"
    echo "written: $results (section between the bench-compare markers)" >&2
fi
