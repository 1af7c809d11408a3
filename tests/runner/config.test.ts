import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ConfigError } from '../../src/common/errors.js';
import { LIMITS } from '../../src/protocol/limits.js';
import { parseRunnerConfig, RUNNER_USAGE } from '../../src/runner/config.js';

test('--drain-grace defaults to 60 s, takes fractions and 0, and is documented', () => {
  assert.equal(parseRunnerConfig([]).drainGraceMs, 60_000);
  assert.equal(parseRunnerConfig(['--drain-grace', '0.5']).drainGraceMs, 500);
  assert.equal(parseRunnerConfig(['--drain-grace', '0']).drainGraceMs, 0);
  assert.match(RUNNER_USAGE, /--drain-grace SECONDS .*\(default 60\)/s);
  assert.ok(Object.isFrozen(parseRunnerConfig([])));
});

test('a bad --drain-grace names the flag and the value', () => {
  for (const value of ['-1', 'soon', '1e3', '700000']) {
    assert.throws(() => parseRunnerConfig([`--drain-grace=${value}`]), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`^--drain-grace must be a number of seconds from 0 to \\d+, got "${value}"$`));
      return true;
    });
  }
});

test('--slots and --labels stop where the protocol does, so the dispatcher never refuses the register', () => {
  assert.equal(parseRunnerConfig(['--slots', String(LIMITS.slots)]).slots, LIMITS.slots);
  assert.throws(() => parseRunnerConfig(['--slots', String(LIMITS.slots + 1)]), /^ConfigError: --slots must be a whole number from 1 to 256/);
  const labels = (n: number) => Array.from({ length: n }, (_, i) => `l${i}`).join(',');
  assert.equal(parseRunnerConfig(['--labels', labels(LIMITS.labels)]).labels.length, LIMITS.labels);
  assert.throws(() => parseRunnerConfig(['--labels', labels(LIMITS.labels + 1)]), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, `--labels takes at most ${LIMITS.labels} labels, got ${LIMITS.labels + 1}`);
    return true;
  });
});

test('what tests inherit and what git runs with come from the env given at start, read once', () => {
  const env = { PATH: '/opt/bin:/usr/bin', HOME: '/home/r', KEEL_TOKEN: 'a-secret-of-32-characters-at-least', GIT_DIR: '/elsewhere', NODE_OPTIONS: '--require x' };
  const config = parseRunnerConfig([], env);
  assert.deepEqual(config.testEnv, { PATH: '/opt/bin:/usr/bin', HOME: '/home/r' });
  assert.ok(Object.isFrozen(config.testEnv));
  assert.equal(config.git.env.PATH, '/opt/bin:/usr/bin');
  assert.equal(config.git.env.GIT_DIR, undefined);
  assert.equal(config.git.env.KEEL_TOKEN, undefined);
  env.PATH = '/changed';
  assert.equal(config.testEnv.PATH, '/opt/bin:/usr/bin', 'a copy, not the live env');
});
