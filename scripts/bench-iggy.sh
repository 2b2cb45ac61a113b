#!/usr/bin/env bash
# shardmq and Apache Iggy (a thread-per-core Rust streaming server) side by side, on the
# scenarios both harnesses run, each server on one core:
#   - one producer, 1 KiB messages, one batch in flight, batches of 1 and of 32, the same
#     message count for both (shardmq-bench produce; iggy-bench pinned-producer --nodelay);
#   - a catch-up read: --catch-up bytes of 1 KiB messages written in batches of 32, the page
#     cache dropped, then one consumer reads them all from the first offset, 32 a request.
# Each row gives messages/s, MiB/s of bodies and the server's CPU time per message (user +
# system of the whole process over the measured phase, from /proc; shardmq-bench and
# iggy-bench both count their connection set-up in the phase).
#
# Iggy is not built here: build its server and bench from source and pass both binaries
# (bench/RESULTS.md "shardmq and Apache Iggy" names the commit and the build command used).
# Iggy's server takes its embedded default configuration (no fsync per message) with TCP on
# 127.0.0.1 only and one shard pinned to --broker-cpus; shardmq runs one shard, ASYNC_FLUSH.
# Every process is stopped by its PID and the stores under --store-dir are deleted.
#
# Usage: scripts/bench-iggy.sh --iggy-server BIN --iggy-bench BIN [--messages 50000]
#            [--batches 45000] [--catch-up 1G] [--header rocketmq|json] [--broker-cpus 1]
#            [--harness-cpus 0] [--store-dir DIR] [-o KEY=VALUE]...
# (-o: a shardmq setting, e.g. -o spinBeforeParkMicros=0: with one request in flight a
# shard spins 50 µs for the next before it parks, which the server CPU column counts.)
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
iggy_server= iggy_bench= messages=50000 batches=45000 catch_up=1G header=rocketmq
settings=()
own_option() {
    case $1 in
        -o) settings+=("$2") ;;
        --iggy-server) iggy_server=$(realpath "$2") ;;
        --iggy-bench) iggy_bench=$(realpath "$2") ;;
        --messages) messages=$2 ;;
        --batches) batches=$2 ;;
        --catch-up) catch_up=$2 ;;
        --header) header=$2 ;;
        *) return 1 ;;
    esac
}
bench_options bench-iggy "$@"
[ -x "$iggy_server" ] && [ -x "$iggy_bench" ] ||
    { echo "--iggy-server and --iggy-bench name Iggy's built binaries" >&2; exit 2; }
case $catch_up in
    *G) catch_up_bytes=$((${catch_up%G} << 30)) ;;
    *M) catch_up_bytes=$((${catch_up%M} << 20)) ;;
    *) echo "--catch-up takes a size in M or G" >&2; exit 2 ;;
esac
catch_up_messages=$((catch_up_bytes / 1024))
iggy_catch_up_size=${catch_up}iB # iggy-bench reads 1GiB, not 1G
prepare_run "$store_root"
work=$(realpath "$work")
trap 'stop_all; rm -rf "$work"' EXIT

port=26911
addr=127.0.0.1:$port
iggy_port=26990

drop_page_cache() {
    sync
    echo 3 >/proc/sys/vm/drop_caches || echo "cannot drop the page cache" >&2
}

# Sets `figures` to "<msgs/s> <MiB/s> <server CPU µs per message>" of a phase that ran at
# $1 msgs/s (1 KiB bodies) and handled $2 messages while the server's CPU time went from
# $3 to $4 seconds. The scenarios set it rather than print it: a server started in a
# command substitution's subshell would outlive a failure there.
set_figures() { # msgs/s, messages, cpu seconds before, after
    figures=$(awk -v rate="$1" -v n="$2" -v cpu="$(echo "$4 - $3" | bc)" \
        'BEGIN { printf "%.0f %.1f %.2f", rate, rate * 1024 / 1048576, cpu * 1e6 / n }')
}

# ---- shardmq ---------------------------------------------------------------------------

shardmq_bench() { # json, shardmq-bench arguments...
    local json=$1
    shift
    timeout 900 taskset -c "$harness_cpus" "$bench" "$@" --broker "$addr" --header "$header" \
        --warmup 0 --json "$json" >/dev/null
}

shardmq_msgs_per_sec() { # json
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["msgs_per_sec"])' "$1"
}

shardmq_produce() { # batch
    local batch=$1 total json=$work/shardmq-produce-$1.json before after
    total=$((batch == 1 ? messages : batches * batch))
    rm -rf "$work/store"
    start shardmq "$port" "$work/store" "${settings[@]}"
    timeout 60 "$bench" topic --broker "$addr" --queues 1 >/dev/null
    before=$(cpu_seconds "${pids[-1]}")
    shardmq_bench "$json" produce --queues 1 --connections 1 --window 1 --batch "$batch" \
        --messages "$total" --duration 900s
    after=$(cpu_seconds "${pids[-1]}")
    stop_all
    set_figures "$(shardmq_msgs_per_sec "$json")" "$total" "$before" "$after"
}

