#!/usr/bin/env bash
# A change's effect on the data path, measured in one sitting on this machine: the broker
# built from git revision --before against the working tree's, alternately, --rounds times
# each. One run: a fresh one-shard broker (ASYNC_FLUSH) and store, a topic of --queues
# queues (8; with 1, a catch-up reader's records lie back to back in the log),
# `shardmq-bench produce` of 1 KiB messages (JSON headers, as Java's clients send them;
# --header to change; --batch messages a request, --window requests in flight on each of
# the harness's connections, its defaults unless given) for --duration, then
# `shardmq-bench consume` of --consume messages from the first offset (a reader catching
# up from the broker's memory). Printed: each run's msgs/s and the broker's CPU per message
# (its user and system time over the phase per message: a figure the machine's other load
# disturbs less than the rate), then the medians and the ratio of the working tree to
# --before.
# The harness is the working tree's for both builds. The broker runs on 127.0.0.1 only, on
# CPU --broker-cpus, the harness on --harness-cpus; every process is stopped by its PID and
# the store and the --before worktree are deleted at the end.
#
# Usage: scripts/bench-builds.sh --before REV [--rounds 3] [--duration 10s]
#            [--consume 1000000] [--header json|rocketmq] [--queues 8] [--batch 1] [--window N]
#            [--broker-cpus 1] [--harness-cpus 0] [--store-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
before= rounds=3 consume=1000000 header=json queues=8 batch=1 window=()
own_option() {
    case $1 in
        --batch) batch=$2 ;;
        --window) window=(--window "$2") ;;
        --before) before=$2 ;;
        --consume) consume=$2 ;;
        --header) header=$2 ;;
        --queues) queues=$2 ;;
        *) return 1 ;;
    esac
}
bench_options bench-builds "$@"
[ -n "$before" ] || { echo "--before REV is needed" >&2; exit 2; }
prepare_run "$store_root"
tree=$(mktemp -d)
trap 'stop_all; rm -rf "$work"; git worktree remove --force "$tree" 2>/dev/null || true' EXIT

# The --before broker, built in a worktree of its own (its target directory shares the
# dependencies already built under target/).
git worktree add --detach "$tree" "$before" >&2
(cd "$tree" && cargo build --release --locked -p shardmq --target-dir "$OLDPWD/target/bench-builds") >&2
cp target/bench-builds/release/shardmq "$work/shardmq-before"
cp "$shardmq" "$work/shardmq-after"

port=28931
addr=127.0.0.1:$port
target=(--broker "$addr" --header "$header" --queues "$queues")

# One run of build $1 ("before" or "after"): "<produce msgs/s> <µs/msg> <consume msgs/s> <µs/msg>".
run() { # build, round
    local name=$1-$2 broker cpu0 cpu1 cpu2
    shardmq=$work/shardmq-$1 start "$name" "$port" "$work/store" flushDiskType=ASYNC_FLUSH \
        mappedFileSizeCommitLog=268435456 maxHashSlotNum=50000 maxIndexNum=200000
    broker=${pids[-1]}
    timeout 60 "$bench" topic --broker "$addr" --queues "$queues" >/dev/null
    cpu0=$(cpu_seconds "$broker")
    timeout 300 taskset -c "$harness_cpus" "$bench" produce "${target[@]}" --size 1024 \
        --batch "$batch" "${window[@]}" --duration "$duration" \
        --json "$work/$name-produce.json" >/dev/null
    cpu1=$(cpu_seconds "$broker")
    timeout 300 taskset -c "$harness_cpus" "$bench" consume "${target[@]}" --from first \
        --messages "$consume" --warmup 0s --json "$work/$name-consume.json" >/dev/null
    cpu2=$(cpu_seconds "$broker")
    stop_all
    rm -rf "$work/store"
    python3 -c 'import json, sys
produce, consume = (json.load(open(f)) for f in sys.argv[1:3])
cpu = [float(x) for x in sys.argv[3:6]]
# The broker CPU covers the warm-up too: every request the harness made.
sent = max(produce["harness"]["requests"] * int(sys.argv[6]), 1)
print(round(produce["msgs_per_sec"]), round((cpu[1] - cpu[0]) * 1e6 / sent, 2),
      round(consume["msgs_per_sec"]), round((cpu[2] - cpu[1]) * 1e6 / max(consume["messages"], 1), 2))' \
        "$work/$name-produce.json" "$work/$name-consume.json" "$cpu0" "$cpu1" "$cpu2" "$batch"
}

results=()
for round in $(seq "$rounds"); do
    for build in before after; do
        results+=("$build $(run "$build" "$round")")
        echo "round $round: ${results[-1]}" >&2
    done
done

python3 - "$before" "$duration" "$consume" "$header" "$queues" "$batch" "${window[1]:-default}" \
    "$(printf '%s\n' "${results[@]}")" <<'PY'
import statistics, sys
before, duration, consume, header, queues, batch, window, text = sys.argv[1:]
rows = [line.split() for line in text.splitlines()]
def med(build, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == build)
print(f"# {before} against the working tree: 1 KiB, {header} headers, one shard, "
      f"{queues} queues, produce {duration} in batches of {batch} (window {window}), "
      f"consume {consume} from the first offset")
print("| build | produce msgs/s | broker µs/msg | consume msgs/s | broker µs/msg |")
print("| --- | ---: | ---: | ---: | ---: |")
for build in ("before", "after"):
    runs = [r for r in rows if r[0] == build]
    print(f"| {build} | " + " | ".join(" / ".join(r[c] for r in runs) for c in range(1, 5)) + " |")
print("| median ratio after/before | " + " | ".join(
    f"{med('after', c) / med('before', c):.2f}" for c in range(1, 5)) + " |")
PY
