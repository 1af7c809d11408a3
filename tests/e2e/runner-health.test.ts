// A runner that fails for its own reasons: git's message shows in the
// record and the log, the next attempt goes to a healthy runner instead of
// burning every attempt on the broken one, and a runner that fails attempt
// after attempt is unhealthy for a while (in status, given no jobs). Its git
// is broken the way a runner's git can be: its user's ~/.gitconfig refuses
// bare repositories (safe.bareRepository=explicit), and its mirrors are bare.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world, type World } from '../helpers/e2e.js';

const PASSING = { 'tests/ok.sh': '#!/bin/sh\necho ok\n' };

/** An environment whose git refuses to work in the runner's bare mirrors. */
function brokenGit(w: World): NodeJS.ProcessEnv {
  const home = join(w.tmp, 'broken-home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, '.gitconfig'), '[safe]\n\tbareRepository = explicit\n');
  return { HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
}

test('a runner whose git fails shows git\'s own message, and the job\'s next attempt runs on the healthy runner', async (t) => {
  const w = world(t);
  const sha = w.push(PASSING, 'first');
  w.cloneFor();
  const d = await w.dispatcher();
  // More free slots: placement's first choice.
  await w.runner('broken', d, { slots: 2, env: brokenGit(w) });
  await w.runner('healthy', d);
  w.observer(d);
  const record = await w.result(sha);
  assert.equal(record.status, 'passed');
  const [first, second, ...rest] = record.jobs[0].attempts;
  assert.equal(rest.length, 0, 'two attempts, not three on the broken runner');
  assert.equal(first.runner, 'broken');
  assert.equal(first.infra, true);
  assert.match(first.message, /^fetch failed: git fetch failed: fatal: cannot use bare repository '.*' \(safe\.bareRepository is 'explicit'\)/);
  assert.equal(second.runner, 'healthy');
  assert.equal(second.status, 'passed');
  // Log kept: that an operator sees git's reason in the dispatcher's log is the point.
  assert.ok(d.lines.some((line) => line.includes('error on broken: fetch failed: git fetch failed: fatal: cannot use bare repository')), d.lines.join('\n'));
});

test('a runner failing attempt after attempt is unhealthy: shown in status, given no jobs, which wait for a healthy one', async (t) => {
  const w = world(t);
  const first = w.push(PASSING, 'first');
  w.cloneFor();
  const d = await w.dispatcher({ extra: ['--max-attempts', '1', '--unhealthy-after', '2', '--unhealthy-for', '3600'] });
  await w.runner('broken', d, { env: brokenGit(w) });
  const observer = w.observer(d);
  await observer.delivered(first);
  const shas = [w.push({ 'a.txt': 'a\n' }, 'a', { push: false }), w.push({ 'b.txt': 'b\n' }, 'b')];
  await observer.delivered(shas[1]!);
  assert.equal((await w.result(first)).status, 'error');
  assert.equal((await w.result(shas[0]!)).status, 'error');
  // The third waits: its only runner is unhealthy.
  const waiting = await w.until(async () => {
    const status = await d.status();
    const build = status.builds.find((b) => b.commit === shas[1]);
    return build?.status === 'queued' && /unhealthy/.test(build.note) ? status : null;
  }, 'the third build to wait for a healthy runner');
  const broken = waiting.runners.find((r) => r.name === 'broken')!;
  assert.match(broken.unhealthy ?? '', /^unhealthy until .* after infrastructure failures in a row \(last: fetch failed: git fetch failed: fatal: cannot use bare repository/);
  assert.equal(waiting.builds.find((b) => b.commit === shas[1])!.note, 'no runner free: 1 unhealthy');
  const shown = await d.keel('status');
  assert.match(shown.stdout, /runners: broken \(0\/1 busy, unhealthy until /);

  await w.runner('healthy', d);
  const record = await w.result(shas[1]!);
  assert.equal(record.status, 'passed');
  assert.deepEqual(record.jobs[0].attempts.map((a: { runner: string }) => a.runner), ['healthy']);
});
