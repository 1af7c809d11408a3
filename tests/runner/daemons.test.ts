// Daemons a job leaves behind (issue 11, point 11): the runner as a real
// process against a fake dispatcher, with test scripts that start processes
// outside their own process group. The job ends with its own exit status,
// and whatever carries its KEEL_JOB_ID is killed and named.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Output } from '../../src/protocol/messages.js';
import { findJobProcesses } from '../../src/runner/job-processes.js';
import { PIPE_GRACE_MS } from '../../src/runner/run-tests.js';
import { gone } from '../helpers/processes.js';
import { FakeDispatcher } from './fake-dispatcher.js';
import { jobRepo, killAtEnd, lineIn, type JobRepo } from './job-repo.js';
import { runners } from './runner-process.js';

async function connected(t: TestContext, repo: JobRepo, name: string) {
  const fake = await FakeDispatcher.listen();
  t.after(() => fake.close());
  const runner = runners(t)(['--dispatcher', `127.0.0.1:${fake.port}`, '--workdir', repo.workdir, '--name', name, '--timeout', '60']);
  await fake.waitFor('register');
  return { fake, runner };
}

function stderrOf(fake: FakeDispatcher, lease: string): string {
  return fake.all('output').filter((m: Output) => m.lease === lease && m.stream === 'stderr').map((m) => m.data).join('');
}

/** Script lines that note the job id (for the test and its cleanup) first of all. */
const noteJobId = (files: string) => `echo "$KEEL_JOB_ID" > '${join(files, 'job-id')}'`;

describe('daemons that outlive a job', { concurrency: true }, () => {
  test('a setsid daemon holding stdout open: the job ends with its own status soon after, and the daemon is killed', async (t) => {
    const repo = jobRepo(t, (files) => [
      noteJobId(files),
      // It keeps stdout and stderr; the script waits until it has left the group, or the group kill would take it.
      `setsid sh -c 'echo $$ > "$1"; sleep 1000' sh '${join(files, 'daemon.pid')}' &`,
      `while [ ! -s '${join(files, 'daemon.pid')}' ]; do sleep 0.05; done`,
      'echo started',
      'exit 3',
    ].join('\n'));
    killAtEnd(t, () => lineIn(join(repo.files, 'job-id')));
    const { fake, runner } = await connected(t, repo, 'daemon-a');
    fake.sendJob(repo.job('lease-daemon'));

    const { outcome } = await fake.waitFor('result', (m) => m.lease === 'lease-daemon', 30_000);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.exitCode, 3);
    assert.equal(outcome.timedOut, false);
    assert.ok(outcome.durationMs >= PIPE_GRACE_MS && outcome.durationMs < 30_000, `took ${outcome.durationMs} ms`);

    const jobId = lineIn(join(repo.files, 'job-id'));
    assert.ok(jobId, 'the script saw a KEEL_JOB_ID');
    const daemon = Number(lineIn(join(repo.files, 'daemon.pid')));
    assert.ok(gone(daemon), `daemon ${daemon} is gone`);
    assert.deepEqual(await findJobProcesses(jobId), [], 'nothing carries the job id any more');
    const stderr = stderrOf(fake, 'lease-daemon');
    assert.match(stderr, /\[keel: output closed 2 s after the tests exited/);
    assert.match(stderr, new RegExp(`\\[keel: killed (.*, )?${daemon} \\(sh\\).*: left running by the job\\]`));
    await runner.waitForLine(new RegExp(`job [0-9a-f]{40} \\(tests\\): killed (.*, )?${daemon} \\(sh\\)`));
  });

  test('a daemon that double-forks with setsid and closes its stdio is found by KEEL_JOB_ID and killed', async (t) => {
    const pidFile = (files: string) => join(files, 'daemon.pid');
    const repo = jobRepo(t, (files) => [
      noteJobId(files),
      `setsid sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > "$1"' sh '${pidFile(files)}' </dev/null >/dev/null 2>&1 &`,
      `while [ ! -s '${pidFile(files)}' ]; do sleep 0.05; done`,
      'exit 0',
    ].join('\n'));
    killAtEnd(t, () => lineIn(join(repo.files, 'job-id')));
    const { fake, runner } = await connected(t, repo, 'daemon-b');
    // A job may not set the id itself: it is the runner's.
    fake.sendJob(repo.job('lease-fork', { env: { KEEL_JOB_ID: 'chosen-by-the-job' } }));

    const { outcome } = await fake.waitFor('result', (m) => m.lease === 'lease-fork', 30_000);
    assert.equal(outcome.status, 'passed');
    const jobId = lineIn(join(repo.files, 'job-id'));
    assert.ok(jobId !== null && jobId.startsWith('lease-fork.1.'), `KEEL_JOB_ID was ${jobId}`);
    const daemon = Number(lineIn(pidFile(repo.files)));
    assert.ok(gone(daemon), `daemon ${daemon} is gone`);
    assert.deepEqual(await findJobProcesses(jobId), []);
    const stderr = stderrOf(fake, 'lease-fork');
    assert.match(stderr, new RegExp(`\\[keel: killed (.*, )?${daemon} \\(sleep\\)`));
    assert.doesNotMatch(stderr, /output closed/, 'nothing held the pipes');
    await runner.waitForLine(new RegExp(`killed (.*, )?${daemon} \\(sleep\\): left running by the job$`));
  });
});
