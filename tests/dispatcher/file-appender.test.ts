import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileAppender } from '../../src/dispatcher/file-appender.js';
import { tempDir } from '../helpers/temp.js';

test('appends keep their order, including those made while a write is out', async (t) => {
  const path = join(tempDir(t), 'x.log');
  const file = new FileAppender(path);
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
  const file = new FileAppender(path);
  file.append(Buffer.from('after\n'));
  await file.close();
  assert.equal(file.existed, true);
  assert.equal(readFileSync(path, 'utf8'), 'before\nafter\n');
});

test('a file that cannot be opened drops what it is given and still closes', async (t) => {
  const path = join(tempDir(t), 'no-such-folder', 'x.log');
  const file = new FileAppender(path);
  file.append(Buffer.from('lost\n'));
  await file.close();
  assert.equal(existsSync(path), false);
});
