// The demo beside a real dispatcher started from the same folder: the demo
// keeps everything under .keel-demo/, and a dispatcher refuses a state
// folder another live dispatcher holds (a stale lock is taken over). The
// demo stops everything it started when it cannot go on.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { connectObserver } from '../helpers/e2e-wire.js';
import { runKeel, spawnKeel } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

/** Processes whose command line mentions `text` (the demo's children name folders under its cwd). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  }).map(Number);
}

test('the demo beside a real dispatcher in the same folder leaves its journal and results alone; a second dispatcher on that state refuses to start', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/ok.sh': '#!/bin/sh\necho ok\n' }, 'real work');
  const cwd = tempDir(t, 'keel-demo-cwd-');
  // The defaults: ./.keel-state and ./test_results, as a dispatcher started from a checkout has.
  const real = spawnKeel(t, 'dispatcher/main.js', ['--port', '0', '--http-port', '0'], { cwd });
  const port = Number((await real.waitForLine(/listening on [^ ]*:(\d+)/))[1]);
  const observer = await connectObserver(t, port, { repo: w.central });
  await observer.report(sha);
  const journal = join(cwd, '.keel-state', 'dispatcher.journal');
  const before = readFileSync(journal, 'utf8');
  const resultsBefore = readdirSync(join(cwd, 'test_results'));

  const demo = await runKeel('cli/main.js', ['demo'], { cwd });
  assert.equal(demo.code, 0, demo.stderr);
  assert.equal(readFileSync(journal, 'utf8'), before, 'the real journal is untouched');
  assert.deepEqual(readdirSync(join(cwd, 'test_results')), resultsBefore, 'the real results folder is untouched');
  const demoResults = readdirSync(join(cwd, '.keel-demo', 'test_results')).filter((name) => /^[0-9a-f]{40}$/.test(name));
  assert.equal(demoResults.length, 2, 'the demo wrote its two reports under .keel-demo/');
  assert.equal(real.child.exitCode, null, 'the real dispatcher still runs');

  const second = await runKeel('dispatcher/main.js', ['--port', '0', '--http-port', '0'], { cwd });
  assert.equal(second.code, 2);
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, second.stderr);
  assert.match(lines[0]!, new RegExp(`^keel: cannot start the dispatcher .*: ${join(cwd, '.keel-state').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another dispatcher \\(pid ${real.child.pid}, since `));
  assert.equal(readFileSync(journal, 'utf8'), before, 'the refused dispatcher wrote nothing');

  // Once the holder is gone (killed: its lock stays behind), the lock is stale and taken over.
  real.child.kill('SIGKILL');
  await real.exited;
  assert.ok(existsSync(join(cwd, '.keel-state', 'dispatcher.lock')));
  const after = spawnKeel(t, 'dispatcher/main.js', ['--port', '0', '--http-port', '0'], { cwd });
  await after.waitForLine(/listening on /);
  assert.equal(after.count(new RegExp(`took over the stale lock of pid ${real.child.pid}`)), 1, after.lines.join('\n'));
  after.child.kill('SIGTERM');
  assert.equal((await after.exited).code, 0);
  assert.equal(existsSync(join(cwd, '.keel-state', 'dispatcher.lock')), false, 'a clean stop removes the lock');
});

test('a lock naming a pid that is another process now (a reused pid) is stale', async (t) => {
  const cwd = tempDir(t, 'keel-lock-');
  const state = join(cwd, 'state');
  const first = spawnKeel(t, 'dispatcher/main.js', ['--port', '0', '--http-port', '0', '--state', state, '--results', join(cwd, 'results')], { cwd });
  await first.waitForLine(/listening on /);
  first.child.kill('SIGKILL');
  await first.exited;
  // The lock now names this test's own process (alive) with another start time: a pid reused since.
  const lock = join(state, 'dispatcher.lock');
  const holder = JSON.parse(readFileSync(lock, 'utf8'));
  writeFileSync(lock, JSON.stringify({ ...holder, pid: process.pid }));
  const second = spawnKeel(t, 'dispatcher/main.js', ['--port', '0', '--http-port', '0', '--state', state, '--results', join(cwd, 'results')], { cwd });
  await second.waitForLine(/listening on /);
});

test('keel demo --repo with no such folder says so and starts nothing; with a folder that is no clone, it stops what it started', async (t) => {
  const cwd = tempDir(t, 'keel-demo-bad-');
  const missing = await runKeel('cli/main.js', ['demo', '--repo', join(cwd, 'nonexistent')], { cwd });
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^keel: --repo must be a git clone, got ".*nonexistent" \(no such folder\)\n$/);
  assert.equal(existsSync(join(cwd, '.keel-demo')), false, 'nothing was started');

  const plain = tempDir(t, 'keel-not-a-clone-');
  const notClone = await runKeel('cli/main.js', ['demo', '--repo', plain], { cwd });
  assert.equal(notClone.code, 2, notClone.stderr);
  assert.match(notClone.stderr, /keel: the demo's observer stopped: <clone> must be a git repository/);
  assert.deepEqual(processesMentioning(cwd), [], 'no dispatcher or runner of the demo is left running');

  const help = await runKeel('cli/main.js', ['demo', '--help'], { cwd });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: keel demo \[--stay \| --repo CLONE\]/);
});
