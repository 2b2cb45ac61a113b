#!/usr/bin/env python3
"""The broker's resident memory (VmRSS) under connection load, for docs and reviews.

Starts BINARY as a one-shard broker on 127.0.0.1 (ports 21909/21911, NameServer 21876, a
fresh store under the system's temp directory) and prints its VmRSS:
  - idle;
  - with 5,000 idle connections, and after they close;
  - after 1,000 messages of 8 KiB are stored in one queue;
  - with 5 connections that send PULL_MESSAGE requests for that queue and never read,
    and after they close;
with, when the broker reports them, its `queuedResponseBytes` and `connections`. Each
figure is taken once two samples of VmRSS a second apart agree within 1 %.

Usage: ulimit -n 20000; scripts/memory-figures.py target/release/shardmq [-o key=value]...
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

PORT = 21911
NAMESRV_PORT = 21876
IDLE_CONNECTIONS = 5000
PULLERS = 5
PULLS_PER_PULLER = 20000
MESSAGES = 1000
BODY = 8 * 1024


def frame(code, fields, body=b""):
    header = json.dumps({"code": code, "language": "JAVA", "version": 479, "opaque": 1,
                         "flag": 0, "extFields": fields}).encode()
    return struct.pack(">II", 4 + len(header) + len(body), len(header)) + header + body


def read_frame(sock):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("the broker closed the connection")
            buf += chunk
        return buf
    length, word = struct.unpack(">II", exact(8))
    header = exact(word & 0xFFFFFF)
    body = exact(length - 4 - (word & 0xFFFFFF))
    return json.loads(header), body


def request(sock, code, fields, body=b""):
    sock.sendall(frame(code, fields, body))
    return read_frame(sock)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def settled_rss(pid):
    last = rss_kib(pid)
    for _ in range(30):
        time.sleep(1)
        now = rss_kib(pid)
        if abs(now - last) <= last // 100:
            return now
        last = now
    return last


def connect():
    return socket.create_connection(("127.0.0.1", PORT))


def runtime_figures(sock):
    _, body = request(sock, 28, {})
    table = json.loads(body)["table"]
    keys = ("queuedResponseBytes", "connections")
    return ", ".join(f"{key} {table[key]}" for key in keys if key in table)


def store_messages(sock):
    fields = {"a": "pg", "b": "MemTopic", "c": "TBW102", "d": "4", "e": "0", "f": "0",
              "g": "1700000000000", "h": "0", "i": "", "j": "0", "k": "false", "m": "false"}
    for _ in range(MESSAGES):
        header, _ = request(sock, 310, fields, b"x" * BODY)
        assert header["code"] == 0, header
    while True:
        header, _ = request(sock, 30, {"topic": "MemTopic", "queueId": "0"})
        if header["extFields"]["offset"] == str(MESSAGES):
            return
        time.sleep(0.1)


def flood_pulls(sock):
    """Writes pull requests until the broker has taken none for 3 s."""
    pull = frame(11, {
        "consumerGroup": "cg", "topic": "MemTopic", "queueId": "0", "queueOffset": "0",
        "maxMsgNums": "32", "sysFlag": "4", "commitOffset": "0", "suspendTimeoutMillis": "0",
        "subscription": "*", "subVersion": "0", "expressionType": "TAG"})
    chunk, sent = pull * 200, 0
    sock.settimeout(3)
    try:
        while sent < PULLS_PER_PULLER * len(pull):
            sent += sock.send(chunk)
    except OSError:
        pass


def main():
    store = tempfile.mkdtemp(prefix="shardmq-memory-")
    broker = subprocess.Popen(
        [sys.argv[1], "broker", "--listen-addr", "127.0.0.1", "--listen-port", str(PORT),
         "--shards", "1", "--namesrv-listen-port", str(NAMESRV_PORT), "--store-path", store,
         "-o", "mappedFileSizeCommitLog=67108864", "-o", "maxHashSlotNum=4096",
         "-o", "maxIndexNum=16384", *sys.argv[2:]],
        stdin=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "error"})
    pid = broker.pid

    def report(what):
        rss = settled_rss(pid)
        print(f"{what:38} {rss:>9} KiB  {runtime_figures(admin)}", flush=True)

    try:
        for _ in range(300):
            try:
                admin = connect()
                break
            except OSError:
                time.sleep(0.1)
        report("idle")
        idle = [connect() for _ in range(IDLE_CONNECTIONS)]
        report(f"{IDLE_CONNECTIONS} idle connections")
        for conn in idle:
            conn.close()
        report("after they close")
        store_messages(admin)
        report(f"{MESSAGES} messages of {BODY} B stored")
        pullers = [connect() for _ in range(PULLERS)]
        threads = [threading.Thread(target=flood_pulls, args=(p,)) for p in pullers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report(f"{PULLERS} never-reading pullers")
        for conn in pullers:
            conn.close()
        report("after they close")
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait()
        shutil.rmtree(store, ignore_errors=True)


main()
