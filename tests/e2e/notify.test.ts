// Instant detection with polling effectively off (--interval 3600): a push to
// a local origin is seen through fs.watch; an origin that cannot be watched
// (a file:// URL) is scanned when `keel notify` asks, also from a
// post-receive hook with a secret and TLS, quickly; and `keel notify` with
// no dispatcher exits 2.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makePki } from '../helpers/certs.js';
import { runCli, world, type World } from '../helpers/e2e.js';
import { MASTER } from '../helpers/e2e-secret.js';
import { listenOn } from '../helpers/listen.js';

const PASSING = { 'tests/ok.sh': '#!/bin/sh\necho ok\n' };

/** Dispatcher, runner and an observer whose clone's origin is `originUrl(central)`. */
async function setup(t: TestContext, originUrl: (central: string) => string) {
  const w = world(t);
  const first = w.push(PASSING, 'first');
  w.cloneFor(originUrl(w.central));
  const dispatcher = await w.dispatcher();
  w.startRunner('r1', dispatcher);
  const observer = w.observer(dispatcher, { interval: '3600' });
  // The first scan (at start) has reported the head: anything later is not a poll.
  await observer.delivered(first);
  return { w, dispatcher, observer };
}

function push(w: World, message: string): string {
  return w.push({ 'change.txt': `${message}\n` }, message);
}

async function waitForPassed(w: World, sha: string): Promise<void> {
  const record = await w.result(sha, { timeoutMs: 15_000 });
  assert.equal(record.status, 'passed');
}

test('a push to a local origin is tested at once, without a poll', async (t) => {
  const s = await setup(t, (central) => central);
  // Log kept: only the observer's log says its watch on the origin is set, and the push must come after it.
  await s.observer.waitForLine(/watching .*central\.git for pushes/);
  const sha = push(s.w, 'second');
  await waitForPassed(s.w, sha);
});

test('keel notify makes an observer whose origin cannot be watched pick up a push', async (t) => {
  const s = await setup(t, (central) => pathToFileURL(central).href);
  // Log kept: whether the observer watches its origin shows only in its log.
  assert.ok(!s.observer.lines.some((line) => /for pushes/.test(line)), 'a file:// origin is not watched');
  const sha = push(s.w, 'second');
  const notified = await s.dispatcher.keel('notify');
  assert.equal(notified.code, 0, notified.stderr);
  assert.equal(notified.stdout, 'notified 1 observer(s)\n');
  await waitForPassed(s.w, sha);
});

test('keel notify with no dispatcher listening exits 2', async () => {
  // A port that was free a moment ago and is closed now.
  const { server, port } = await listenOn();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const result = await runCli(['notify', '--dispatcher', `127.0.0.1:${port}`]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /cannot reach dispatcher/);
  assert.equal(result.stdout, '');
});

test('keel notify as the README\'s post-receive hook has it (a secret, TLS) makes the push picked up, and returns in well under a second', async (t) => {
  const pki = makePki(t);
  const w = world(t);
  const first = w.push(PASSING, 'first');
  w.cloneFor(pathToFileURL(w.central).href);
  const d = await w.dispatcher({ secret: MASTER, extra: ['--tls-cert', pki.server, '--tls-key', pki.serverKey], tls: { ca: readFileSync(pki.ca) } });
  const master = join(w.tmp, 'master.token');
  writeFileSync(master, `${MASTER}\n`, { mode: 0o600 });
  const client = join(w.tmp, 'client.token');
  assert.equal((await runCli(['token', 'client', '--token-file', master, '--out', client])).code, 0);
  const runnerToken = join(w.tmp, 'runner.token');
  const observerToken = join(w.tmp, 'observer.token');
  await runCli(['token', 'runner', '--token-file', master, '--out', runnerToken]);
  await runCli(['token', 'observer', '--token-file', master, '--out', observerToken]);
  w.startRunner('r1', d, { extra: ['--token-file', runnerToken, '--tls-ca', pki.ca] });
  const observer = w.observer(d, { interval: '3600', extra: ['--token-file', observerToken, '--tls-ca', pki.ca] });
  await observer.delivered(first);

  // The README's hook, with this checkout's paths; it times itself.
  const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const hook = [
    '#!/bin/sh',
    // Node's own start, as a yardstick: on a loaded machine both take longer.
    'start=$(date +%s%N)',
    `'${process.execPath}' -e 0`,
    `echo $(( ($(date +%s%N) - start) / 1000000 )) > '${w.control}/node-ms'`,
    'start=$(date +%s%N)',
    `'${process.execPath}' '${cli}' notify --dispatcher ${d.address} --token-file '${client}' --tls-ca '${pki.ca}' >/dev/null`,
    `echo $(( ($(date +%s%N) - start) / 1000000 )) > '${w.control}/hook-ms'`,
    '',
  ].join('\n');
  writeFileSync(join(w.central, 'hooks', 'post-receive'), hook, { mode: 0o755 });
  const sha = push(w, 'second');
  const ms = Number(await w.scripts.file('hook-ms'));
  const node = Number(await w.scripts.file('node-ms'));
  await waitForPassed(w, sha);
  // Node's own start is most of it; the issue measured 1.2-2.3 s through npx, waiting for the scans.
  t.diagnostic(`keel notify in the post-receive hook: ${ms} ms; node -e 0: ${node} ms`);
  assert.ok(ms < Math.max(1000, 4 * node), `keel notify took ${ms} ms in the hook, node alone ${node} ms`);
});
