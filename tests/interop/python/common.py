"""Argument parsing and the JSON-lines report shared by the `rocketmq` (PyPI) drivers.

The report has the same events as the Rust and Node drivers: started, sent, received, error, done.
"""

import argparse
import json
import os
import sys
import threading
import time

_lock = threading.Lock()


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--namesrv", required=True, help="host:port[;host:port]")
    p.add_argument("--topic", required=True)
    p.add_argument("--group")
    p.add_argument("--count", type=int)
    p.add_argument("--tags", default="TagA", help="comma-separated, used in turn; empty = no tag")
    p.add_argument("--key-prefix", default="key-")
    p.add_argument("--body-prefix", default="body-")
    p.add_argument("--seconds", type=float, default=30)
    # The account every request is signed as, for a broker that checks the plain ACL.
    p.add_argument("--access-key")
    p.add_argument("--secret-key")
    return p


# What the C++ client sends as OnsChannel: its default when no credentials are set.
ONS_CHANNEL = "ALIYUN"


def set_credentials(client, args):
    """Signs the producer's or consumer's requests as the account of --access-key/--secret-key.

    The C++ client's RPC hook (ClientRPCHook::doBeforeRequest) signs every request whether or not
    credentials are set: AccessKey (empty without them), OnsChannel and a Signature, the Base64
    HMAC-SHA1 of the header's values sorted by key, then the body.
    """
    if bool(args.access_key) != bool(args.secret_key):
        raise ValueError("--access-key and --secret-key go together")
    if args.access_key:
        client.set_session_credentials(args.access_key, args.secret_key, ONS_CHANNEL)


# Message bodies of a given size (--body-sizes): the body's text, then FILLER repeated and cut
# to the size; a size of 0 leaves the text alone. The same rule in every driver and the tests.
FILLER = "0123456789abcdefghijklmnopqrstuvwxyz"


def padded_body(text, size):
    if size <= len(text):
        return text
    fill = FILLER * (-(-(size - len(text)) // len(FILLER)))
    return text + fill[: size - len(text)]


def native_log():
    """This process's rocketmq-cpp log files (`$HOME/logs/rocketmq-cpp/<pid>_rocketmq-cpp.log.N`;
    a process whose id an earlier one had gets the next N) with their sizes."""
    directory = os.path.join(os.path.expanduser("~"), "logs", "rocketmq-cpp")
    prefix = f"{os.getpid()}_rocketmq-cpp.log."
    try:
        names = sorted(name for name in os.listdir(directory) if name.startswith(prefix))
    except FileNotFoundError:
        return {}
    paths = [os.path.join(directory, name) for name in names]
    return {path: os.path.getsize(path) for path in paths}


def native_log_since(before):
    """What the native library logged after the `native_log()` snapshot `before`."""
    written = []
    for path in native_log():
        with open(path, "rb") as file:
            file.seek(before.get(path, 0))
            written.append(file.read().decode("utf-8", "replace"))
    return "".join(written)


# The C++ client (1.2.3, `MQClientFactory::startScheduledTask`) sends its first scheduled
# heartbeat 10 ms after start, from a thread of its own. If the first sends have fetched the route
# by then, that thread creates its connections to the brokers while a send creates its own, and the
# table lock they share is taken with a wait (`TcpRemotingClient::CreateTransport`) that in this
# build gives up at once: every try of the send fails without reaching a broker, reported as
# "No route info of this topic". On a busy machine the heartbeat thread is preempted holding the
# lock and all five tries fail. Sends begin once that heartbeat has run (it finds no broker yet and
# says so); the next is 30 s later, when the connections exist.
STARTUP_HEARTBEATS = 2


def wait_startup_heartbeat(before, seconds=10):
    """Waits until the client started after the snapshot `before` has run its start-up heartbeat
    and its first scheduled one; returns whether it saw them (a log that does not say so costs
    only the wait)."""
    deadline = time.monotonic() + seconds
    while native_log_since(before).count("sendheartbeat") < STARTUP_HEARTBEATS:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def line(event, **fields):
    # The native client calls back from its own threads: one line at a time.
    with _lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


def text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
