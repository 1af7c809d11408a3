// The command line as a user meets it: bad flags, `keel status`, and a
// dispatcher that shrugs off hostile peers while testing a real commit.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { commitFiles, git, makeCentralAndClone } from '../helpers/git-repo.js';
import { TestPeer } from '../helpers/peer.js';
import { runKeel, spawnKeel, startDispatcherProcess } from '../helpers/processes.js';
import { tempDir, waitFor } from '../helpers/temp.js';

test('bad flags: one line naming the flag, exit 2, no connection attempted', async (t) => {
  // A listener that fails the test if anyone connects to it.
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const at = `127.0.0.1:${port}`;
  const repo = tempDir(t);
  git(repo, 'init', '-q');
  const cases: Array<{ entry: string; args: string[]; flag: string }> = [
    { entry: 'dispatcher/main.js', args: ['--port', 'eighty'], flag: '--port' },
    { entry: 'dispatcher/main.js', args: ['--port', '70000'], flag: '--port' },
    { entry: 'dispatcher/main.js', args: ['--bogus'], flag: '--bogus' },
    { entry: 'dispatcher/main.js', args: ['--heartbeat', '-1'], flag: '--heartbeat' },
    { entry: 'runner/main.js', args: ['--dispatcher', 'nohost', '--name', 'r'], flag: '--dispatcher' },
    { entry: 'runner/main.js', args: ['--dispatcher', at, '--slots', '0'], flag: '--slots' },
    { entry: 'runner/main.js', args: ['--dispatcher', at, '--name', '../etc'], flag: '--name' },
    { entry: 'runner/main.js', args: ['--dispatcher', at, '--labels', 'gpu,-x'], flag: '--labels' },
    { entry: 'runner/main.js', args: ['--dispatcher', at, '--timeout', 'soon'], flag: '--timeout' },
    { entry: 'observer/main.js', args: ['--dispatcher', at, '--interval', 'abc', repo], flag: '--interval' },
    { entry: 'observer/main.js', args: ['--dispatcher', at], flag: 'clone' },
    { entry: 'cli/main.js', args: ['status', 'not-a-sha', '--dispatcher', at], flag: 'SHA' },
    { entry: 'cli/main.js', args: ['status', '--dispatcher', 'x:0'], flag: '--dispatcher' },
    { entry: 'cli/main.js', args: ['launch'], flag: 'launch' },
  ];
  for (const c of cases) {
    const { code, stderr } = await runKeel(c.entry, c.args);
    assert.equal(code, 2, `${c.entry} ${c.args.join(' ')}: ${stderr}`);
    const firstLine = stderr.trim().split('\n')[0]!;
    assert.ok(firstLine.includes(c.flag), `${c.entry} ${c.args.join(' ')} names ${c.flag}: ${stderr}`);
  }
  assert.equal(connections, 0, 'no process connected before rejecting its flags');
});

test('keel status: a finished build, --json, exit codes; hostile peers do not stop testing', async (t) => {
  const repos = makeCentralAndClone(t);
  const sha = commitFiles(repos.work, { 'tests/ok.test.js': "import { test } from 'node:test';\ntest('ok', () => {});\n" }, 'ok');
  git(repos.work, 'push', '-q', 'origin', 'main');
  git(repos.work, 'clone', '-q', repos.central, repos.clone);
  const tmp = tempDir(t);
  const results = join(tmp, 'results');
  const dispatcher = await startDispatcherProcess(t, results);
  const address = `127.0.0.1:${dispatcher.port}`;

  // Hostile peers first: garbage, invalid UTF-8, an oversized line, a forged result.
  for (const payload of ['garbage\n', Buffer.from([0xc0, 0xaf, 0x0a]), Buffer.alloc(2 * 1024 * 1024, 0x7b)]) {
    const peer = await TestPeer.connect(dispatcher.port);
    peer.sendRaw(payload);
    assert.equal((await peer.next('error')).type, 'error');
    await peer.closed;
  }
  const forger = await TestPeer.as(dispatcher.port, 'observer');
  forger.send({ type: 'result', lease: 'abc', outcome: { status: 'passed', exitCode: 0, signal: null, timedOut: false, startedAt: '', durationMs: 0, command: [], message: '', counts: null, infra: false, cancelled: false, failedTests: [], junit: null } });
  assert.equal((await forger.next('error')).code, 'not-allowed');

  spawnKeel(t, 'runner/main.js', ['--dispatcher', address, '--name', 'r1', '--workdir', join(tmp, 'runner')]);
  spawnKeel(t, 'observer/main.js', ['--dispatcher', address, '--interval', '0.1', '--state', join(tmp, 'obs'), repos.clone]);
  await waitFor(() => existsSync(join(results, sha)), 'the result');

  const one = await runKeel('cli/main.js', ['status', sha, '--dispatcher', address]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /status: +passed/);
  const json = await runKeel('cli/main.js', ['status', sha, '--json', '--dispatcher', address]);
  assert.equal(JSON.parse(json.stdout).status, 'passed');
  const overview = await runKeel('cli/main.js', ['status', '--dispatcher', address]);
  assert.equal(overview.code, 0);
  assert.match(overview.stdout, /runners: r1/);
  assert.match(overview.stdout, new RegExp(sha.slice(0, 12)));
  const unknown = await runKeel('cli/main.js', ['status', 'f'.repeat(40), '--dispatcher', address]);
  assert.equal(unknown.code, 1);

  dispatcher.child.kill('SIGTERM');
  assert.deepEqual(await dispatcher.exited, { code: 0, signal: null }, 'SIGTERM exits 0');
  const unreachable = await runKeel('cli/main.js', ['status', '--dispatcher', address]);
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, /cannot reach dispatcher/);
});
