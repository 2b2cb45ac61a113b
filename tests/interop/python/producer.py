"""Sends --count messages with the `rocketmq` package (rocketmq-client-cpp) and prints one
`sent` line per send result (per batch with --mode batch).

Usage: producer.py --namesrv 127.0.0.1:9876 --topic T [--group pg] [--count 10]
                   [--mode sync|async|oneway|batch] [--batch-size 10] [--tags TagA,TagB]
                   [--body-sizes 4095,5120] [--orderly] [--access-key AK --secret-key SK]

--orderly sends with `send_orderly`, every message with the same order id, which the binding's
default selector (`hashing_queue_selector`: id mod queue count) turns into one queue (sync mode
only: the C API has no asynchronous orderly send).
"""

import os
import sys
import threading
import time

from rocketmq.client import Message, Producer

from common import line, native_log, padded_body, parser, set_credentials, wait_startup_heartbeat

# The C++ client refuses bodies over 128 KiB by default; Java's clients, the Rust client and
# the broker take up to 4 MiB.
MAX_MESSAGE_SIZE = 4 * 1024 * 1024

# The order id of every message of an --orderly run: one id, one queue.
ORDER_ID = 1


def main():
    p = parser(__doc__)
    p.add_argument("--mode", choices=["sync", "async", "oneway", "batch"], default="sync")
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--body-sizes", default="0", help="comma-separated, used in turn; 0 = unpadded")
    p.add_argument("--orderly", action="store_true", help="send_orderly, one order id for all")
    args = p.parse_args()
    count = args.count if args.count is not None else 1
    if args.orderly and args.mode != "sync":
        line("error", stage="start", index=None, error="--orderly sends in sync mode only")
        line("done", ok=False, sent=0, failed=count)
        return 1
    tags = args.tags.split(",")
    sizes = [int(size) for size in args.body_sizes.split(",")]
    deadline = time.monotonic() + args.seconds

    def message(index):
        msg = Message(args.topic)
        tag = tags[index % len(tags)]
        if tag:
            msg.set_tags(tag)
        msg.set_keys(f"{args.key_prefix}{index}")
        msg.set_body(padded_body(f"{args.body_prefix}{index}", sizes[index % len(sizes)]))
        return msg

    producer = Producer(args.group or "interop_pg")
    producer.set_namesrv_addr(args.namesrv)
    producer.set_max_message_size(MAX_MESSAGE_SIZE)
    try:
        set_credentials(producer, args)
        log_before = native_log()
        producer.start()
        heartbeats = wait_startup_heartbeat(log_before)
    except Exception as error:  # the native library raises its own exception types
        line("error", stage="start", index=None, error=str(error))
        line("done", ok=False, sent=0, failed=count)
        return 1
    line(
        "started",
        client="python",
        role="producer",
        mode=args.mode,
        orderly=args.orderly,
        accessKey=args.access_key,
        startupHeartbeats=heartbeats,
    )

    def result_fields(result):
        # The C++ client's result has no queue id and no offset message id.
        # The binding names the statuses OK, FLUSH_DISK_TIMEOUT, …; the other clients (and
        # Java) call success SEND_OK: report one vocabulary.
        status = "SEND_OK" if result.status.name == "OK" else result.status.name
        return {"status": status, "msgId": result.msg_id, "queueOffset": result.offset}

    sent = 0
    failed = 0
    if args.mode == "async":
        done = threading.Semaphore(0)
        outcome = {"sent": 0, "failed": 0}

        def on_success(index):
            def callback(result):
                line("sent", index=index, **result_fields(result))
                outcome["sent"] += 1
                done.release()
            return callback

        def on_error(index):
            def callback(error):
                line("error", stage="callback", index=index, error=str(error))
                outcome["failed"] += 1
                done.release()
            return callback

        started = 0
        for index in range(count):
            try:
                producer.send_async(message(index), on_success(index), on_error(index))
                started += 1
            except Exception as error:
                line("error", stage="send", index=index, error=str(error))
                failed += 1
        answered = 0
        while answered < started and done.acquire(timeout=max(0.0, deadline - time.monotonic())):
            answered += 1
        if answered < started:
            line("error", stage="callback", index=None, error="callbacks missing at the run time limit")
            failed += started - answered
        sent = outcome["sent"]
        failed += outcome["failed"]
    else:
        step = max(1, args.batch_size) if args.mode == "batch" else 1
        for first in range(0, count, step):
            last = min(first + step, count)
            if time.monotonic() > deadline:
                line("error", stage="send", index=first, error="run time limit reached")
                failed = count - sent
                break
            try:
                if args.orderly:
                    result = producer.send_orderly(message(first), ORDER_ID)
                    line("sent", index=first, **result_fields(result))
                elif args.mode == "sync":
                    line("sent", index=first, **result_fields(producer.send_sync(message(first))))
                elif args.mode == "oneway":
                    producer.send_oneway(message(first))
                    line("sent", index=first)
                else:
                    result = producer.send_batch([message(i) for i in range(first, last)])
                    line("sent", index=first, size=last - first, **result_fields(result))
                sent += last - first
            except Exception as error:
                # The client already retried: stop at the first failure.
                line("error", stage="send", index=first, error=str(error))
                failed = count - sent
                break
    producer.shutdown()
    ok = failed == 0 and sent == count
    line("done", ok=ok, sent=sent, failed=failed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.stdout.flush()
    code = main()
    sys.stdout.flush()
    # The native library's threads can keep the interpreter from exiting after shutdown.
    os._exit(code)
