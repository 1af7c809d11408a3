// Graceful drain: the runner as a real process, sent SIGTERM while a job
// runs, against a fake dispatcher over real TCP.
import { strict as assert } from 'node:assert';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { FakeDispatcher } from './fake-dispatcher.js';
import { jobRepo, scriptPid, waitForFile } from './job-repo.js';
import { runners } from './runner-process.js';
import { gone } from '../helpers/processes.js';

async function fakeDispatcher(t: TestContext): Promise<FakeDispatcher> {
  const fake = await FakeDispatcher.listen();
  t.after(() => fake.close());
  return fake;
}


describe('runner drain', { concurrency: true }, () => {
  test('SIGTERM during a job: drain is sent, new jobs are ignored, the job finishes and reports, exit 0', async (t) => {
    const start = runners(t);
    const repo = jobRepo(t, (files) => `echo started\n${waitForFile(join(files, 'go'))}\necho finished`);
    const fake = await fakeDispatcher(t);
    const runner = start(['--dispatcher', `127.0.0.1:${fake.port}`, '--workdir', repo.workdir, '--name', 'drain-c']);
    await fake.waitFor('register');
    fake.sendJob(repo.job('lease-c'));
    await fake.waitFor('output', (m) => m.data.includes('started'));

    runner.child.kill('SIGTERM');
    await fake.waitFor('drain');
    await runner.waitForLine(/SIGTERM: shutting down$/);
    await runner.waitForLine(/draining: no new jobs; waiting up to 60 s for 1 running job\(s\)$/);
    fake.sendJob(repo.job('lease-late'));
    await runner.waitForLine(/job [0-9a-f]{40} \(tests\) lease lease-late: not started, draining$/);

    writeFileSync(join(repo.files, 'go'), '');
    const result = await fake.waitFor('result');
    assert.equal(result.lease, 'lease-c');
    assert.equal(result.outcome.status, 'passed');
    assert.deepEqual(await runner.exited, { code: 0, signal: null });
    assert.ok(runner.lines.some((line) => line.endsWith('drained; exiting')), runner.lines.join('\n'));
    assert.deepEqual(fake.all('result').map((m) => m.lease), ['lease-c']);
    assert.deepEqual(readdirSync(join(repo.workdir, 'results')), []);
  });

  test('SIGTERM with a short --drain-grace: the long job is cancelled and handed back without a result, its process group killed', async (t) => {
    const start = runners(t);
    const pidFile = (files: string) => join(files, 'pid');
    const repo = jobRepo(t, (files) => `echo $$ > '${pidFile(files)}'\nexec sleep 30`);
    const fake = await fakeDispatcher(t);
    const runner = start(['--dispatcher', `127.0.0.1:${fake.port}`, '--workdir', repo.workdir, '--name', 'drain-d', '--drain-grace', '0.5']);
    await fake.waitFor('register');
    fake.sendJob(repo.job('lease-d'));
    const pid = await scriptPid(t, pidFile(repo.files));
    assert.equal(gone(pid), false);

    const signalledAt = Date.now();
    runner.child.kill('SIGTERM');
    await fake.waitFor('drain');
    assert.deepEqual(await runner.exited, { code: 0, signal: null });
    assert.ok(Date.now() - signalledAt < 5_000, `took ${Date.now() - signalledAt} ms`);
    assert.ok(runner.lines.some((line) => line.endsWith('drain grace of 0.5 s passed: cancelling 1 job(s) and handing them back')), runner.lines.join('\n'));
    assert.ok(runner.lines.some((line) => /job [0-9a-f]{40} \(tests\): cancelled by the drain, handed back to the dispatcher$/.test(line)), runner.lines.join('\n'));
    assert.deepEqual(fake.all('result'), []);
    assert.deepEqual(readdirSync(join(repo.workdir, 'results')), []);
    assert.equal(gone(pid), true, `test process ${pid} still there`);
    assert.equal(gone(-pid), true, `process group ${pid} still there`);
  });

  test('a second signal during the drain exits 1 at once', async (t) => {
    const start = runners(t);
    const pidFile = (files: string) => join(files, 'pid');
    const repo = jobRepo(t, (files) => `echo $$ > '${pidFile(files)}'\nexec sleep 30`);
    const fake = await fakeDispatcher(t);
    const runner = start(['--dispatcher', `127.0.0.1:${fake.port}`, '--workdir', repo.workdir, '--name', 'drain-twice']);
    await fake.waitFor('register');
    fake.sendJob(repo.job('lease-twice'));
    // Exiting at once leaves the test behind; scriptPid makes sure it does not outlive this test.
    await scriptPid(t, pidFile(repo.files));

    runner.child.kill('SIGTERM');
    await runner.waitForLine(/draining: no new jobs/);
    runner.child.kill('SIGINT');
    assert.deepEqual(await runner.exited, { code: 1, signal: null });
    assert.ok(runner.lines.some((line) => line.endsWith('SIGINT again: exiting now')), runner.lines.join('\n'));
    assert.deepEqual(fake.all('result'), []);
  });
});
