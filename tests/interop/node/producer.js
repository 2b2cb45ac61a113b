'use strict';
// Sends --count messages with ali-ons and prints one `sent` line per SendResult.
// --mode sync awaits each send; --mode async starts every send at once and awaits them all
// (ali-ons has no callback, oneway or batch send). --orderly gives every message the same
// `shardingKey`, from which ali-ons picks a queue id by an md5 hash (sync mode only: ali-ons has
// no selector and no orderly send of its own). That pins one queue only on a 1-queue topic:
// see the README's quirks.
// Usage: node producer.js --namesrv 127.0.0.1:9876 --topic T --group pg --count 10 --tags TagA,TagB
//        [--body-sizes 4095,5120] [--orderly] [--access-key AK --secret-key SK]

const { Producer, Message } = require('ali-ons');
const { options, line, clientOptions, errorText, exit, paddedBody } = require('./common');

// The sharding key of every message of an --orderly run: one key, one queue.
const ORDER_ID = '1';

async function main() {
  const args = options({
    mode: { type: 'string', default: 'sync' },
    'body-sizes': { type: 'string', default: '0' },
    orderly: { type: 'boolean', default: false },
  });
  if (args.orderly && args.mode !== 'sync') {
    throw new Error('--orderly sends in sync mode only');
  }
  const count = Number(args.count || 1);
  const tags = args.tags.split(',');
  const sizes = args['body-sizes'].split(',').map(Number);
  const producer = new Producer({
    ...clientOptions(args, 'producer'),
    producerGroup: args.group || 'interop_pg',
  });
  let sent = 0;
  let failed = 0;
  const timer = setTimeout(() => {
    line('error', { stage: 'send', index: null, error: 'run time limit reached' });
    line('done', { ok: false, sent, failed: count - sent });
    exit(1);
  }, Number(args.seconds) * 1000);

  await producer.ready();
  line('started', {
    client: 'node', role: 'producer', mode: args.mode, orderly: args.orderly,
    accessKey: args['access-key'] || null,
  });

  const sendOne = async index => {
    const tag = tags[index % tags.length];
    const body = paddedBody(`${args['body-prefix']}${index}`, sizes[index % sizes.length]);
    const msg = tag ? new Message(args.topic, tag, body) : new Message(args.topic, body);
    msg.keys = [ `${args['key-prefix']}${index}` ];
    if (args.orderly) {
      msg.shardingKey = ORDER_ID;
    }
    try {
      const result = await producer.send(msg);
      line('sent', {
        index,
        status: result.sendStatus,
        msgId: result.msgId,
        offsetMsgId: result.offsetMsgId || null,
        queueId: result.messageQueue ? result.messageQueue.queueId : null,
        brokerName: result.messageQueue ? result.messageQueue.brokerName : null,
        queueOffset: result.queueOffset,
      });
      sent += 1;
      return true;
    } catch (err) {
      line('error', { stage: 'send', index, error: errorText(err) });
      failed += 1;
      return false;
    }
  };

  if (args.mode === 'async') {
    await Promise.all(Array.from({ length: count }, (_, index) => sendOne(index)));
  } else {
    for (let index = 0; index < count; index++) {
      // The client already retried a failed send: stop at the first failure.
      if (!await sendOne(index)) {
        failed = count - sent;
        break;
      }
    }
  }
  clearTimeout(timer);
  try {
    await producer.close();
  } catch (err) {
    // Closing unregisters the client at the brokers, which may refuse it too.
    line('error', { stage: 'close', index: null, error: errorText(err) });
  }
  const ok = failed === 0 && sent === count;
  line('done', { ok, sent, failed });
  exit(ok ? 0 : 1);
}

main().catch(err => {
  line('error', { stage: 'start', index: null, error: errorText(err) });
  line('done', { ok: false, sent: 0, failed: null });
  exit(1);
});
