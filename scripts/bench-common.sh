# Shell helpers the bench scripts share; sourced, never run. The sourcing script calls
# `bench_options` (or sets `broker_cpus` itself) and `prepare_run`, and calls `stop_all` on
# exit.

# The options every bench script takes: sets `duration` (10s), `broker_cpus` (1),
# `harness_cpus` (0) and `store_root` (.cache/$1) from the options after $1, and `rounds`
# from --rounds in a script that set a default `rounds` first (the others refuse it). An
# option of the script's own goes to its function `own_option NAME VALUE`, which fails for
# one it does not know either.
own_option() { return 1; }
bench_options() { # name, options...
    duration=10s broker_cpus=1 harness_cpus=0 store_root=.cache/$1
    shift
    while [ $# -gt 0 ]; do
        case $1 in
            --duration) duration=$2 ;;
            --broker-cpus) broker_cpus=$2 ;;
            --harness-cpus) harness_cpus=$2 ;;
            --store-dir) store_root=$2 ;;
            --rounds) [ -n "${rounds-}" ] || { echo "unknown option $1" >&2; exit 2; }; rounds=$2 ;;
            *) own_option "$1" "${2-}" || { echo "unknown option $1" >&2; exit 2; } ;;
        esac
        shift 2
    done
}

# Builds the release binaries and sets `shardmq`, `bench`, an empty `pids` array and `work`, a
# new scratch directory under $1.
prepare_run() { # store root
    cargo build --release --locked -p shardmq -p shardmq-bench >&2
    shardmq=target/release/shardmq
    bench=target/release/shardmq-bench
    pids=()
    mkdir -p "$1"
    work=$(mktemp -d "$1/run.XXXX")
}

# GET_BROKER_RUNTIME_INFO (28) over one connection, as a Python function `runtime(conn)`.
runtime_py='
import json, socket, struct, sys
HEADER = json.dumps({"code": 28, "language": "JAVA", "version": 479, "opaque": 1,
                     "flag": 0, "extFields": {}}).encode()
def connect(addr):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)
def runtime(conn):
    conn.sendall(struct.pack(">II", 4 + len(HEADER), len(HEADER)) + HEADER)
    def exactly(n):
        got = b""
        while len(got) < n:
            part = conn.recv(n - len(got))
            if not part:
                sys.exit("connection closed")
            got += part
        return got
    total, = struct.unpack(">I", exactly(4))
    frame = exactly(total)
    header_len = struct.unpack(">I", frame[:4])[0] & 0xFFFFFF
    return json.loads(frame[4 + header_len:])["table"]
'

# The value of runtime-info key $2 of the broker at $1.
runtime() {
    python3 -c "$runtime_py
print(runtime(connect(sys.argv[1]))[sys.argv[2]])" "$1" "$2"
}

# User plus system CPU seconds of process $1 so far.
cpu_seconds() { # pid
    awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / tck }' "/proc/$1/stat"
}

# Stops every process started here, by its PID.
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    done
    pids=()
}

# Starts a one-shard broker named $1 on main port $2 with store $3 and more -o settings, on
# CPUs $broker_cpus; its log goes to $work/$1.log.
start() { # name, port, store, settings...
    local name=$1 port=$2 store=$3
    shift 3
    local args=(broker --listen-addr 127.0.0.1 --shards 1 --listen-port "$port"
        --namesrv-listen-port $((port + 10)) --store-path "$store")
    local setting
    for setting in "$@"; do args+=(-o "$setting"); done
    taskset -c "$broker_cpus" "$shardmq" "${args[@]}" >"$work/$name.log" 2>&1 &
    pids+=($!)
    wait_listening "$port" 30 "$name"
}

# Waits (at most $2 seconds) until 127.0.0.1:$1 accepts connections; else stops the script,
# pointing at $work/$3.log.
wait_listening() { # port, seconds, name
    local tries=0
    until (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        tries=$((tries + 1))
        [ $tries -lt $(($2 * 10)) ] || { echo "$3 did not start (see $work/$3.log)" >&2; exit 1; }
        sleep 0.1
    done
}

# Waits (at most a minute) until key $2 of the broker at $1 reads $3.
wait_runtime() { # addr, key, value
    local tries=0
    until [ "$(runtime "$1" "$2")" = "$3" ]; do
        tries=$((tries + 1))
        [ $tries -lt 600 ] || { echo "$1: $2 never reached $3" >&2; exit 1; }
        sleep 0.1
    done
}
