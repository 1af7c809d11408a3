import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { decode, encode } from '../../src/protocol/codec.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { LineSplitter, MAX_LINE_BYTES } from '../../src/protocol/line-splitter.js';
import { fixtures } from './fixtures.js';

const stream = Buffer.from(fixtures.map((f) => encode(f.message)).join(''), 'utf8');
const expected = fixtures.map((f) => encode(f.message).slice(0, -1));

function feed(splitter: LineSplitter, chunks: Buffer[]): string[] {
  return chunks.flatMap((chunk) => splitter.push(chunk)).map((line) => line.toString('utf8'));
}

function assertLineTooLong(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.code, 'line-too-long');
    return true;
  });
}

test('the fixture stream has multi-byte characters to split', () => {
  assert.ok(stream.includes(Buffer.from('\u{1f680}', 'utf8')));
});

test('the whole stream in one chunk yields every line', () => {
  const splitter = new LineSplitter();
  const lines = feed(splitter, [stream]);
  assert.deepEqual(lines, expected);
  assert.deepEqual(lines.map((line) => decode(line)), fixtures.map((f) => f.message));
  assert.equal(splitter.remainder, 0);
});

test('the stream split into two chunks at every byte offset yields the same lines', () => {
  for (let at = 0; at <= stream.length; at++) {
    const splitter = new LineSplitter();
    const lines = feed(splitter, [stream.subarray(0, at), stream.subarray(at)]);
    assert.deepEqual(lines, expected, `split at byte ${at}`);
    assert.equal(splitter.remainder, 0);
  }
});

test('the stream fed byte by byte yields the same lines', () => {
  const splitter = new LineSplitter();
  const chunks = Array.from(stream, (byte) => Buffer.from([byte]));
  assert.deepEqual(feed(splitter, chunks), expected);
  assert.equal(splitter.remainder, 0);
});

test('a multi-byte character split across chunks reassembles', () => {
  const text = '{"type":"output","lease":"l","stream":"stdout","data":"\u00e9\u20ac\u{1f680}"}';
  const bytes = Buffer.from(`${text}\n`, 'utf8');
  const emoji = bytes.indexOf(Buffer.from('\u{1f680}', 'utf8'));
  for (const at of [emoji + 1, emoji + 2, emoji + 3]) {
    const splitter = new LineSplitter();
    const first = splitter.push(bytes.subarray(0, at));
    assert.deepEqual(first, []);
    const [line] = splitter.push(bytes.subarray(at));
    assert.ok(line);
    assert.equal(line.toString('utf8'), text);
    assert.deepEqual(decode(line), { type: 'output', lease: 'l', stream: 'stdout', data: '\u00e9\u20ac\u{1f680}' });
  }
});

test('blank lines come out as empty lines (the connection skips them)', () => {
  const splitter = new LineSplitter();
  assert.deepEqual(feed(splitter, [Buffer.from('\n\na\n\n')]), ['', '', 'a', '']);
});

test('a line of exactly maxBytes passes', () => {
  const line = 'x'.repeat(16);
  assert.deepEqual(feed(new LineSplitter(16), [Buffer.from(`${line}\n`)]), [line]);
  assert.deepEqual(feed(new LineSplitter(16), Array.from(`${line}\n`, (c) => Buffer.from(c))), [line]);
  assert.deepEqual(feed(new LineSplitter(16), [Buffer.from(line.slice(0, 10)), Buffer.from(`${line.slice(10)}\n`)]), [line]);
  assert.deepEqual(feed(new LineSplitter(16), [Buffer.from(line), Buffer.from('\n')]), [line]);
});

test('the limit counts bytes, not characters', () => {
  const line = '\u20ac'.repeat(5); // 15 bytes
  assert.deepEqual(feed(new LineSplitter(15), [Buffer.from(`${line}\n`)]), [line]);
  assertLineTooLong(() => new LineSplitter(14).push(Buffer.from(`${line}\n`)));
});

test('a line of maxBytes + 1 arriving in one chunk throws line-too-long', () => {
  assertLineTooLong(() => new LineSplitter(16).push(Buffer.from(`${'x'.repeat(17)}\n`)));
  assertLineTooLong(() => new LineSplitter(16).push(Buffer.from('x'.repeat(17))));
  assertLineTooLong(() => new LineSplitter(16).push(Buffer.from(`ok\n${'x'.repeat(17)}\nok\n`)));
});

test('a line of maxBytes + 1 built up across small chunks throws without waiting for the newline', () => {
  const splitter = new LineSplitter(16);
  for (let i = 0; i < 16; i++) assert.deepEqual(splitter.push(Buffer.from('x')), []);
  assert.equal(splitter.remainder, 16);
  assertLineTooLong(() => splitter.push(Buffer.from('x')));
  assert.equal(splitter.remainder, 0);

  const pending = new LineSplitter(16);
  pending.push(Buffer.from('x'.repeat(10)));
  assertLineTooLong(() => pending.push(Buffer.from(`${'x'.repeat(7)}\n`)));
});

test('the default limit is 1 MiB', () => {
  assert.equal(MAX_LINE_BYTES, 1024 * 1024);
  const splitter = new LineSplitter();
  const [line] = splitter.push(Buffer.concat([Buffer.alloc(MAX_LINE_BYTES, 0x61), Buffer.from('\n')]));
  assert.equal(line?.length, MAX_LINE_BYTES);
  assertLineTooLong(() => new LineSplitter().push(Buffer.alloc(MAX_LINE_BYTES + 1, 0x61)));
});

test('a 10 MB chunk without a newline throws and is not buffered', () => {
  const splitter = new LineSplitter();
  splitter.push(Buffer.from('abc'));
  assertLineTooLong(() => splitter.push(Buffer.alloc(10 * 1000 * 1000, 0x61)));
  assert.equal(splitter.remainder, 0);
});

test('remainder reports the bytes after the last newline', () => {
  const splitter = new LineSplitter();
  assert.equal(splitter.remainder, 0);
  assert.deepEqual(feed(splitter, [Buffer.from('abc\nde')]), ['abc']);
  assert.equal(splitter.remainder, 2);
  assert.deepEqual(feed(splitter, [Buffer.from('\u20ac')]), []);
  assert.equal(splitter.remainder, 5);
  assert.deepEqual(feed(splitter, [Buffer.from('\n')]), ['de\u20ac']);
  assert.equal(splitter.remainder, 0);
  assert.deepEqual(feed(splitter, [Buffer.alloc(0)]), []);
  assert.equal(splitter.remainder, 0);
});
