import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { CursorError, cursorPath, parseCursor, readCursor, writeCursor, type Cursor } from '../../src/observer/cursor.js';
import { tempDir } from '../helpers/temp.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

test('cursor files are named per clone, so observers can share a state folder', () => {
  const one = cursorPath('/state', '/repos/one');
  assert.match(basename(one), /^observer-[0-9a-f]{12}\.json$/);
  assert.equal(one, cursorPath('/state', '/repos/one'));
  assert.notEqual(one, cursorPath('/state', '/repos/two'));
  assert.equal(join('/state', basename(one)), one);
});

test('a missing cursor file means the first run', async (t) => {
  assert.equal(await readCursor(join(tempDir(t), 'observer-x.json')), null);
});

test('a cursor survives a write and a read, and the folder is made if needed', async (t) => {
  const path = join(tempDir(t), 'nested', 'observer-x.json');
  const cursor: Cursor = {
    branches: new Map([['main', A], ['feature/x', B]]),
    pending: [{ commit: B, ref: 'refs/heads/feature/x' }],
  };
  await writeCursor(path, cursor);
  assert.deepEqual(await readCursor(path), cursor);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
    version: 1,
    branches: { 'feature/x': B, main: A },
    pending: [{ commit: B, ref: 'refs/heads/feature/x' }],
  });
  assert.deepEqual(readdirSync(join(path, '..')), ['observer-x.json'], 'no temp files left behind');
});

test('a corrupt cursor file is an error naming the file, never a silent restart', async (t) => {
  const dir = tempDir(t);
  const bad: Array<[string, RegExp]> = [
    ['', /JSON/],
    ['{"version":1,"branches":', /JSON/],
    ['[]', /not a JSON object/],
    ['{"version":2,"branches":{},"pending":[]}', /version must be 1/],
    ['{"version":1,"branches":[],"pending":[]}', /"branches" must be an object/],
    [`{"version":1,"branches":{"main":"${A.slice(1)}"},"pending":[]}`, /bad commit id/],
    [`{"version":1,"branches":{"a..b":"${A}"},"pending":[]}`, /bad branch name/],
    [`{"version":1,"branches":{"main":"${A}"}}`, /"pending" must be an array/],
    [`{"version":1,"branches":{},"pending":[{"commit":"${A}","ref":"main"}]}`, /bad pending entry/],
    [`{"version":1,"branches":{},"pending":[{"commit":"--all","ref":"refs/heads/main"}]}`, /bad pending entry/],
  ];
  for (const [text, reason] of bad) {
    const path = join(dir, 'observer-bad.json');
    writeFileSync(path, text);
    await assert.rejects(readCursor(path), (error: Error) => {
      assert.ok(error instanceof CursorError, `${text}: ${error}`);
      assert.match(error.message, new RegExp(`cursor file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt`));
      assert.match(error.message, reason, text);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  }
});

test('parseCursor accepts what formatting produces for an empty cursor', () => {
  assert.deepEqual(parseCursor('{"version":1,"branches":{},"pending":[]}'), { branches: new Map(), pending: [] });
});
