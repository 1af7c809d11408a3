// The command line as a user meets it: bad flags, `keel status`, and a
// dispatcher that shrugs off hostile peers while testing a real commit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, runEntry, world } from '../helpers/e2e.js';
import { connectAs, connectRaw, resultMessage } from '../helpers/e2e-wire.js';
import { makeRepo } from '../helpers/git-repo.js';
import { listenOn } from '../helpers/listen.js';

test('bad flags: one line naming the flag, exit 2, no connection attempted', async (t) => {
  // A listener that fails the test if anyone connects to it.
  let connections = 0;
  const { server, port } = await listenOn();
  server.on('connection', (socket) => {
    connections += 1;
    socket.destroy();
  });
  t.after(() => server.close());
  const at = `127.0.0.1:${port}`;
  const repo = makeRepo(t);
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
    const { code, stderr } = await runEntry(c.entry, c.args);
    assert.equal(code, 2, `${c.entry} ${c.args.join(' ')}: ${stderr}`);
    const firstLine = stderr.trim().split('\n')[0]!;
    assert.ok(firstLine.includes(c.flag), `${c.entry} ${c.args.join(' ')} names ${c.flag}: ${stderr}`);
  }
  assert.equal(connections, 0, 'no process connected before rejecting its flags');
});

test('keel status: a finished build, --json, exit codes; hostile peers do not stop testing', async (t) => {
  const w = world(t);
  const sha = w.push({ 'tests/ok.test.js': "import { test } from 'node:test';\ntest('ok', () => {});\n" }, 'ok');
  w.cloneFor();
  const dispatcher = await w.dispatcher();

  // Hostile peers first: garbage, invalid UTF-8, an oversized line, a forged result.
  for (const payload of ['garbage\n', Buffer.from([0xc0, 0xaf, 0x0a]), Buffer.alloc(2 * 1024 * 1024, 0x7b)]) {
    const peer = await connectRaw(t, dispatcher.port);
    peer.sendRaw(payload);
    assert.equal((await peer.next('error')).type, 'error');
    await peer.closed;
  }
  const forger = await connectAs(t, dispatcher.port, 'observer');
  forger.send(resultMessage('abc'));
  assert.equal((await forger.next('error')).code, 'not-allowed');

  w.startRunner('r1', dispatcher);
  w.observer(dispatcher);
  await w.result(sha);

  const one = await dispatcher.keel('status', sha);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /status: +passed/);
  const json = await dispatcher.keel('status', sha, '--json');
  assert.equal(JSON.parse(json.stdout).status, 'passed');
  const overview = await dispatcher.keel('status');
  assert.equal(overview.code, 0);
  assert.match(overview.stdout, /runners: r1/);
  assert.match(overview.stdout, new RegExp(sha.slice(0, 12)));
  // The last build of main at a glance, from the build index (the file is written, so it is there).
  assert.match(overview.stdout, new RegExp(`last build of each branch:\nBRANCH +STATUS +COMMIT +ENDED\nmain +passed +${sha.slice(0, 12)} +20\\d\\d-`));
  assert.deepEqual(JSON.parse((await dispatcher.keel('status', '--json')).stdout).heads.map((b: { ref: string; commit: string }) => [b.ref, b.commit]), [['refs/heads/main', sha]]);
  const unknown = await dispatcher.keel('status', 'f'.repeat(40));
  assert.equal(unknown.code, 1);

  assert.deepEqual(await w.stop(dispatcher), { code: 0, signal: null }, 'SIGTERM exits 0');
  const unreachable = await runCli(['status', '--dispatcher', dispatcher.address]);
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, /cannot reach dispatcher/);
});
