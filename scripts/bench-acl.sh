#!/usr/bin/env bash
# What RocketMQ's ACL 1.0 (aclEnable=true) costs the data path, measured in one run on this
# machine: 1 KiB ASYNC_FLUSH produce (shardmq-bench produce) against one shard, alternately
# without ACL and with it (plain_acl.yml; the harness signs every send as an account allowed
# to PUB the topic and nothing else, and the broker checks each signature), --rounds times
# each; msgs/s of each run, the medians and their ratio, and what each request cost the
# broker's CPU (its user and system time over the run, warm-up included, per request made: a
# figure the machine's other load disturbs less than the rate) and the harness's.
# Each run gets a broker and a store of its own (the topic created with 8 queues, by an admin
# account when ACL is on), so both kinds start alike and the disk holds one run's store (about
# 2.5 GB for 10 s at 200,000 msgs/s).
# The broker runs on 127.0.0.1 only, on CPU --broker-cpus, the harness on --harness-cpus;
# every process is stopped by its PID and the store under --store-dir is deleted at the end.
#
# Usage: scripts/bench-acl.sh [--duration 10s] [--rounds 3]
#            [--broker-cpus 1] [--harness-cpus 0] [--store-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
rounds=3
bench_options bench-acl "$@"
prepare_run "$store_root"
trap 'stop_all; rm -rf "$work"' EXIT

port=28911
addr=127.0.0.1:$port
# The broker's own account (it signs its registrations with the embedded NameServer, and
# creates the topic here) and the producer's: PUB on the benchmark topic, nothing else.
cat >"$work/plain_acl.yml" <<'YAML'
accounts:
  - accessKey: bench-admin
    secretKey: bench-admin-secret
    admin: true
  - accessKey: bench-producer
    secretKey: bench-producer-secret
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - BenchTopic=PUB
YAML
acl_settings=(aclEnable=true "aclFile=$work/plain_acl.yml" accessKey=bench-admin
    secretKey=bench-admin-secret)

# One run: a fresh broker (ACL "on" or "off"), the topic, 1 KiB sends for --duration, the
# broker stopped and its store deleted. The report goes to $work/<name>.json, the broker's
# CPU seconds over the sends to $work/<name>.cpu.
run() { # name, on|off
    # 256 MiB CommitLog segments and a small index: a run's store is the messages it wrote.
    local name=$1 acl=$2 admin=() producer=()
    local settings=(flushDiskType=ASYNC_FLUSH mappedFileSizeCommitLog=268435456
        maxHashSlotNum=50000 maxIndexNum=200000)
    if [ "$acl" = on ]; then
        settings+=("${acl_settings[@]}")
        admin=(SHARDMQ_ACCESS_KEY=bench-admin SHARDMQ_SECRET_KEY=bench-admin-secret)
        producer=(SHARDMQ_ACCESS_KEY=bench-producer SHARDMQ_SECRET_KEY=bench-producer-secret)
    fi
    start "$name" "$port" "$work/store" "${settings[@]}"
    local broker=${pids[-1]} before
    env -u SHARDMQ_ACCESS_KEY -u SHARDMQ_SECRET_KEY "${admin[@]}" timeout 60 \
        "$bench" topic --broker "$addr" --queues 8 >/dev/null
    before=$(cpu_seconds "$broker")
    env -u SHARDMQ_ACCESS_KEY -u SHARDMQ_SECRET_KEY "${producer[@]}" timeout 300 \
        taskset -c "$harness_cpus" "$bench" produce --broker "$addr" --size 1024 \
        --duration "$duration" --json "$work/$name.json" >/dev/null
    awk -v after="$(cpu_seconds "$broker")" -v before="$before" \
        'BEGIN { printf "%.2f\n", after - before }' >"$work/$name.cpu"
    stop_all
    rm -rf "$work/store"
}

# A run's msgs/s, the broker's and the harness's µs of CPU per request and the errors, on one
# line.
figures() { # name
    python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
requests = r["harness"]["requests"]
broker_us = float(open(sys.argv[2]).read()) * 1e6 / max(requests, 1)
print(round(r["msgs_per_sec"]), round(broker_us, 2), round(r["harness"]["cpu_us_per_request"], 2),
      sum(r["errors"].values()))
if r["errors"]:
    print(sys.argv[3], "failed requests:", r["errors"], file=sys.stderr)' \
        "$work/$1.json" "$work/$1.cpu" "$1"
}

off=() on=()
for round in $(seq "$rounds"); do
    run "off-$round" off
    off+=("$(figures "off-$round")")
    run "on-$round" on
    on+=("$(figures "on-$round")")
    echo "round $round: ${off[-1]%% *} msgs/s without ACL, ${on[-1]%% *} with" >&2
done

python3 - "$(printf '%s\n' "${off[@]}")" "$(printf '%s\n' "${on[@]}")" <<'PY'
import statistics, sys
def runs(text):
    return [tuple(float(x) for x in line.split()) for line in text.splitlines()]
off, on = runs(sys.argv[1]), runs(sys.argv[2])
def median(rows, i):
    return statistics.median(r[i] for r in rows)
for name, rows in (("ACL off", off), ("ACL on ", on)):
    rates = [int(r[0]) for r in rows]
    print(f"{name}: {rates} msgs/s, median {median(rows, 0):.0f}; CPU per request: broker "
          f"{[r[1] for r in rows]} us, median {median(rows, 1):.2f}, harness "
          f"{median(rows, 2):.2f} us; errors {int(sum(r[3] for r in rows))}")
print(f"ratio on/off: msgs/s {median(on, 0) / median(off, 0):.3f}, broker CPU per request "
      f"{median(on, 1) / median(off, 1):.3f} (+{median(on, 1) - median(off, 1):.2f} us)")
PY
