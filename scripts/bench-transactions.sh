#!/usr/bin/env bash
# What transactional messages cost, measured in one run on this machine (docs/protocol.md §5.8):
#   - 1 KiB produce (shardmq-bench produce) against one shard: plain sends, then half messages
#     each committed with a oneway END_TRANSACTION as soon as its send is answered (a
#     TransactionMQProducer whose local transaction returns at once), each on a fresh broker;
#     msgs/s, p99 and their ratio;
#   - one check round over --pending half messages nobody ends (no producer online: each is
#     appended again as its check, as in Java): the round's time from the broker
#     (transactionLastRoundMs), and the broker's resident memory after as many plain sends,
#     with the half messages pending, and after the round.
# The broker runs on 127.0.0.1 only, on CPU --broker-cpus, the harness on --harness-cpus;
# every process is stopped by its PID and the stores under --store-dir are deleted at the end.
#
# Usage: scripts/bench-transactions.sh [--duration 10s] [--pending 100000]
#            [--broker-cpus 1] [--harness-cpus 0] [--store-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
pending=100000
own_option() {
    case $1 in
        --pending) pending=$2 ;;
        *) return 1 ;;
    esac
}
bench_options bench-transactions "$@"
prepare_run "$store_root"
trap 'stop_all; rm -rf "$work"' EXIT

port=26911
addr=127.0.0.1:$port
# Checks: a transaction is due 1 s after its send; the first round comes 30 s after start,
# when every half message of the check run is stored.
settings=(transactionTimeOut=1000 transactionCheckInterval=30000)

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/${pids[-1]}/status"; }

produce() { # plain|commit → "msgs/s p99_us errors"
    local mode=$1 args=()
    [ "$mode" = commit ] && args=(--transaction commit)
    rm -rf "$work/store"
    start broker "$port" "$work/store" "${settings[@]}"
    timeout 60 "$bench" topic --broker "$addr" --queues 8 >/dev/null
    timeout 300 taskset -c "$harness_cpus" "$bench" produce --broker "$addr" --size 1024 \
        --duration "$duration" "${args[@]}" --json "$work/$mode.json" >/dev/null
    stop_all
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(round(r["msgs_per_sec"]), r["latency_us"]["p99"], r["errors"])' "$work/$mode.json"
}

declare -A rate p99 errors
for mode in plain commit; do
    read -r rate[$mode] p99[$mode] errors[$mode] < <(produce $mode)
    echo "produce, $mode: ${rate[$mode]} msgs/s, p99 ${p99[$mode]} µs, errors ${errors[$mode]}" >&2
done

# The check round over --pending open transactions.
rm -rf "$work/store"
start broker "$port" "$work/store" "${settings[@]}"
timeout 60 "$bench" topic --broker "$addr" --queues 8 >/dev/null
# As many plain sends first: the store's buffers, queues and index grow to their size, so
# the memory the half messages add is the transaction table's.
timeout 300 taskset -c "$harness_cpus" "$bench" produce --broker "$addr" --size 1024 \
    --messages "$pending" --warmup 0 --duration 300s >/dev/null
rss_before=$(rss_kib)
timeout 300 taskset -c "$harness_cpus" "$bench" produce --broker "$addr" --size 1024 \
    --transaction open --messages "$pending" --warmup 0 --duration 300s >/dev/null
wait_runtime "$addr" transactionHalfPending "$pending"
rss_pending=$(rss_kib)
tries=0
until [ "$(runtime "$addr" transactionLastRoundChecked)" = "$pending" ]; do
    tries=$((tries + 1))
    [ $tries -lt 1200 ] || { echo "no check round over $pending transactions" >&2; exit 1; }
    sleep 0.1
done
round_ms=$(runtime "$addr" transactionLastRoundMs)
rss_after=$(rss_kib)
stop_all

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<REPORT
| 1 shard, 1 KiB, $duration; broker on CPU $broker_cpus, harness on CPU $harness_cpus | msgs/s | p99 µs | errors | ratio to plain |
| --- | ---: | ---: | ---: | ---: |
| plain sends | ${rate[plain]} | ${p99[plain]} | ${errors[plain]} | 1.00 |
| half message + oneway commit | ${rate[commit]} | ${p99[commit]} | ${errors[commit]} | $(ratio "${rate[commit]}" "${rate[plain]}") |

| check round over $pending open transactions (1 KiB, no producer online) | figure |
| --- | ---: |
| round time (each appended again as its check) | $round_ms ms |
| per transaction | $(python3 -c "print(f'{$round_ms*1000/$pending:.1f}')") µs |
| broker RSS after $pending plain sends | $((rss_before / 1024)) MiB |
| then $pending half messages pending | $((rss_pending / 1024)) MiB |
| after the round | $((rss_after / 1024)) MiB |
| per pending transaction | $(python3 -c "print(round(($rss_pending-$rss_before)*1024/$pending))") B |
REPORT
