#!/usr/bin/env node
/**
 * A reference client of waymark's exec-persistent protocol in Node, no dependencies: one JSON
 * request per line on stdin, one JSON response per line on stdout (see sha256_client.py and the
 * README's "Persistent processes"). Exits at stdin EOF.
 *
 * Run as a program it hashes each item (SHA-256 of its text). Required as a module, `serve(handle)`
 * runs any `async (item, request) => result` this way; a handler's throw is that item's failure,
 * retryable unless the error has `retryable: false`.
 */
'use strict';
const { createHash } = require('node:crypto');
const readline = require('node:readline');

async function respond(handle, request) {
  try {
    return { result: await handle(request.item, request) };
  } catch (err) {
    return {
      error: { message: String(err && err.message), type: (err && err.type) || 'error', retryable: !(err && err.retryable === false) },
    };
  }
}

function serve(handle) {
  // One line at a time: the next request is read only once this one is answered.
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  (async () => {
    for await (const line of lines) {
      const request = JSON.parse(line);
      const response = Array.isArray(request.items)
        ? { outcomes: await Promise.all(request.items.map((r) => respond(handle, r))) }
        : await respond(handle, request);
      process.stdout.write(`${JSON.stringify(response)}\n`);
    }
  })();
}

function sha256(item) {
  return createHash('sha256')
    .update(typeof item === 'string' ? item : JSON.stringify(item))
    .digest('hex');
}

module.exports = { serve, sha256 };
if (require.main === module) serve(async (item) => sha256(item));
