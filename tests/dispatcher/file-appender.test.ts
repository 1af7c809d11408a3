import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileAppender, HeldBytes } from '../../src/dispatcher/file-appender.js';

const MIB = 1024 * 1024;
const roomy = () => new HeldBytes(64 * MIB, 8 * MIB);
import { tempDir } from '../helpers/temp.js';

test('appends keep their order, including those made while a write is out', async (t) => {
  const path = join(tempDir(t), 'x.log');
  const file = new FileAppender(path, roomy());
  const expected: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const line = `line ${i}${'.'.repeat(i % 50)}\n`;
    expected.push(line);
    file.append(Buffer.from(line));
    if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await file.close();
  assert.equal(readFileSync(path, 'utf8'), expected.join(''));
  assert.equal(file.existed, false);
});

test('a file that was already there is appended to, and says so', async (t) => {
  const path = join(tempDir(t), 'x.log');
  writeFileSync(path, 'before\n');
  const file = new FileAppender(path, roomy());
  file.append(Buffer.from('after\n'));
  await file.close();
  assert.equal(file.existed, true);
  assert.equal(readFileSync(path, 'utf8'), 'before\nafter\n');
});

test('a slow disk loses nothing: bytes past the budget wait while the disk takes them', async (t) => {
  const path = join(tempDir(t), 'x.log');
  const file = new FileAppender(path, new HeldBytes(64, 16));
  const chunks = Array.from({ length: 100 }, (_, i) => `chunk ${i} ${'.'.repeat(40)}\n`);
  for (const chunk of chunks) file.append(Buffer.from(chunk));
  await file.close();
  assert.equal(readFileSync(path, 'utf8'), chunks.join(''));
  assert.deepEqual(file.lost, []);
});

test('a file that cannot be opened keeps what it is given, and writes it all once it can', async (t) => {
  const folder = join(tempDir(t), 'not-yet');
  const path = join(folder, 'x.log');
  const budget = roomy();
  const file = new FileAppender(path, budget);
  file.append(Buffer.from('kept one\n'));
  file.append(Buffer.from('kept two\n'));
  await assert.rejects(file.close(), { code: 'ENOENT' }, 'a close while the disk refuses says so and keeps the bytes');
  assert.equal(existsSync(path), false);
  assert.equal(budget.used, 18, 'the bytes are held in memory meanwhile');
  file.append(Buffer.from('kept three\n'));
  mkdirSync(folder);
  await file.close();
  assert.equal(readFileSync(path, 'utf8'), 'kept one\nkept two\nkept three\n');
  assert.deepEqual(file.lost, []);
  assert.equal(budget.used, 0, 'nothing is held once written');
});

test('a stopped file tries no more: no retry is left waiting, and nothing reopens it', async (t) => {
  const folder = join(tempDir(t), 'not-yet');
  const path = join(folder, 'x.log');
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  const before = timers();
  const file = new FileAppender(path, roomy());
  file.append(Buffer.from('never written\n'));
  await assert.rejects(file.close(), { code: 'ENOENT' });
  assert.equal(timers(), before + 1, 'a retry waits while the disk refuses');
  file.stop();
  assert.equal(timers(), before, 'stopped: the retry is gone, so nothing holds a stopping process open');
  mkdirSync(folder);
  file.append(Buffer.from('after the stop\n'));
  await file.close().catch(() => {});
  assert.equal(existsSync(path), false, 'a stopped file is not opened again');
});

test('past its budget a refused file drops its oldest bytes and says which ranges were lost', async (t) => {
  const folder = join(tempDir(t), 'not-yet');
  const path = join(folder, 'x.log');
  const file = new FileAppender(path, new HeldBytes(64 * MIB, 25));
  file.append(Buffer.from('0123456789'));
  await assert.rejects(file.close(), 'the disk has refused once');
  for (const chunk of ['abcdefghij', 'ABCDEFGHIJ', 'klmnopqrst']) file.append(Buffer.from(chunk));
  mkdirSync(folder);
  await file.close();
  assert.equal(readFileSync(path, 'utf8'), 'ABCDEFGHIJklmnopqrst', 'the newest bytes are kept');
  assert.equal(file.lost.length, 1, 'neighbouring drops are one range');
  assert.equal(file.lost[0]!.from, 0);
  assert.equal(file.lost[0]!.to, 20);
  assert.match(file.lost[0]!.why, /ENOENT/);
});

test('appenders share one budget: what one holds leaves less room for the others', async (t) => {
  const root = tempDir(t);
  const budget = new HeldBytes(30, 30);
  const a = new FileAppender(join(root, 'a', 'x.log'), budget);
  const b = new FileAppender(join(root, 'b', 'x.log'), budget);
  a.append(Buffer.from('a'.repeat(20)));
  b.append(Buffer.from('b'.repeat(8)));
  await assert.rejects(a.close(), 'both disks have refused');
  await assert.rejects(b.close());
  b.append(Buffer.from('c'.repeat(8)));
  assert.ok(budget.used <= 30, `the shared budget holds (used ${budget.used})`);
  mkdirSync(join(root, 'a'));
  mkdirSync(join(root, 'b'));
  await a.close();
  await b.close();
  assert.equal(readFileSync(join(root, 'b', 'x.log'), 'utf8'), 'c'.repeat(8));
  assert.deepEqual(b.lost.map(({ from, to }) => [from, to]), [[0, 8]]);
});
