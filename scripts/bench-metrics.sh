#!/usr/bin/env bash
# What the Prometheus endpoint costs the data path (docs/operations.md, "Metrics"), measured in
# one run on this machine: 1 KiB produce (shardmq-bench produce) against one shard with
# metricsExporterType=PROM, alternately without scrapes and with one scrape a second (curl,
# as Prometheus scrapes), --rounds times each; msgs/s of each run, the medians and their ratio,
# and each scrape's time and size.
# The broker runs on 127.0.0.1 only, on CPU --broker-cpus, the harness and curl on
# --harness-cpus; every process is stopped by its PID and the store under --store-dir is
# deleted at the end.
#
# Usage: scripts/bench-metrics.sh [--duration 10s] [--rounds 3]
#            [--broker-cpus 1] [--harness-cpus 0] [--store-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
rounds=3
bench_options bench-metrics "$@"
prepare_run "$store_root"
scraper=
trap '[ -n "$scraper" ] && kill "$scraper" 2>/dev/null; stop_all; rm -rf "$work"' EXIT

port=27911
addr=127.0.0.1:$port
metrics_port=$((port + 20))
start broker "$port" "$work/store" metricsExporterType=PROM metricsPromExporterHost=127.0.0.1 \
    "metricsPromExporterPort=$metrics_port"
timeout 60 "$bench" topic --broker "$addr" --queues 8 >/dev/null

produce() { # run name → msgs/s
    timeout 300 taskset -c "$harness_cpus" "$bench" produce --broker "$addr" --size 1024 \
        --duration "$duration" --json "$work/$1.json" >/dev/null
    python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["msgs_per_sec"]))' \
        "$work/$1.json"
}

# One scrape a second until killed: each scrape's seconds and bytes on a line.
scrape_every_second() {
    while true; do
        taskset -c "$harness_cpus" curl -s -o /dev/null -w '%{time_total} %{size_download}\n' \
            "http://127.0.0.1:$metrics_port/metrics" >>"$work/scrapes"
        sleep 1
    done
}

quiet=() scraped=()
for round in $(seq "$rounds"); do
    quiet+=("$(produce "quiet-$round")")
    scrape_every_second &
    scraper=$!
    scraped+=("$(produce "scraped-$round")")
    kill "$scraper"; wait "$scraper" 2>/dev/null || true
    scraper=
    echo "round $round: ${quiet[-1]} msgs/s without scrapes, ${scraped[-1]} with one a second" >&2
done

python3 - "$work/scrapes" "${quiet[*]}" "${scraped[*]}" <<'PY'
import statistics, sys
times, sizes = [], []
for line in open(sys.argv[1]):
    t, b = line.split()
    times.append(float(t) * 1000); sizes.append(int(b))
quiet = [int(x) for x in sys.argv[2].split()]
scraped = [int(x) for x in sys.argv[3].split()]
q, s = statistics.median(quiet), statistics.median(scraped)
print(f"produce without scrapes: {quiet} msgs/s, median {q:.0f}")
print(f"produce with 1 scrape/s: {scraped} msgs/s, median {s:.0f}")
print(f"ratio scraped/quiet: {s / q:.3f}")
print(f"scrapes: {len(times)}, median {statistics.median(times):.2f} ms, max {max(times):.2f} ms, "
      f"{statistics.median(sizes)} bytes")
PY
