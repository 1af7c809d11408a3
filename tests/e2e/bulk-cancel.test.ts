// keel cancel --branch / --queued / --all: a flood of queued
// builds cancelled in one command, with a count to confirm (or --yes); a
// running build is left alone by --queued.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { world } from '../helpers/e2e.js';
import { git } from '../helpers/git-repo.js';
import { manyCommits } from '../helpers/many-commits.js';

test('a flood of 500 queued builds of a branch cancelled at once; --queued leaves the running one, which passes', async (t) => {
  const w = world(t);
  const running = w.push({ 'tests/block.sh': w.scripts.blocking('block') }, 'blocks until released');
  w.cloneFor();
  const d = await w.dispatcher();
  await w.runner('r1', d);
  const observer = w.observer(d);
  await w.scripts.started('block');
  // Every one of them holds tests/block.sh from the tree: they queue behind the running build.
  const flood = manyCommits(w.work, 500);
  git(w.work, 'push', '-q', 'origin', 'main');
  await observer.delivered(flood.at(-1)!);
  assert.equal((await d.status()).queued, 500);

  const asked = await d.keel('cancel', '--queued');
  assert.equal(asked.code, 2, 'no terminal to confirm on, and no --yes');
  assert.match(asked.stderr, /^keel: this would cancel 500 queued builds \([0-9a-f]{12}, [0-9a-f]{12}, [0-9a-f]{12}, …\): give --yes to do it without being asked\n$/);
  assert.equal((await d.status()).queued, 500, 'nothing was cancelled');

  const started = Date.now();
  const cancelled = await d.keel('cancel', '--queued', '--branch', 'main', '--yes');
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.equal(cancelled.stdout, 'cancelled 500 queued builds of main\n');
  t.diagnostic(`cancelled 500 builds in ${Date.now() - started} ms`);
  const after = await d.status();
  assert.equal(after.queued, 0);
  assert.equal(after.builds.find((b) => b.commit === running)?.status, 'running', 'the running build was not cancelled');
  const none = await d.keel('cancel', '--queued', '--yes');
  assert.equal(none.code, 1);
  assert.equal(none.stdout, 'no queued builds to cancel\n');

  w.scripts.release();
  assert.equal((await w.result(running)).status, 'passed');
  const record = await w.result(flood[250]!);
  assert.equal(record.status, 'cancelled');
  assert.equal(w.scripts.runs('block').length, 1, 'none of the flood ran');
});

test('keel cancel --all asks on a terminal and cancels what is there once confirmed; bad combinations are refused', async (t) => {
  const w = world(t);
  const first = w.push({ 'tests/ok.sh': '#!/bin/sh\necho ok\n' }, 'first');
  w.cloneFor();
  const d = await w.dispatcher();
  const observer = w.observer(d);
  await observer.delivered(first);
  const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  // A terminal for the question, as `script` gives one; the answer is typed on it.
  const command = `'${process.execPath}' '${cli}' cancel --all --dispatcher ${d.address}`;
  if (!existsSync('/usr/bin/script')) return t.skip('no script(1) to give the command a terminal');
  const out = execFileSync('script', ['-qec', command, '/dev/null'], { input: 'y\n', encoding: 'utf8', env: { ...process.env, KEEL_TOKEN: '' } });
  assert.match(out, /cancel 1 unfinished build \([0-9a-f]{12}\)\? \[y\/N\]/);
  assert.match(out, /cancelled 1 unfinished build\r?\n/);
  assert.equal((await w.result(first)).status, 'cancelled');
  assert.ok(readdirSync(w.results).includes(first));

  const both = await d.keel('cancel', '--all', '--branch', 'main');
  assert.equal(both.code, 2);
  const shaToo = await d.keel('cancel', first, '--all');
  assert.equal(shaToo.code, 2);
  const yesAlone = await d.keel('cancel', first, '--yes');
  assert.equal(yesAlone.code, 2);
});
