'use strict';
// Runs an ali-ons push consumer and prints one `received` line per delivered message, until
// --count messages arrived (0: no limit) or --seconds passed.
// Usage: node consumer.js --namesrv 127.0.0.1:9876 --topic T --group cg --expr 'TagA || TagC'
//        [--model clustering|broadcasting] [--from last|first] [--count 10] [--seconds 30]
//        [--orderly] [--access-key AK --secret-key SK]
// ali-ons has no orderly listener: --orderly sets `parallelConsumeLimit: 1` (its default, made
// explicit), with which it hands a queue's messages to the handler one at a time, in queue
// order, each awaited before the next; it takes no queue lock at the broker.

const { Consumer } = require('ali-ons');
const { options, line, clientOptions, errorText, exit } = require('./common');

async function main() {
  const args = options({
    expr: { type: 'string', default: '*' },
    model: { type: 'string', default: 'clustering' },
    from: { type: 'string', default: 'last' },
    orderly: { type: 'boolean', default: false },
  });
  const count = Number(args.count || 0);
  const consumer = new Consumer({
    ...clientOptions(args, 'consumer'),
    consumerGroup: args.group || 'interop_cg',
    isBroadcast: args.model === 'broadcasting',
    consumeFromWhere: args.from === 'first' ? 'CONSUME_FROM_FIRST_OFFSET' : 'CONSUME_FROM_LAST_OFFSET',
    ...(args.orderly ? { parallelConsumeLimit: 1 } : {}),
  });
  let received = 0;
  let finished = false;
  const finish = async ok => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    try {
      await consumer.close();
    } catch (err) {
      line('error', { stage: 'close', index: null, error: errorText(err) });
    }
    line('done', { ok, received });
    exit(ok ? 0 : 1);
  };
  // A timed run succeeds; a run that asked for a count fails when it did not get it.
  const timer = setTimeout(() => finish(count === 0), Number(args.seconds) * 1000);
  consumer.on('error', err => line('error', { stage: 'consume', index: null, error: errorText(err) }));
  // ali-ons rebalances only on its 10 s timer (it ignores the broker's notice that the
  // group changed), so a test cannot tell from the broker when it gave queues up; it is
  // told here. The table is private to ali-ons, pinned at 3.12.0.
  consumer.on(`topic_${args.topic}_queue_changed`, () => {
    const held = [...consumer._processQueueTable.values()]
      .map(entry => entry.messageQueue)
      .filter(queue => queue.topic === args.topic)
      .map(queue => queue.queueId)
      .sort((a, b) => a - b);
    line('queues', { queueIds: held });
  });

  consumer.subscribe(args.topic, args.expr, async msg => {
    if (finished) return;
    line('received', {
      msgId: msg.msgId,
      uniqKey: msg.properties ? msg.properties.UNIQ_KEY || null : null,
      topic: msg.topic,
      brokerName: msg.brokerName || null,
      queueId: msg.queueId,
      queueOffset: Number(msg.queueOffset),
      tags: msg.tags || null,
      keys: msg.keys || null,
      body: msg.body ? msg.body.toString() : null,
      reconsumeTimes: msg.reconsumeTimes,
    });
    received += 1;
    if (count > 0 && received >= count) {
      setImmediate(() => finish(true));
    }
  });
  await consumer.ready();
  line('started', {
    client: 'node', role: 'consumer', group: args.group || 'interop_cg', orderly: args.orderly,
    accessKey: args['access-key'] || null,
  });
}

main().catch(err => {
  line('error', { stage: 'start', index: null, error: errorText(err) });
  line('done', { ok: false, received: 0 });
  exit(1);
});
