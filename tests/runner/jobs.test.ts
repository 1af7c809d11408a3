// What a `job` asks for, end to end: the runner as a real process against a
// fake dispatcher over real TCP, real git repositories and real test
// processes. A job's own `run` and `env`, JUnit reports (declared, and the
// one the runner asks node --test for), `abort`, and infrastructure errors.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Output } from '../../src/protocol/messages.js';
import { FakeDispatcher } from './fake-dispatcher.js';
import { jobRepo, jobRepoOf, scriptPid, type JobRepo } from './job-repo.js';
import { runners, type StartRunner } from './runner-process.js';
import { gone } from '../helpers/processes.js';

async function connected(t: TestContext, start: StartRunner, repo: JobRepo, name: string, extra: string[] = []) {
  const fake = await FakeDispatcher.listen();
  t.after(() => fake.close());
  const runner = start(['--dispatcher', `127.0.0.1:${fake.port}`, '--workdir', repo.workdir, '--name', name, ...extra]);
  await fake.waitFor('register');
  return { fake, runner };
}

function stdoutOf(fake: FakeDispatcher, lease: string): string {
  return fake.all('output').filter((m: Output) => m.lease === lease && m.stream === 'stdout').map((m) => m.data).join('');
}


const JUNIT = `<?xml version="1.0"?>
<testsuites><testsuite name="s">
  <testcase classname="suite" name="good"/>
  <testcase classname="suite" name="bad &amp; wrong"><failure message="no"/></testcase>
  <testcase classname="suite" name="later"><skipped/></testcase>
</testsuite></testsuites>
`;