shardmq_catch_up() {
    local json=$work/shardmq-consume.json before after
    rm -rf "$work/store"
    start shardmq "$port" "$work/store" "${settings[@]}"
    timeout 60 "$bench" topic --broker "$addr" --queues 1 >/dev/null
    shardmq_bench "$work/shardmq-fill.json" produce --queues 1 --connections 1 --window 8 \
        --batch 32 --messages "$catch_up_messages" --duration 900s
    drop_page_cache
    before=$(cpu_seconds "${pids[-1]}")
    shardmq_bench "$json" consume --queues 1 --from first --pull-batch 32 \
        --messages "$catch_up_messages" --duration 900s
    after=$(cpu_seconds "${pids[-1]}")
    stop_all
    set_figures "$(shardmq_msgs_per_sec "$json")" "$catch_up_messages" "$before" "$after"
}

# ---- Iggy ------------------------------------------------------------------------------

start_iggy() {
    local store=$work/iggy
    rm -rf "$store"
    mkdir -p "$store/data"
    # From its store directory, so no configuration file of the current one is read.
    (cd "$store" && exec env IGGY_SYSTEM_PATH="$store/data" IGGY_TCP_ENABLED=true \
        IGGY_TCP_ADDRESS="127.0.0.1:$iggy_port" IGGY_HTTP_ENABLED=false \
        IGGY_QUIC_ENABLED=false IGGY_WEBSOCKET_ENABLED=false \
        IGGY_SYSTEM_SHARDING_CPU_ALLOCATION=1 IGGY_SYSTEM_SHARDING_PIN_CORES=true \
        taskset -c "$broker_cpus" "$iggy_server" --with-default-root-credentials) \
        >"$work/iggy.log" 2>&1 &
    pids+=($!)
    wait_listening "$iggy_port" 60 iggy
}

# Runs iggy-bench with the global options $@ before the subcommand $1 (pinned-producer or
# pinned-consumer); prints its summary line's messages/s.
iggy_run() { # log, global options..., --, subcommand, its options...
    local log=$1 global=()
    shift
    while [ "$1" != -- ]; do global+=("$1") && shift; done
    shift
    NO_COLOR=1 timeout 900 taskset -c "$harness_cpus" "$iggy_bench" -m 1024 "${global[@]}" \
        "$@" tcp --server-address "127.0.0.1:$iggy_port" --nodelay >"$log" 2>&1 ||
        { tail -n 5 "$log" >&2; return 1; }
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep 'Results: Total throughput' | tail -n 1 |
        sed -E 's/.* MB\/s, ([0-9.]+) messages\/s.*/\1/'
}

iggy_produce() { # batch
    local batch=$1 count total rate before after
    count=$((batch == 1 ? messages : batches))
    total=$((count * batch))
    start_iggy
    before=$(cpu_seconds "${pids[-1]}")
    rate=$(iggy_run "$work/iggy-produce-$batch.log" -P "$batch" -b "$count" -- \
        pinned-producer -p 1 -s 1)
    after=$(cpu_seconds "${pids[-1]}")
    stop_all
    set_figures "$rate" "$total" "$before" "$after"
}

iggy_catch_up() {
    local rate before after
    start_iggy
    iggy_run "$work/iggy-fill.log" -P 32 -T "$iggy_catch_up_size" -- pinned-producer -p 1 -s 1 \
        >/dev/null
    drop_page_cache
    before=$(cpu_seconds "${pids[-1]}")
    rate=$(iggy_run "$work/iggy-consume.log" -P 32 -T "$iggy_catch_up_size" -- \
        pinned-consumer -c 1 -s 1)
    after=$(cpu_seconds "${pids[-1]}")
    stop_all
    set_figures "$rate" "$catch_up_messages" "$before" "$after"
}

# ---- the table -------------------------------------------------------------------------

command -v bc >/dev/null || { echo "bc is needed (Debian: apt install bc)" >&2; exit 1; }
declare -A ours theirs
for scenario in batch-1 batch-32 catch-up; do
    case $scenario in
        # Not chained with &&, under which a failing command would not stop the script.
        batch-1) shardmq_produce 1; ours[$scenario]=$figures; iggy_produce 1 ;;
        batch-32) shardmq_produce 32; ours[$scenario]=$figures; iggy_produce 32 ;;
        catch-up) shardmq_catch_up; ours[$scenario]=$figures; iggy_catch_up ;;
    esac
    theirs[$scenario]=$figures
    echo "$scenario: shardmq ${ours[$scenario]}, iggy ${theirs[$scenario]}" >&2
done

label() {
    case $1 in
        batch-1) echo "one producer, batch 1, one in flight, $messages messages" ;;
        batch-32) echo "one producer, batch 32, one in flight, $((batches * 32)) messages" ;;
        catch-up) echo "catch-up read of $catch_up, page cache dropped, 32 a request" ;;
    esac
}
echo "| 1 KiB; server on CPU $broker_cpus, harness on CPU $harness_cpus; shardmq $header headers${settings:+, ${settings[*]}} | shardmq msgs/s | Iggy msgs/s | ratio | shardmq MiB/s | Iggy MiB/s | shardmq server CPU µs/msg | Iggy server CPU µs/msg | ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for scenario in batch-1 batch-32 catch-up; do
    read -r a_rate a_mib a_cpu <<<"${ours[$scenario]}"
    read -r b_rate b_mib b_cpu <<<"${theirs[$scenario]}"
    awk -v l="$(label "$scenario")" -v ar="$a_rate" -v br="$b_rate" -v am="$a_mib" \
        -v bm="$b_mib" -v ac="$a_cpu" -v bc="$b_cpu" 'BEGIN {
        printf "| %s | %d | %d | %.2f× | %s | %s | %s | %s | %.2f× |\n",
            l, ar, br, ar / br, am, bm, ac, bc, ac / bc }'
done
