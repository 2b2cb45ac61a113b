"""Runs a `rocketmq` (rocketmq-client-cpp) push consumer and prints one `received` line per
delivered message, until --count messages arrived (0: no limit) or --seconds passed.

Usage: consumer.py --namesrv 127.0.0.1:9876 --topic T [--group cg] [--expr 'TagA || TagC']
                   [--model clustering|broadcasting] [--count 10] [--seconds 30] [--orderly]
                   [--access-key AK --secret-key SK]

--orderly makes it an orderly consumer (`PushConsumer(group, orderly=True)`): one queue's
messages reach the callback one at a time, in queue order, under the broker's lock on the queue.
"""

import os
import sys
import threading

from rocketmq.client import MessageModel, PushConsumer

from common import line, parser, set_credentials, text


def main():
    p = parser(__doc__)
    p.add_argument("--expr", default="*")
    p.add_argument("--model", choices=["clustering", "broadcasting"], default="clustering")
    p.add_argument("--orderly", action="store_true", help="an orderly push consumer")
    args = p.parse_args()
    count = args.count or 0
    group = args.group or "interop_cg"
    model = MessageModel.BROADCASTING if args.model == "broadcasting" else MessageModel.CLUSTERING
    enough = threading.Event()
    received = [0]

    def on_message(msg):
        line(
            "received",
            msgId=text(msg.id),
            uniqKey=text(msg.get_property("UNIQ_KEY")) or None,
            topic=text(msg.topic),
            queueId=msg.queue_id,
            queueOffset=msg.queue_offset,
            tags=text(msg.tags) or None,
            keys=text(msg.keys) or None,
            body=text(msg.body),
            reconsumeTimes=msg.reconsume_times,
        )
        received[0] += 1
        if count and received[0] >= count:
            enough.set()

    consumer = PushConsumer(group, orderly=args.orderly, message_model=model)
    consumer.set_namesrv_addr(args.namesrv)
    # Two consumer processes on one host need distinct instance names to be two clients.
    consumer.set_instance_name(f"python-consumer-{os.getpid()}")
    try:
        set_credentials(consumer, args)
        consumer.subscribe(args.topic, on_message, expression=args.expr)
        consumer.start()
    except Exception as error:  # the native library raises its own exception types
        line("error", stage="start", index=None, error=str(error))
        line("done", ok=False, received=0)
        return 1
    line(
        "started",
        client="python",
        role="consumer",
        group=group,
        orderly=args.orderly,
        accessKey=args.access_key,
    )
    enough.wait(args.seconds)
    consumer.shutdown()
    # A timed run succeeds; a run that asked for a count fails when it did not get it.
    ok = count == 0 or received[0] >= count
    line("done", ok=ok, received=received[0])
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # The native library's threads can keep the interpreter from exiting after shutdown.
    os._exit(code)
