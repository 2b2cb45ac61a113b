"""Argument parsing and the JSON-lines report shared by the `rocketmq` (PyPI) drivers.

The report has the same events as the Rust and Node drivers: started, sent, received, error, done.
"""

import argparse
import json
import sys
import threading

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
    return p


# Message bodies of a given size (--body-sizes): the body's text, then FILLER repeated and cut
# to the size; a size of 0 leaves the text alone. The same rule in every driver and the tests.
FILLER = "0123456789abcdefghijklmnopqrstuvwxyz"


def padded_body(text, size):
    if size <= len(text):
        return text
    fill = FILLER * (-(-(size - len(text)) // len(FILLER)))
    return text + fill[: size - len(text)]


def line(event, **fields):
    # The native client calls back from its own threads: one line at a time.
    with _lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


def text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