describe('runner jobs', { concurrency: true }, () => {
  test("a job's run argv replaces tests/, with its env added; KEEL_*, PATH and HOME stay the runner's", async (t) => {
    const start = runners(t);
    const repo = jobRepo(t, (files) => `touch '${join(files, 'default-ran')}'`);
    const { fake, runner } = await connected(t, start, repo, 'jobs-run');
    const run = ['sh', '-c', 'echo "flavour=$FLAVOUR"; echo "path=$PATH"; echo "token=${KEEL_TOKEN-unset}"; echo "job=$KEEL_JOB"; exit 3'];
    fake.sendJob(repo.job('lease-run', { run, env: { FLAVOUR: 'x', KEEL_TOKEN: 'no', PATH: '/nope' } }));

    const { outcome } = await fake.waitFor('result', (m) => m.lease === 'lease-run');
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.exitCode, 3);
    assert.equal(outcome.infra, false);
    assert.deepEqual(outcome.command, [run.join(' ')]);
    assert.deepEqual(outcome.failedTests, []);
    assert.equal(outcome.junit, null);
    const stdout = stdoutOf(fake, 'lease-run');
    assert.match(stdout, /^flavour=x$/m);
    assert.match(stdout, new RegExp(`^path=${process.env.PATH!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(stdout, /^token=unset$/m);
    assert.match(stdout, /^job=tests$/m);
    assert.equal(existsSync(join(repo.files, 'default-ran')), false, 'tests/run.sh must not run');
    await runner.waitForLine(/job [0-9a-f]{40} \(tests\): ignoring env KEEL_TOKEN, PATH: the runner sets these itself$/);
    assert.equal(runner.count(/ignoring env/), 1);
  });

  test('a declared JUnit file is sent with the result, and its counts and failed names replace the output ones', async (t) => {
    const start = runners(t);
    const repo = jobRepoOf(t, () => ({
      'tests/run.sh': `#!/bin/sh\nmkdir -p reports\ncat > reports/j.xml <<'XML'\n${JUNIT}XML\necho "# tests 9"\necho "# pass 9"\necho "# fail 0"\nexit 1\n`,
    }));
    const { fake } = await connected(t, start, repo, 'jobs-junit');
    fake.sendJob(repo.job('lease-junit', { junit: 'reports/j.xml' }));

    const { outcome } = await fake.waitFor('result', (m) => m.lease === 'lease-junit');
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.junit, JUNIT);
    assert.deepEqual(outcome.counts, { tests: 3, passed: 1, failed: 1, skipped: 1 });
    assert.deepEqual(outcome.failedTests, ['suite.bad & wrong']);
  });

  test('a JUnit path outside the worktree, a symlinked file or a symlinked folder is not read', async (t) => {
    const start = runners(t);
    const repo = jobRepo(t, () => 'mkdir -p reports && ln -s /etc/passwd reports/link.xml && ln -s /etc out');
    const { fake, runner } = await connected(t, start, repo, 'jobs-escape', ['--slots', '3']);
    const cases = { 'lease-up': '../../etc/passwd', 'lease-link': 'reports/link.xml', 'lease-dir': 'out/passwd' };
    for (const [lease, junit] of Object.entries(cases)) fake.sendJob(repo.job(lease, { junit }));

    for (const lease of Object.keys(cases)) {
      const { outcome } = await fake.waitFor('result', (m) => m.lease === lease);
      assert.equal(outcome.status, 'passed', lease);
      assert.equal(outcome.junit, null, lease);
      assert.deepEqual(outcome.failedTests, [], lease);
    }
    await runner.waitForLine(/JUnit file \.\.\/\.\.\/etc\/passwd not read: it points outside the worktree$/);
    await runner.waitForLine(/JUnit file reports\/link\.xml not read: it is a symlink$/);
    await runner.waitForLine(/JUnit file out\/passwd not read: it is in a folder that leads out of the worktree$/);
  });

  test('default node tests: TAP in the output, JUnit in the result, the failing test named; a committed symlink is not written through', async (t) => {
    const start = runners(t);
    const repo = jobRepoOf(
      t,
      () => ({
        'tests/good.test.mjs': "import test from 'node:test';\ntest('good', () => {});\n",
        'tests/bad.test.mjs': "import test from 'node:test';\ntest('bad one', () => { throw new Error('boom'); });\n",
      }),
      (files) => {
        writeFileSync(join(files, 'target.txt'), 'untouched');
        return { '.keel-junit.xml': join(files, 'target.txt') };
      },
    );
    const { fake } = await connected(t, start, repo, 'jobs-node');
    fake.sendJob(repo.job('lease-node'));

    const { outcome } = await fake.waitFor('result', (m) => m.lease === 'lease-node');
    assert.equal(outcome.status, 'failed');
    assert.deepEqual(outcome.counts, { tests: 2, passed: 1, failed: 1, skipped: 0 });
    assert.equal(outcome.failedTests.length, 1);
    assert.match(outcome.failedTests[0]!, /bad one$/);
    assert.match(outcome.junit ?? '', /<testsuites>[\s\S]*<testcase name="bad one"/);
    assert.match(stdoutOf(fake, 'lease-node'), /^# tests 2$/m);
    assert.equal(readFileSync(join(repo.files, 'target.txt'), 'utf8'), 'untouched');
  });

  test('abort: the process group is killed at once and no result is sent; an unknown lease is ignored', async (t) => {
    const start = runners(t);
    const pidFile = (files: string) => join(files, 'pid');
    const repo = jobRepo(t, (files) => `echo started\necho $$ > '${pidFile(files)}'\nexec sleep 30`);
    const { fake, runner } = await connected(t, start, repo, 'jobs-abort');
    fake.sendJob(repo.job('lease-abort'));
    const pid = await scriptPid(t, pidFile(repo.files));
    assert.equal(gone(pid), false);

    const abortedAt = Date.now();
    fake.send({ type: 'abort', lease: 'lease-nobody' });
    fake.send({ type: 'abort', lease: 'lease-abort' });
    await runner.waitForLine(/job [0-9a-f]{40} \(tests\) lease lease-abort: cancelled by the dispatcher$/);
    // sleep takes SIGTERM, so the 5 s kill grace is not needed.
    assert.ok(Date.now() - abortedAt < 5_000, `took ${Date.now() - abortedAt} ms`);
    assert.equal(gone(pid), true, `test process ${pid} still there`);
    assert.equal(gone(-pid), true, `process group ${pid} still there`);

    // A later job completes normally, so anything the abort left to send has been sent by now.
    fake.sendJob(repo.job('lease-after', { run: ['true'] }));
    assert.equal((await fake.waitFor('result', (m) => m.lease === 'lease-after')).outcome.status, 'passed');
    assert.deepEqual(fake.all('result').map((m) => m.lease), ['lease-after']);
    assert.equal(existsSync(repo.spooled('lease-abort')), false);
    assert.equal(readdirSync(join(repo.workdir, 'worktrees')).length, 1, 'the aborted job\'s worktree served the next job');
  });

  test('a repository that cannot be fetched is an infrastructure error', async (t) => {
    const start = runners(t);
    const repo = jobRepo(t, () => 'exit 0');
    const { fake } = await connected(t, start, repo, 'jobs-fetch');
    fake.sendJob(repo.job('lease-fetch', { repo: join(repo.files, 'no-such-repo.git') }));

    const { outcome } = await fake.waitFor('result', (m) => m.lease === 'lease-fetch');
    assert.equal(outcome.status, 'error');
    assert.equal(outcome.infra, true);
    assert.match(outcome.message, /^fetch failed: /);
    assert.deepEqual(outcome.command, []);
    assert.deepEqual(outcome.failedTests, []);
    assert.equal(outcome.junit, null);
  });

  test('no tests in the repository is its own problem, not the infrastructure', async (t) => {
    const start = runners(t);
    const repo = jobRepoOf(t, () => ({ 'README.md': 'nothing here\n' }));
    const { fake } = await connected(t, start, repo, 'jobs-none');
    fake.sendJob(repo.job('lease-none'));

    const { outcome } = await fake.waitFor('result', (m) => m.lease === 'lease-none');
    assert.equal(outcome.status, 'error');
    assert.equal(outcome.infra, false);
    assert.equal(outcome.message, 'no tests/ directory');
  });
});
