// Nothing lost: the runner as a real process against a fake dispatcher that
// goes away, comes back on the same port, or never acknowledges; and a
// runner killed outright and started again on the same workdir.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Output } from '../../src/protocol/messages.js';
import { lostNote } from '../../src/runner/output-backlog.js';
import { waitFor } from '../helpers/temp.js';
import { FakeDispatcher, type Received } from './fake-dispatcher.js';
import { jobRepo, waitForFile } from './job-repo.js';
import { runners } from './runner-process.js';

async function fakeDispatcher(t: TestContext, port = 0): Promise<FakeDispatcher> {
  const fake = await FakeDispatcher.listen(port);
  t.after(() => fake.close());
  return fake;
}

function runnerArgs(port: number, workdir: string, name: string): string[] {
  return ['--dispatcher', `127.0.0.1:${port}`, '--workdir', workdir, '--name', name];
}

const outputText = (messages: Received[]) => messages.filter((m): m is Output & { connection: number } => m.type === 'output').map((m) => m.data).join('');

describe('result spool and held output', { concurrency: true }, () => {
  test('a result finished while the dispatcher is down is spooled, named in register.leases and delivered when it is back', async (t) => {
    const start = runners(t);
    const repo = jobRepo(t, (files) => `echo started\n${waitForFile(join(files, 'go'))}\necho finished while away`);
    const first = await fakeDispatcher(t);
    const runner = start(runnerArgs(first.port, repo.workdir, 'spool-a'));
    assert.deepEqual((await first.waitFor('register')).leases, []);
    first.sendJob(repo.job('lease-a'));
    await first.waitFor('output', (m) => m.data.includes('started'));
    await first.close();
    await runner.waitForLine(/lost dispatcher at/);

    writeFileSync(join(repo.files, 'go'), '');
    await runner.waitForLine(/job [0-9a-f]{40} \(tests\): passed/);
    assert.equal(existsSync(repo.spooled('lease-a')), true, 'spooled before "passed" is logged');

    const second = await fakeDispatcher(t, first.port);
    assert.deepEqual((await second.waitFor('register')).leases, ['lease-a']);
    const result = await second.waitFor('result');
    assert.equal(result.lease, 'lease-a');
    assert.equal(result.outcome.status, 'passed');
    // Output from the outage came back too, before the result.
    const before = second.received.slice(0, second.received.indexOf(result));
    assert.equal(outputText(before), 'finished while away\n');
    await runner.waitForLine(/dispatcher recorded the result of lease lease-a$/);
    await waitFor(() => !existsSync(repo.spooled('lease-a')), 'the spool file to go');
  });

  test('a runner killed before its result was recorded delivers it after a restart on the same workdir', async (t) => {
    const start = runners(t);
    const repo = jobRepo(t, () => 'echo quick');
    const fake = await fakeDispatcher(t);
    fake.ack = false;
    const args = runnerArgs(fake.port, repo.workdir, 'spool-b');
    const first = start(args);
    await fake.waitFor('register');
    fake.sendJob(repo.job('lease-b'));
    const sent = await fake.waitFor('result');
    assert.equal(existsSync(repo.spooled('lease-b')), true, 'spooled before it was sent');
    first.child.kill('SIGKILL');
    await first.exited;

    fake.ack = true;
    const second = start(args);
    await second.waitForLine(/1 unrecorded result\(s\) from an earlier run to deliver: lease-b$/);
    const register = await fake.waitFor('register', (m) => m.connection === 2);
    assert.deepEqual(register.leases, ['lease-b']);
    const again = await fake.waitFor('result', (m) => m.connection === 2);
    assert.deepEqual(again.outcome, sent.outcome);
    await second.waitForLine(/dispatcher recorded the result of lease lease-b$/);
    await waitFor(() => readdirSync(join(repo.workdir, 'results')).length === 0, 'an empty spool');
  });

  test('output produced while disconnected arrives after reconnecting, oldest dropped past 1 MiB with a note where the gap is', async (t) => {
    const start = runners(t);
    const total = 1_500_000;
    const repo = jobRepo(t, (files) => [
      'echo started',
      waitForFile(join(files, 'go1')),
      `head -c ${total} /dev/zero | tr '\\0' x`,
      "printf '\\nend of outage\\n'",
      `touch '${join(files, 'printed')}'`,
      waitForFile(join(files, 'go2')),
      'echo after',
    ].join('\n'));
    const first = await fakeDispatcher(t);
    const runner = start(runnerArgs(first.port, repo.workdir, 'spool-e'));
    await first.waitFor('register');
    first.sendJob(repo.job('lease-e'));
    await first.waitFor('output', (m) => m.data.includes('started'));
    await first.close();
    await runner.waitForLine(/lost dispatcher at/);

    writeFileSync(join(repo.files, 'go1'), '');
    await waitFor(() => existsSync(join(repo.files, 'printed')), 'the script to print during the outage');
    const second = await fakeDispatcher(t, first.port);
    assert.deepEqual((await second.waitFor('register')).leases, ['lease-e'], 'still running, so still held');
    await second.waitFor('output', (m) => m.data.includes('end of outage'));
    writeFileSync(join(repo.files, 'go2'), '');
    const result = await second.waitFor('result');
    assert.equal(result.outcome.status, 'passed');

    const text = outputText(second.received);
    const match = /^\n\[keel: (\d+) bytes of output lost while the dispatcher was unreachable\]\n/.exec(text);
    assert.ok(match, `no note of lost output at the start of: ${text.slice(0, 200)}`);
    const dropped = Number(match[1]);
    assert.ok(dropped > total - 1024 * 1024 && dropped < total, `dropped ${dropped}`);
    assert.equal(text, `${lostNote(dropped)}${'x'.repeat(total - dropped)}\nend of outage\nafter\n`);
    assert.ok(second.all('output').every((m) => m.lease === 'lease-e' && m.data.length <= 64 * 1024));
    await runner.waitForLine(new RegExp(`lease lease-e: ${dropped} bytes of output lost while the dispatcher was unreachable$`));
  });
});
