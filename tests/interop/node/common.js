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
      ...extra,
    },
  });
  for (const required of ['namesrv', 'topic']) {
    if (!values[required]) {
      throw new Error(`--${required} is required`);
    }
  }
  return values;
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
  return {
    nameSrv: values.namesrv.split(';'),
    httpclient,
    logger,
    // The default instance name is shared by every consumer on a host, which makes two
    // consumer processes look like one client to the broker.
    instanceName: `node-${role}-${process.pid}`,
  };
}

function errorText(err) {
  return err && err.stack ? String(err.message) : String(err);
}

module.exports = { options, line, clientOptions, errorText };
