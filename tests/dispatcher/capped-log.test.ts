import { strict as assert } from 'node:assert';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CappedLog, TAIL_BYTES } from '../../src/dispatcher/capped-log.js';
import { HeldBytes } from '../../src/dispatcher/file-appender.js';

const held = () => new HeldBytes(64 * 1024 * 1024, 8 * 1024 * 1024);
import { tempDir } from '../helpers/temp.js';

test('a log under the cap is written whole', async (t) => {
  const path = join(tempDir(t), 'x.log');
  const log = new CappedLog(path, 2 * TAIL_BYTES, 1024, held());
  log.append('one\n');
  log.append('two: with a colon\n');
  const end = await log.close();
  assert.equal(readFileSync(path, 'utf8'), 'one\ntwo: with a colon\n');
  assert.deepEqual(end, { tail: { bytes: Buffer.from('one\ntwo: with a colon\n'), omitted: 0 }, lost: [] }, 'a short log is its own end');
});

test('the end a log returns is the end of its file, with the bytes before it counted', async (t) => {
  const path = join(tempDir(t), 'x.log');
  const head = TAIL_BYTES / 4;
  const log = new CappedLog(path, head + TAIL_BYTES, 1000, held());
  for (let i = 0; i < 40_000; i++) log.append(`output line ${i}\n`);
  const end = await log.close();
  const file = readFileSync(path);
  assert.ok(end.tail, 'a log this dispatcher started knows its end');
  assert.equal(end.tail.bytes.length, 1000);
  assert.deepEqual(end.tail.bytes, file.subarray(file.length - 1000));
  assert.equal(end.tail.omitted, file.length - 1000);
});

test('a log that was already on disk (a restart) does not claim to know its end', async (t) => {
  const path = join(tempDir(t), 'x.log');
  writeFileSync(path, '=== attempt 1 before the restart ===\n');
  const log = new CappedLog(path, 2 * TAIL_BYTES, 1024, held());
  log.append('after\n');
  assert.deepEqual(await log.close(), { tail: null, lost: [] });
  assert.equal(readFileSync(path, 'utf8'), '=== attempt 1 before the restart ===\nafter\n');
});

test('past the cap the head and the last MiB are kept, with what was dropped between', async (t) => {
  const path = join(tempDir(t), 'x.log');
  const head = TAIL_BYTES / 2;
  const log = new CappedLog(path, head + TAIL_BYTES, 1024, held());
  const line = (i: number) => `line ${String(i).padStart(7, '0')} ${'x'.repeat(50)}\n`;
  let total = 0;
  let i = 0;
  while (total < 4 * TAIL_BYTES) {
    const text = line(i++);
    log.append(text);
    total += Buffer.byteLength(text);
  }
  await log.close();
  const text = readFileSync(path, 'utf8');
  assert.ok(text.startsWith(line(0)), 'the first output is kept');
  assert.ok(text.endsWith(line(i - 1)), 'the last output is kept');
  const match = /\[keel: (\d+) bytes of output dropped here: the log keeps the first (\d+) and the last (\d+) bytes/.exec(text);
  assert.ok(match, 'the log says what was dropped');
  assert.equal(Number(match[2]), head);
  assert.equal(Number(match[3]), TAIL_BYTES);
  assert.equal(Number(match[1]) + head + TAIL_BYTES, total, 'kept + dropped = everything');
  assert.ok(statSync(path).size < head + TAIL_BYTES + 200);
});
