'use strict';
// Argument parsing and the JSON-lines report shared by the ali-ons drivers. The report has the
// same events as the Rust and Python drivers: started, sent, received, error, done.

const { parseArgs } = require('node:util');

function options(extra) {
  const { values } = parseArgs({
    options: {
      namesrv: { type: 'string' },
      topic: { type: 'string' },
      group: { type: 'string' },
      count: { type: 'string' },
      tags: { type: 'string', default: 'TagA' },
      'key-prefix': { type: 'string', default: 'key-' },
      'body-prefix': { type: 'string', default: 'body-' },
      seconds: { type: 'string', default: '30' },
      // The account every request is signed as, for a broker that checks the plain ACL.
      'access-key': { type: 'string' },
      'secret-key': { type: 'string' },
      ...extra,
    },
  });
  for (const required of ['namesrv', 'topic']) {
    if (!values[required]) {
      throw new Error(`--${required} is required`);
    }
  }
  if (!values['access-key'] !== !values['secret-key']) {
    throw new Error('--access-key and --secret-key go together');
  }
  return values;
}

// Message bodies of a given size (--body-sizes): the body's text, then FILLER repeated and cut
// to the size; a size of 0 leaves the text alone. The same rule in every driver and the tests.
const FILLER = '0123456789abcdefghijklmnopqrstuvwxyz';

function paddedBody(text, size) {
  if (!size || size <= text.length) return text;
  const fill = FILLER.repeat(Math.ceil((size - text.length) / FILLER.length));
  return text + fill.slice(0, size - text.length);
}

function line(event, fields) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
}

// ali-ons logs warnings and errors to the console; keep stdout for the report alone.
const logger = {
  info() {},
  debug() {},
  warn(...args) {
    console.error('[ali-ons warn]', ...args);
  },
  error(...args) {
    console.error('[ali-ons error]', ...args);
  },
};

// ali-ons asserts that an HTTP client is present even when `nameSrv` makes it unnecessary:
// it only fetches the NameServer list over HTTP when no `nameSrv` is given.
const httpclient = {
  async request(url) {
    throw new Error(`unexpected HTTP request to ${url}: nameSrv is set`);
  },
};

function clientOptions(values, role) {
  const options = {
    nameSrv: values.namesrv.split(';'),
    httpclient,
    logger,
    // The default instance name is shared by every consumer on a host, which makes two
    // consumer processes look like one client to the broker.
    instanceName: `node-${role}-${process.pid}`,
  };
  // ali-ons signs every request when both are set (its Channel's beforeRequest): AccessKey,
  // OnsChannel (always ALIYUN) and a Signature, the Base64 HMAC-SHA1 of the header's values
  // sorted by key, then the body. Without them it sends no AccessKey at all.
  if (values['access-key']) {
    options.accessKeyId = values['access-key'];
    options.accessKeySecret = values['secret-key'];
  }
  return options;
}

// Ends the process once stdout has taken every line: writes to a pipe are asynchronous, and
// process.exit() alone drops what a long line (a 4 MiB body) left queued.
function exit(code) {
  process.stdout.write('', () => process.exit(code));
}

function errorText(err) {
  return err && err.stack ? String(err.message) : String(err);
}

module.exports = { options, line, clientOptions, errorText, exit, paddedBody };
