#!/usr/bin/env bash
# Instructions the broker executes per message on the send path and on the pull path, counted
# by valgrind's callgrind over a fixed number of messages (bench/RESULTS.md, "Instructions per
# message"). Counts do not depend on the machine's load or clock, so a change's before and
# after compare on a noisy machine where times do not; they do not see the kernel, nor time
# spent waiting.
#
# One one-shard broker runs under callgrind (shards never spin: spinBeforeParkMicros=0). Each
# phase zeroes the counters, runs, and dumps them: first the broker left idle for --idle
# seconds (its timers: flushes, checkpoints), then `shardmq-bench produce` of --messages
# messages, then `shardmq-bench consume` of the same messages from the first offset. A phase's
# count less the idle rate times its length, divided by the messages, is its figure. The
# dumps stay under target/count-instructions/.
#
# Those dumps hold totals only: once the counters have been zeroed or dumped, callgrind charges
# the rest of a glommio executor thread's work to the thread's entry (`clone`). For where the
# instructions go, --profile then runs a second broker, produces the same messages to it and
# dumps once: every function is charged its own cost (start-up included, about a fifth of
# 10,000 sends), and the top of the list is printed. `callgrind_annotate --tree=caller` on
# that dump says who called an expensive function.
#
# Usage: scripts/count-instructions.sh [--messages N] [--size BYTES] [--header json|rocketmq]
#                                      [--batch N] [--idle SECONDS] [--profile]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh

messages=20000 size=1024 header=json batch=1 idle=5 profile=
while [ $# -gt 0 ]; do
    case "$1" in
    --profile) profile=1; shift; continue ;;
    --messages) messages=$2 ;;
    --size) size=$2 ;;
    --header) header=$2 ;;
    --batch) batch=$2 ;;
    --idle) idle=$2 ;;
    *) echo "unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
    esac
    shift 2
done
for tool in valgrind callgrind_control callgrind_annotate; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: apt install valgrind)" >&2; exit 1; }
done

prepare_run target/count-instructions
# The store goes with the run (its segments are preallocated); the dumps stay.
trap 'stop_all; rm -rf "$work"/store-*' EXIT
# Starts a broker under callgrind on port $1 with its files named $2; sets `broker`.
start_counted() { # port, name
    local port=$1 name=$2
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" \
        "$shardmq" broker --listen-addr 127.0.0.1 --shards 1 --listen-port "$port" \
        --namesrv-listen-port $((port + 10)) --store-path "$work/store-$name" \
        -o spinBeforeParkMicros=0 -o mappedFileSizeCommitLog=268435456 \
        >"$work/$name.log" 2>&1 &
    pids+=($!)
    broker=$!
    # Start-up under callgrind takes many times longer.
    wait_listening "$port" 120 "$name"
}

port=24911
addr=127.0.0.1:$port
start_counted $port callgrind

# Runs phase $2 (the command after it), the $1-th, between a zero and a dump of the
# counters; prints "<instructions> <seconds>".
phase() { # number, name, command...
    local number=$1 name=$2
    shift 2
    callgrind_control -z "$broker" >/dev/null
    local start end
    start=$(date +%s.%N)
    "$@" >"$work/$name.out" 2>&1
    end=$(date +%s.%N)
    callgrind_control -d "$name" "$broker" >/dev/null
    local dump="$work/callgrind.out.$number"
    until [ -s "$dump" ]; do sleep 0.1; done
    cp "$dump" "$work/$name.callgrind"
    local ir
    ir=$(awk '/^summary:/ { print $2 }' "$dump")
    echo "$ir $(echo "$end - $start" | bc -l)"
}

target=(--broker "$addr" --topic CountTopic --queues 4 --header "$header" --warmup 0s)
read -r idle_ir idle_s < <(phase 1 idle sleep "$idle")
read -r send_ir send_s < <(phase 2 produce "$bench" produce "${target[@]}" --size "$size" \
    --batch "$batch" --connections 1 --window 64 --messages "$messages")
read -r pull_ir pull_s < <(phase 3 consume "$bench" consume "${target[@]}" --from first \
    --messages "$messages")

per_message() { # instructions, seconds
    echo "($1 - $idle_ir / $idle_s * $2) / $messages" | bc -l | xargs printf '%.0f'
}
echo "# instructions per message (callgrind; $messages × $size B, $header headers, batch $batch)"
printf '| path | instructions per message | phase | idle rate |\n| --- | --- | --- | --- |\n'
printf '| send | %s | %.1f s | %.0f per s |\n' "$(per_message "$send_ir" "$send_s")" "$send_s" \
    "$(echo "$idle_ir / $idle_s" | bc -l)"
printf '| pull | %s | %.1f s | |\n' "$(per_message "$pull_ir" "$pull_s")" "$pull_s"
[ -n "$profile" ] || exit 0

stop_all
start_counted $((port + 100)) profile
"$bench" produce "${target[@]/$addr/127.0.0.1:$((port + 100))}" --size "$size" --batch "$batch" \
    --connections 1 --window 64 --messages "$messages" >"$work/profile-produce.out" 2>&1
callgrind_control -d profile "$broker" >/dev/null
until [ -s "$work/profile.out.1" ]; do sleep 0.1; done
echo
echo "## the functions that executed most of start-up and $messages sends ($work/profile.out.1)"
callgrind_annotate "$work/profile.out.1" 2>/dev/null |
    awk '/file:function/ { on = 1; getline; next } on && NF == 0 { exit } on && n++ < 20'
