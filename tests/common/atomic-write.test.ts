import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from '../../src/common/atomic-write.js';
import { Slots } from '../../src/common/slots.js';
import { tempDir } from '../helpers/temp.js';

test('writeFileAtomic writes, then replaces, a whole file and leaves no temp file behind', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'report');
  await writeFileAtomic(path, 'first\n');
  assert.equal(readFileSync(path, 'utf8'), 'first\n');
  const big = Buffer.alloc(3 * 1024 * 1024, 'x');
  await writeFileAtomic(path, big);
  assert.deepEqual(readFileSync(path), big);
  assert.equal(statSync(path).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(dir), ['report']);
});

test('writeFileAtomic fails clearly and leaves no temp file: a missing folder, a folder in the way', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'report'), 'x'), { code: 'ENOENT' });
  mkdirSync(join(dir, 'report'));
  writeFileSync(join(dir, 'report', 'inside'), 'kept');
  await assert.rejects(writeFileAtomic(join(dir, 'report'), 'x'), (error: NodeJS.ErrnoException) => ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(error.code ?? ''));
  assert.deepEqual(readdirSync(dir), ['report']);
  assert.equal(readFileSync(join(dir, 'report', 'inside'), 'utf8'), 'kept');
});

test('Slots runs at most its size at a time, in arrival order', async () => {
  const slots = new Slots(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, () => manual());
  const tasks = gates.map((gate, i) => slots.run(async () => {
    started.push(i);
    running += 1;
    most = Math.max(most, running);
    await gate.promise;
    running -= 1;
    return i;
  }));
  for (const gate of gates) {
    await new Promise((resolve) => setImmediate(resolve));
    gate.resolve(undefined);
  }
  assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
});

function manual(): { promise: Promise<unknown>; resolve: (value: unknown) => void } {
  let resolve!: (value: unknown) => void;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}
