import { strict as assert } from 'node:assert';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CappedLog, TAIL_BYTES } from '../../src/dispatcher/capped-log.js';
import { tempDir } from '../helpers/temp.js';

test('a log under the cap is written whole', async (t) => {
  const path = join(tempDir(t), 'x.log');
  const log = new CappedLog(path, 2 * TAIL_BYTES);
  log.append('one\n');
  log.append('two: with a colon\n');
  await log.close();
  assert.equal(readFileSync(path, 'utf8'), 'one\ntwo: with a colon\n');
});

test('past the cap the head and the last MiB are kept, with what was dropped between', async (t) => {
  const path = join(tempDir(t), 'x.log');
  const head = TAIL_BYTES / 2;
  const log = new CappedLog(path, head + TAIL_BYTES);
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
