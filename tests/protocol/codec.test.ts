import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { decode, encode } from '../../src/protocol/codec.js';
import { MAX_OUTPUT_CHUNK } from '../../src/protocol/messages.js';
import { ALL_TYPES, NASTY, SHA1, fixtures, sample } from './fixtures.js';

test('the fixtures cover every message type', () => {
  const covered = new Set(fixtures.map((f) => f.message.type));
  assert.deepEqual([...covered].sort(), Object.keys(ALL_TYPES).sort());
});

for (const { name, message } of fixtures) {
  test(`round-trips ${name}`, () => {
    const line = encode(message);
    assert.ok(line.endsWith('\n'), 'encoded line ends with a newline');
    assert.deepEqual(decode(line.slice(0, -1)), message);
  });

  test(`round-trips ${name} from UTF-8 bytes`, () => {
    const bytes = Buffer.from(encode(message), 'utf8');
    assert.deepEqual(decode(bytes.subarray(0, -1)), message);
  });

  test(`encodes ${name} as exactly one line`, () => {
    const bytes = Buffer.from(encode(message), 'utf8');
    assert.equal(bytes.indexOf(0x0a), bytes.length - 1, 'the only LF is the last byte');
    assert.equal(bytes.indexOf(0x0d), -1, 'no CR anywhere');
  });
}

test('free text with newlines, U+2028, quotes, emoji and lone surrogates survives encoding', () => {
  const message = { type: 'output', lease: 'l', stream: 'stdout', data: NASTY } as const;
  const line = encode(message);
  assert.equal(line.indexOf('\n'), line.length - 1);
  // Lone surrogates must be escaped, or the UTF-8 bytes would carry U+FFFD instead.
  assert.ok(line.includes('\\ud800') && line.includes('\\udc00'));
  const decoded = decode(Buffer.from(line.slice(0, -1), 'utf8'));
  assert.equal(decoded.type === 'output' && decoded.data, NASTY);
});

test('decode ignores unknown fields, so peers can add optional ones', () => {
  assert.deepEqual(decode('{"type":"ping","seq":7,"extra":{"a":1}}'), { type: 'ping', seq: 7 });
  const result = { ...sample('result') } as Record<string, unknown>;
  result.outcome = { ...(result.outcome as object), future: true };
  assert.deepEqual(decode(JSON.stringify(result)), sample('result'));
});

test('decode accepts insignificant JSON whitespace and any key order', () => {
  assert.deepEqual(decode(' { "seq" : 3 , "type" : "pong" } '), { type: 'pong', seq: 3 });
});

test('decode accepts values at their limits', () => {
  const limits = [
    { type: 'output', lease: 'x'.repeat(64), stream: 'stderr', data: 'd'.repeat(MAX_OUTPUT_CHUNK) },
    { type: 'register', name: `a${'b'.repeat(63)}`, slots: 1, labels: Array.from({ length: 32 }, (_, i) => `l${i}`), leases: Array.from({ length: 1024 }, (_, i) => `lease${i}`) },
    { type: 'register', name: 'r', slots: 256, labels: [], leases: [] },
    { ...sample('job'), attempt: 1000, timeoutMs: 0 },
    { type: 'hello', version: 1, role: 'client', name: 'n'.repeat(256) },
    { type: 'ping', seq: Number.MAX_SAFE_INTEGER },
    { type: 'result', lease: 'l', outcome: { ...sample('result').outcome, exitCode: -255 } },
    { type: 'result', lease: 'l', outcome: { ...sample('result').outcome, exitCode: 255 } },
    { type: 'query', commit: SHA1, project: null },
    // A whole piece of an artifact file: 512 KiB, two thirds of a megabyte of base64, within the line limit.
    { type: 'artifact', lease: 'L', path: `${'d/'.repeat(100)}f`, size: 1024 * 1024, offset: 512 * 1024, data: Buffer.alloc(512 * 1024, 7).toString('base64') },
  ];
  for (const message of limits) {
    assert.deepEqual(decode(JSON.stringify(message)), message, JSON.stringify(message).slice(0, 100));
  }
});

test('decode returns a fresh object with the type first', () => {
  const decoded = decode('{"seq":1,"type":"ping"}');
  assert.deepEqual(Object.keys(decoded), ['type', 'seq']);
});

test('an outcome written before `cancelled` existed reads as not cancelled', () => {
  const old = { ...sample('result').outcome } as Record<string, unknown>;
  delete old.cancelled;
  const decoded = decode(JSON.stringify({ type: 'result', lease: 'l', outcome: old }));
  assert.equal(decoded.type === 'result' && decoded.outcome.cancelled, false);
});
