import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { inheritedEnv, jobEnv, testEnv } from '../../src/runner/test-env.js';

const BASE: NodeJS.ProcessEnv = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/keel',
  USER: 'keel',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  LC_CTYPE: 'en_GB.UTF-8',
  TZ: 'UTC',
  KEEL_TOKEN: 'secret-token',
  NODE_OPTIONS: '--require /tmp/evil.js',
  AWS_SECRET_ACCESS_KEY: 'also-secret',
  GIT_DIR: '/somewhere/else',
  CI: 'false',
};

test('keeps only allow-listed variables and locale settings', () => {
  const env = testEnv(BASE, {});
  assert.deepEqual(env, {
    PATH: '/usr/bin:/bin',
    HOME: '/home/keel',
    USER: 'keel',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    LC_CTYPE: 'en_GB.UTF-8',
    TZ: 'UTC',
    CI: 'true',
    KEEL: '1',
  });
});

test('secrets, NODE_OPTIONS and GIT_* never come out', () => {
  const env = testEnv(BASE, { KEEL_COMMIT: 'a'.repeat(40) });
  for (const name of ['KEEL_TOKEN', 'NODE_OPTIONS', 'AWS_SECRET_ACCESS_KEY', 'GIT_DIR']) {
    assert.equal(env[name], undefined, name);
  }
  assert.ok(!Object.values(env).includes('secret-token'));
});

test('extra variables are added last and win', () => {
  const env = testEnv(BASE, { KEEL_COMMIT: 'abc', KEEL_REF: 'main', CI: 'keel' });
  assert.equal(env.KEEL_COMMIT, 'abc');
  assert.equal(env.KEEL_REF, 'main');
  assert.equal(env.CI, 'keel');
});

test('does not modify the base environment', () => {
  const base = { ...BASE };
  testEnv(base, { KEEL_COMMIT: 'abc' });
  assert.deepEqual(base, BASE);
});

test("a job's env: KEEL_*, PATH and HOME are the runner's and are set aside", () => {
  const { kept, ignored } = jobEnv({ FLAVOUR: 'x', KEEL_TOKEN: 'no', KEEL_COMMIT: 'fake', PATH: '/nope', HOME: '/tmp', KEEL: '0', NODE_ENV: 'test' });
  assert.deepEqual(kept, { FLAVOUR: 'x', KEEL: '0', NODE_ENV: 'test' });
  assert.deepEqual(ignored, ['KEEL_TOKEN', 'KEEL_COMMIT', 'PATH', 'HOME']);
  assert.deepEqual(jobEnv({}), { kept: {}, ignored: [] });
});

test('KEEL_JOB_ID is the runner\'s: a job cannot set it, and the runner\'s own never leaks into a test', () => {
  assert.deepEqual(jobEnv({ KEEL_JOB_ID: 'chosen' }), { kept: {}, ignored: ['KEEL_JOB_ID'] });
  const env = testEnv({ ...BASE, KEEL_JOB_ID: 'the-runner-was-itself-a-job' }, { KEEL_JOB_ID: 'lease.1.abc' });
  assert.equal(env.KEEL_JOB_ID, 'lease.1.abc');
  assert.equal(inheritedEnv({ KEEL_JOB_ID: 'outer', PATH: '/bin' }).KEEL_JOB_ID, undefined);
});
