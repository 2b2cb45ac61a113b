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


def line(event, **fields):
    # The native client calls back from its own threads: one line at a time.
    with _lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


def text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
