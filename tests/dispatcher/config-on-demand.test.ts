// The dispatcher's flags for secrets and runners on demand, and the
// runner's --once: defaults, and one clear line for each bad value, before
// anything starts.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDispatcherConfig } from '../../src/dispatcher/config.js';
import { parseRunnerConfig } from '../../src/runner/config.js';
import { runEntry } from '../helpers/e2e.js';
import { tempDir } from '../helpers/temp.js';

const parse = (...flags: string[]) => parseDispatcherConfig(flags, { KEEL_TOKEN: 'x'.repeat(40), KEEL_OTHER: 'y', PATH: '/bin' });

test('runners on demand: off by default; defaults of 10 s, 300 s, 4 and 120 s; the commands get no KEEL_* of the dispatcher', () => {
  assert.equal(parse().scaling, null);
  const scaling = parse('--runner-start', 'docker run keel-runner', '--runner-stop', 'docker stop "$KEEL_RUNNER_NAME"')!.scaling!;
  assert.deepEqual({ ...scaling, env: undefined }, {
    startCommand: 'docker run keel-runner', stopCommand: 'docker stop "$KEEL_RUNNER_NAME"',
    scaleAfterMs: 10_000, idleStopMs: 300_000, maxStarted: 4, startDeadlineMs: 120_000, env: undefined,
  });
  assert.deepEqual(scaling.env, { PATH: '/bin' });
  const tuned = parse('--runner-start', 'x', '--scale-after', '0.5', '--idle-stop', '2', '--max-started', '10', '--start-deadline', '30').scaling!;
  assert.deepEqual([tuned.scaleAfterMs, tuned.idleStopMs, tuned.maxStarted, tuned.startDeadlineMs], [500, 2000, 10, 30_000]);
  assert.throws(() => parse('--runner-stop', 'x'), /--runner-stop needs --runner-start/);
  assert.throws(() => parse('--runner-start', ' '), /--runner-start must be a command/);
  assert.throws(() => parse('--runner-start', 'x', '--max-started', '0'), /--max-started must be a whole number from 1 to 1000, got "0"/);
  assert.throws(() => parse('--runner-start', 'x', '--scale-after', 'soon'), /--scale-after must be a number of seconds/);
});

test('secrets: none by default; --protected globs; a file others may read is refused', (t) => {
  assert.equal(parse().secrets, null);
  const dir = tempDir(t, 'keel-secrets-flags-');
  const file = join(dir, 'secrets');
  writeFileSync(file, 'DEPLOY_TOKEN=abcdefgh\n', { mode: 0o600 });
  const store = parse('--secrets', file, '--protected', 'main,release/*').secrets!;
  assert.deepEqual([...store.values.keys()], ['DEPLOY_TOKEN']);
  assert.deepEqual(store.protectedBranches, ['main', 'release/*']);
  assert.throws(() => parse('--secrets', file, '--protected', 'main,,x'), /--protected must be a comma-separated list/);
  assert.equal(parse('--insecure').insecure, true);
});

test('a dispatcher given a secrets file others may read stops before it starts, with one line', async (t) => {
  const dir = tempDir(t, 'keel-secrets-start-');
  const file = join(dir, 'secrets');
  writeFileSync(file, 'DEPLOY_TOKEN=abcdefgh\n', { mode: 0o644 });
  const started = await runEntry('dispatcher/main.js', ['--port', '0', '--state', join(dir, 'state'), '--results', join(dir, 'results'), '--secrets', file]);
  assert.equal(started.code, 2);
  assert.match(started.stderr, /^keel: --secrets .* may be read by others \(mode 0644\): make it the dispatcher's alone \(chmod 600\)\n$/);
});

test('keel runner --once takes one slot', () => {
  assert.equal(parseRunnerConfig([]).once, false);
  assert.equal(parseRunnerConfig(['--once']).once, true);
  assert.throws(() => parseRunnerConfig(['--once', '--slots', '2']), /--once takes one job: --slots must be 1, got "2"/);
});
