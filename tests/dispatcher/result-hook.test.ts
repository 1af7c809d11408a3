// The --on-result hook (issue 15.3), in-process with real child processes:
// the environment it gets (the branch's previous verdict for "fixed" and
// "broken", the page, the result file already written), its output in the
// log, a failing hook logged and harmless, a hanging one killed at its
// timeout with everything it started, at most --on-result-jobs at once, and
// hooks not yet run kept through a restart.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { inProcess, outcomeOf } from '../helpers/in-process.js';
import { gone } from '../helpers/processes.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const SHA = ['1', '2', '3', '4'].map((c) => c.repeat(40));

function setup(t: TestContext, hook: string, extra: string[] = []) {
  const out = tempDir(t);
  const h = inProcess(t, {
    repo: '/srv/git/app.git',
    flags: ['--on-result', hook, '--public-url', 'https://ci.example', ...extra],
    // KEEL_* of the dispatcher's own environment are not the hook's (KEEL_TOKEN, its secret, is one).
    env: { PATH: process.env.PATH, OUT: out, KEEL_LEFT_OUT: 'not for the hook' },
  });
  return { h, out };
}

/** KEEL_* lines the hook wrote for a build, as an object. */
function envOf(out: string, name: string): Record<string, string> {
  return Object.fromEntries(readFileSync(join(out, name), 'utf8').trim().split('\n').map((line) => {
    const eq = line.indexOf('=');
    return [line.slice(0, eq), line.slice(eq + 1)];
  }));
}

test('the hook gets the build in KEEL_* variables, the branch\'s previous verdict, and its result file already written', async (t) => {
  const hook = 'cp "$KEEL_RESULT_JSON" "$OUT/$KEEL_COMMIT.json"; env | grep "^KEEL_" | sort > "$OUT/$KEEL_COMMIT.tmp"; mv "$OUT/$KEEL_COMMIT.tmp" "$OUT/$KEEL_COMMIT.env"; echo "hook says hello"';
  const { h, out } = setup(t, hook);
  await h.start();
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.finish(runner, outcomeOf('failed'));
  // The branch's verdicts follow the order results are written.
  await h.result(SHA[0]!);
  await h.commit(SHA[1]!);
  await h.finish(runner);
  await waitFor(() => SHA.slice(0, 2).every((sha) => existsSync(join(out, `${sha}.env`))), 'both builds\' hooks');

  const broken = envOf(out, `${SHA[0]}.env`);
  assert.deepEqual(broken, {
    KEEL_COMMIT: SHA[0],
    KEEL_EVENT: 'finished',
    KEEL_PREVIOUS_STATUS: '',
    KEEL_PROJECT: '',
    KEEL_REF: 'refs/heads/main',
    KEEL_REQUEST: '',
    KEEL_RESULT_JSON: join(h.results, `${SHA[0]}.json`),
    KEEL_RUN: '1',
    KEEL_STATUS: 'failed',
    KEEL_SUBJECT: 'push',
    KEEL_SUMMARY: broken.KEEL_SUMMARY,
    KEEL_URL: `https://ci.example/builds/${SHA[0]}`,
  });
  assert.match(broken.KEEL_SUMMARY!, /^failed 0\/1 job, 12 tests, 2 failed/);
  const fixed = envOf(out, `${SHA[1]}.env`);
  assert.equal(fixed.KEEL_STATUS, 'passed');
  assert.equal(fixed.KEEL_PREVIOUS_STATUS, 'failed', 'the branch was broken before it: this one fixed it');
  assert.equal(JSON.parse(readFileSync(join(out, `${SHA[0]}.json`), 'utf8')).status, 'failed', 'the result file was there');
  // Log kept: the hook's output goes to the dispatcher's log, which is all that shows it.
  await waitFor(() => h.lines.filter((line) => line.endsWith(': hook says hello')).length === 2, 'the output in the log');
});

test('a hook that hangs is killed at its timeout, with what it started, and the dispatcher goes on', async (t) => {
  const hook = 'sleep 600 & echo $! > "$OUT/sleep.pid"; wait';
  const { h, out } = setup(t, hook, ['--on-result-timeout', '0.5']);
  await h.start();
  const runner = await h.runner('r1');
  await h.commit(SHA[1]!);
  await h.finish(runner);
  await h.result(SHA[1]!);
  const pid = Number(await waitFor(() => (existsSync(join(out, 'sleep.pid')) ? readFileSync(join(out, 'sleep.pid'), 'utf8').trim() : ''), 'the hook to start'));
  await waitFor(() => gone(pid), 'the hook\'s child killed at the timeout', 10_000);
  // Log kept: how a hook ended is said only in the log.
  await waitFor(() => h.lines.some((line) => /hook for 2{40} \(passed\) was killed after the timeout of 0\.5 s/.test(line)), 'the timeout logged');
  // The dispatcher goes on: the next build is built and written.
  await h.commit(SHA[2]!);
  await h.finish(runner);
  assert.equal((await h.result(SHA[2]!)).status, 'passed');
});

test('a hook that exits non-zero is logged with its code', async (t) => {
  const { h } = setup(t, 'echo "no mail server" >&2; exit 3');
  await h.start();
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.finish(runner);
  // Log kept: the hook's failure and output show only in the log.
  await waitFor(() => h.lines.some((line) => /hook for 1{40} \(passed\) failed: exit code 3/.test(line)), 'the failure logged');
  assert.ok(h.lines.some((line) => line.endsWith(': no mail server')));
});

test('at most --on-result-jobs hooks run at once; those not run yet are kept through a restart', async (t) => {
  const hook = 'touch "$OUT/started-$KEEL_COMMIT"; while [ ! -e "$OUT/release" ]; do sleep 0.05; done; touch "$OUT/done-$KEEL_COMMIT"';
  const { h, out } = setup(t, hook, ['--on-result-jobs', '2']);
  const count = (prefix: string) => readdirSync(out).filter((name) => name.startsWith(prefix)).length;
  await h.start();
  const runner = await h.runner('r1');
  for (const sha of SHA) {
    await h.commit(sha);
    await h.finish(runner);
    await h.result(sha);
  }
  await waitFor(() => count('started-') === 2, 'two hooks running');
  // Bounded look for a third: with four builds written, a third would start within this time if it could.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(count('started-'), 2);

  await h.stop();
  writeFileSync(join(out, 'release'), '');
  await h.start();
  await waitFor(() => count('done-') === 4, 'every hook run, after the restart');
  for (const sha of SHA) assert.ok(existsSync(join(out, `done-${sha}`)), sha);
});
