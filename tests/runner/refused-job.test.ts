// A `job` the runner's codec refuses is answered alone, with an error
// result, on the same connection; other jobs run on. The runner as a real
// process against a hand-written fake dispatcher, and the pure part apart.
import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { LIMITS } from '../../src/protocol/limits.js';
import { refusedJobLease } from '../../src/runner/refused-job.js';
import { waitFor } from '../helpers/temp.js';
import { FakeDispatcher } from './fake-dispatcher.js';
import { jobRepo, waitForFile } from './job-repo.js';
import { runners } from './runner-process.js';

async function connected(t: TestContext, workdir: string, name: string) {
  const fake = await FakeDispatcher.listen();
  t.after(() => fake.close());
  const runner = runners(t)(['--dispatcher', `127.0.0.1:${fake.port}`, '--workdir', workdir, '--name', name]);
  await fake.waitFor('register');
  return { fake, runner };
}

const manyVariables = Object.fromEntries(Array.from({ length: LIMITS.envVariables + 8 }, (_, i) => [`V${i}`, 'x']));

describe('refused jobs', { concurrency: true }, () => {
  test('a job the codec refuses gets an error result for its lease alone; the running job goes on, on the same connection', async (t) => {
    const repo = jobRepo(t, (files) => `echo started\n${waitForFile(join(files, 'go'))}\necho finished`);
    const { fake } = await connected(t, repo.workdir, 'refused-a');
    fake.sendJob(repo.job('lease-good'));
    await fake.waitFor('output', (m) => m.data.includes('started'));

    const bad = {
      'lease-long-title': { title: 't'.repeat(LIMITS.printable + 44) },
      'lease-newline': { title: 'tests (FLAVOUR=a\nb)' },
      'lease-env': { env: manyVariables },
    };
    for (const [lease, fields] of Object.entries(bad)) fake.sendLine(JSON.stringify({ type: 'job', ...repo.job(lease), ...fields }));

    for (const lease of Object.keys(bad)) {
      const { outcome, connection } = await fake.waitFor('result', (m) => m.lease === lease);
      assert.equal(connection, 1, lease);
      assert.equal(outcome.status, 'error', lease);
      assert.equal(outcome.infra, false, lease);
      assert.equal(outcome.cancelled, false, lease);
      assert.match(outcome.message, /^the runner could not take this job: field "(title|env)" /, lease);
    }
    await waitFor(() => Object.keys(bad).every((lease) => !existsSync(repo.spooled(lease))), 'the recorded results to leave the spool');

    writeFileSync(join(repo.files, 'go'), '');
    const good = await fake.waitFor('result', (m) => m.lease === 'lease-good');
    assert.equal(good.outcome.status, 'passed');
    assert.equal(good.connection, 1, 'the connection that carried the bad jobs');
    assert.equal(fake.connectionCount, 1, 'never reconnected');
    assert.deepEqual(fake.all('error'), [], 'answered with results, not error messages');
  });

  test('any other bad line still closes the connection, and the runner comes back', async (t) => {
    const repo = jobRepo(t, () => 'exit 0');
    const { fake } = await connected(t, repo.workdir, 'refused-b');
    fake.sendLine(JSON.stringify({ type: 'job', ...repo.job('bad lease!') }));
    await fake.waitFor('register', (m) => m.connection === 2);
    fake.sendLine('{"type":"ping","seq":-1}');
    await fake.waitFor('register', (m) => m.connection === 3);
    assert.deepEqual(fake.all('result'), []);
  });
});

test('refusedJobLease: only a JSON object of type job with a well-formed lease', () => {
  const line = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  const cases: Array<[Buffer | null, string | null]> = [
    [line({ type: 'job', lease: 'lease-1', title: 'x'.repeat(500) }), 'lease-1'],
    [line({ type: 'job', lease: 'l'.repeat(LIMITS.leaseChars) }), 'l'.repeat(LIMITS.leaseChars)],
    [line({ type: 'job', lease: 'l'.repeat(LIMITS.leaseChars + 1) }), null],
    [line({ type: 'job', lease: 'has space' }), null],
    [line({ type: 'job', lease: '../x' }), null],
    [line({ type: 'job', lease: 7 }), null],
    [line({ type: 'job' }), null],
    [line({ type: 'abort', lease: 'lease-1' }), null],
    [line([{ type: 'job', lease: 'lease-1' }]), null],
    [line('{"type":"job","lease":"lease-1"'), null],
    [line('null'), null],
    [null, null],
  ];
  for (const [input, expected] of cases) assert.equal(refusedJobLease(input), expected, input?.toString() ?? 'null');
});
