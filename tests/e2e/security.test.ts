// Running Keel safely, end to end: secrets and roles, admins, the refusal to
// listen beyond loopback without a secret, TLS (and client certificates), the
// limits on what a peer may cost, and values that must never reach a shell
// or a test's environment. Each test fails if its feature is taken away.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatToken, parseSecret, prove, roleKey, AUTH_ROLES } from '../../src/common/auth.js';
import { ConfigError } from '../../src/common/errors.js';
import { parseDispatcherConfig } from '../../src/dispatcher/config.js';
import { startDispatcher } from '../../src/dispatcher/dispatcher.js';
import { PROTOCOL_VERSION, type Message, type Role } from '../../src/protocol/messages.js';
import type { RunOutcome } from '../../src/protocol/records.js';
import { makePki } from '../helpers/certs.js';
import { fullOutcome } from '../protocol/fixtures.js';
import { commitFiles, makeRepo } from '../helpers/git-repo.js';
import { TestPeer } from '../helpers/peer.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
/** Not hex, so its hex and base64 forms are distinct strings to look for on the wire. */
const MASTER = `keel-test-master-${randomBytes(18).toString('base64url')}`;
const MASTER_KEY = parseSecret(MASTER).key;
const SHA = '5'.repeat(40);
const REF = 'refs/heads/main';

/** Built with `as Message`, so a test can send ids and refs the types would not allow. */
function commitMessage(commit: string, ref: string): Message {
  return { type: 'commit', commit, ref } as Message;
}

function observeMessage(repo: string): Message {
  return { type: 'observe', project: null, repo, supersede: false } as Message;
}

function queryMessage(commit: string | null): Message {
  return { type: 'query', commit, project: null } as Message;
}

// ---------------------------------------------------------------------------
// Processes: the built entry points with an environment of the test's choosing.

interface Child {
  child: ChildProcess;
  lines: string[];
  stdout: () => string;
  stderr: () => string;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  count(pattern: RegExp): number;
  exited: Promise<number | null>;
}

/** KEEL_TOKEN is removed unless given, so nothing leaks in from the developer's shell. */
function start(t: TestContext, entry: string, args: string[], env: Record<string, string> = {}, cwd?: string): Child {
  const base: NodeJS.ProcessEnv = { ...process.env, NODE_DEBUG: "" };
  delete base.KEEL_TOKEN;
  const child = spawn(process.execPath, [`${DIST}${entry}`, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...base, ...env } });
  const lines: string[] = [];
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const wake = () => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      wake();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => {
    resolve(code);
    wake();
  }));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) => new Promise<RegExpExecArray>((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      listeners.delete(check);
      settle();
    };
    const check = () => {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return finish(() => resolve(match));
      }
      if (child.exitCode !== null || child.signalCode !== null) finish(() => reject(new Error(`${entry} exited before printing ${pattern}:\n${lines.join('\n')}`)));
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`${entry} did not print ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`))), timeoutMs);
    listeners.add(check);
    check();
  });
  const count = (pattern: RegExp) => lines.filter((line) => pattern.test(line)).length;
  return { child, lines, stdout: () => out, stderr: () => err, waitForLine, count, exited };
}

async function run(t: TestContext, entry: string, args: string[], env: Record<string, string> = {}) {
  const proc = start(t, entry, args, env);
  const code = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

async function dispatcherProcess(t: TestContext, extra: string[] = [], env: Record<string, string> = {}) {
  const dir = tempDir(t, 'keel-sec-');
  const results = join(dir, 'results');
  const proc = start(t, 'dispatcher/main.js', ['--port', '0', '--results', results, '--state', join(dir, 'state'), ...extra], env, dir);
  const port = Number((await proc.waitForLine(/listening on [^ ]*:(\d+)/))[1]);
  return { ...proc, dir, results, port, address: `127.0.0.1:${port}` };
}

/** A dispatcher process that requires the master secret. */
function securedDispatcher(t: TestContext, extra: string[] = []) {
  return dispatcherProcess(t, extra, { KEEL_TOKEN: MASTER });
}

// ---------------------------------------------------------------------------
// Raw protocol peers.

function keyOf(token: string): Buffer {
  return parseSecret(token).key;
}

async function raw(t: TestContext, port: number): Promise<TestPeer> {
  const peer = await TestPeer.connect(port);
  t.after(() => peer.close());
  return peer;
}

/** hello, then the challenge answered with `key` (which may be the wrong one). */
async function answer(t: TestContext, port: number, role: Role, name: string, key: Buffer): Promise<TestPeer> {
  const peer = await raw(t, port);
  peer.send({ type: 'hello', version: PROTOCOL_VERSION, role, name });
  const { nonce } = await peer.next('challenge');
  peer.send({ type: 'auth', proof: prove(key, nonce, role, name) });
  return peer;
}

async function admitted(t: TestContext, port: number, role: Role, name: string, key = roleKey(MASTER_KEY, role)): Promise<TestPeer> {
  const peer = await answer(t, port, role, name, key);
  await peer.next('welcome');
  return peer;
}

async function refusedWith(peer: TestPeer, code: string): Promise<void> {
  const error = await peer.next('error');
  assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
  await peer.closed;
  assert.ok(peer.isClosed, `the dispatcher closes the connection after ${code}`);
}

async function buildsOf(peer: TestPeer, commit: string | null) {
  peer.send(queryMessage(commit));
  return peer.next('status');
}

/** A passing outcome; built on the fixture so it keeps up with RunOutcome's fields. */
function outcome(): RunOutcome {
  return { ...fullOutcome, status: 'passed', exitCode: 0, startedAt: new Date().toISOString(), command: ['true'], message: '', counts: null };
}

/** An in-process dispatcher (port 0, temp folders) for the limits and injection tests. */
async function inProcess(t: TestContext, flags: string[] = []) {
  const results = tempDir(t, 'keel-sec-results-');
  const state = tempDir(t, 'keel-sec-state-');
  const lines: string[] = [];
  const config = parseDispatcherConfig(['--port', '0', '--results', results, '--state', state, ...flags], {});
  const running = await startDispatcher(config, (line) => lines.push(line));
  const peers: TestPeer[] = [];
  t.after(async () => {
    for (const peer of peers) peer.close();
    await running.close();
  });
  const keep = (peer: TestPeer) => {
    peers.push(peer);
    return peer;
  };
  const as = async (role: Role, name = `sec-${role}`) => keep(await TestPeer.as(running.port, role, name));
  const raw = async () => keep(await TestPeer.connect(running.port));
  const observer = async (repo: string) => keep(await TestPeer.observer(running.port, repo, { name: 'sec-observer' }));
  return { port: running.port, results, state, lines, as, raw, observer };
}

// ---------------------------------------------------------------------------
// 1. Authentication

test('with a secret, hello is answered by a challenge, never by welcome', async (t) => {
  const d = await securedDispatcher(t);
  const peer = await raw(t, d.port);
  peer.send({ type: 'hello', version: PROTOCOL_VERSION, role: 'client', name: 'curious' });
  const challenge = await peer.next('challenge');
  assert.match(challenge.nonce, /^[A-Za-z0-9_-]{16,128}$/);
  assert.deepEqual(peer.received.map((m) => m.type), [], 'nothing but the challenge was sent');

  // Each connection gets a fresh nonce, so a recorded proof cannot be replayed.
  const other = await raw(t, d.port);
  other.send({ type: 'hello', version: PROTOCOL_VERSION, role: 'client', name: 'curious' });
  assert.notEqual((await other.next('challenge')).nonce, challenge.nonce);
});

test('a wrong proof gets auth-failed and the connection closes', async (t) => {
  const d = await securedDispatcher(t);
  const wrongMaster = parseSecret(`another-master-${randomBytes(12).toString('hex')}`).key;
  await refusedWith(await answer(t, d.port, 'client', 'mallory', roleKey(wrongMaster, 'client')), 'auth-failed');

  const peer = await raw(t, d.port);
  peer.send({ type: 'hello', version: PROTOCOL_VERSION, role: 'client', name: 'mallory' });
  await peer.next('challenge');
  peer.send({ type: 'auth', proof: '0'.repeat(64) });
  await refusedWith(peer, 'auth-failed');

  // A proof for another name (replaying what someone else sent) fails too.
  const replay = await raw(t, d.port);
  replay.send({ type: 'hello', version: PROTOCOL_VERSION, role: 'client', name: 'mallory' });
  const { nonce } = await replay.next('challenge');
  replay.send({ type: 'auth', proof: prove(roleKey(MASTER_KEY, 'client'), nonce, 'client', 'somebody-else') });
  await refusedWith(replay, 'auth-failed');
});

test('a commit sent instead of auth is refused as unexpected, closed and never queued', async (t) => {
  const d = await securedDispatcher(t);
  const peer = await raw(t, d.port);
  peer.send({ type: 'hello', version: PROTOCOL_VERSION, role: 'observer', name: 'sneaky' });
  await peer.next('challenge');
  peer.send(commitMessage(SHA, REF));
  await refusedWith(peer, 'unexpected');
  assert.equal(peer.received.some((m) => m.type === 'queued'), false);

  const client = await admitted(t, d.port, 'client', 'checker');
  assert.deepEqual((await buildsOf(client, SHA)).builds, [], 'the commit is unknown');
  const overview = await buildsOf(client, null);
  assert.equal(overview.queued, 0);
  assert.deepEqual(overview.builds, []);
});

test('a runner token cannot authenticate as an observer (or as anything but a runner)', async (t) => {
  const d = await securedDispatcher(t);
  const runnerToken = formatToken(MASTER_KEY, 'runner');
  assert.match(runnerToken, /^keel1:runner:[0-9a-f]{64}$/);
  const key = keyOf(runnerToken);
  // The same key and proof computation work for the role it names...
  await admitted(t, d.port, 'runner', 'r-ok', key);
  // ...and for no other role.
  for (const role of ['observer', 'client', 'admin'] as const) {
    await refusedWith(await answer(t, d.port, role, 'r-as-other', key), 'auth-failed');
  }
});

test('a client token may query but not commit, not manage admins, not act as admin', async (t) => {
  const d = await securedDispatcher(t);
  const key = keyOf(formatToken(MASTER_KEY, 'client'));
  const client = await admitted(t, d.port, 'client', 'read-only', key);
  assert.equal((await buildsOf(client, null)).type, 'status');

  client.send(commitMessage(SHA, REF));
  const refused = await client.next('error');
  assert.equal(refused.code, 'not-allowed', refused.message);
  client.send({ type: 'admins', op: 'add', name: 'mallory' });
  assert.equal((await client.next('error')).code, 'not-allowed');
  assert.deepEqual((await buildsOf(client, SHA)).builds, [], 'the commit was not queued');

  await refusedWith(await answer(t, d.port, 'admin', 'owner', key), 'auth-failed');
  assert.equal(existsSync(join(d.dir, 'state', 'admins')), false, 'the admin list was never written');
});

test('the secret never crosses the wire: a real `keel status` and a raw handshake, every byte recorded', async (t) => {
  const d = await securedDispatcher(t);
  const wire: Buffer[] = [];
  // A recording proxy between the CLI and the dispatcher.
  const proxy = createServer((downstream) => {
    const upstream = connect({ host: '127.0.0.1', port: d.port });
    downstream.on('data', (chunk) => {
      wire.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      wire.push(chunk);
      downstream.write(chunk);
    });
    downstream.on('end', () => upstream.end());
    upstream.on('end', () => downstream.end());
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => proxy.close());
  const proxyPort = (proxy.address() as { port: number }).port;

  const status = await run(t, 'cli/main.js', ['status', '--dispatcher', `127.0.0.1:${proxyPort}`], { KEEL_TOKEN: MASTER });
  assert.equal(status.code, 0, status.stderr);

  // My own raw socket, straight to the dispatcher, with a derived token.
  const token = formatToken(MASTER_KEY, 'client');
  const socket: Socket = connect({ host: '127.0.0.1', port: d.port });
  t.after(() => socket.destroy());
  let received = '';
  socket.on('data', (chunk) => {
    wire.push(chunk);
    received += chunk.toString('utf8');
  });
  const send = (line: string) => {
    wire.push(Buffer.from(line));
    socket.write(line);
  };
  const waitForText = (text: string) => waitFor(() => received.includes(text), `"${text}" from the dispatcher`, 10_000);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  send(`${JSON.stringify({ type: 'hello', version: 1, role: 'client', name: 'wire' })}\n`);
  await waitForText('"challenge"');
  const nonce = /"nonce":"([^"]+)"/.exec(received)![1]!;
  send(`${JSON.stringify({ type: 'auth', proof: prove(keyOf(token), nonce, 'client', 'wire') })}\n`);
  await waitForText('"welcome"');
  send(`${JSON.stringify(queryMessage(null))}\n`);
  await waitForText('"status"');

  const all = Buffer.concat(wire).toString('latin1');
  assert.match(all, /"challenge"/, 'the recording saw the handshake');
  assert.match(all, /"auth"/);
  const secrets: Record<string, string> = {
    'the master': MASTER,
    'the master as hex': Buffer.from(MASTER).toString('hex'),
    'the master as base64': Buffer.from(MASTER).toString('base64'),
    'the client token': token,
  };
  for (const role of AUTH_ROLES) secrets[`the ${role} key`] = roleKey(MASTER_KEY, role).toString('hex');
  for (const [what, value] of Object.entries(secrets)) {
    assert.equal(all.includes(value), false, `${what} appeared on the wire`);
    assert.equal(all.toLowerCase().includes(value.toLowerCase()), false, `${what} appeared on the wire (any case)`);
  }
});

test('a real runner with a runner token registers; one with a wrong token is refused and keeps retrying', async (t) => {
  const d = await securedDispatcher(t);
  const dir = tempDir(t, 'keel-sec-runner-');
  writeFileSync(join(dir, 'runner.token'), `${formatToken(MASTER_KEY, 'runner')}\n`);
  const good = start(t, 'runner/main.js', ['--dispatcher', d.address, '--name', 'good-runner', '--workdir', join(dir, 'good'), '--token-file', join(dir, 'runner.token')]);
  await good.waitForLine(/registered with dispatcher/);
  await d.waitForLine(/runner good-runner registered/);

  const otherMaster = parseSecret(`not-the-master-${randomBytes(12).toString('hex')}`).key;
  writeFileSync(join(dir, 'wrong.token'), `${formatToken(otherMaster, 'runner')}\n`);
  const bad = start(t, 'runner/main.js', ['--dispatcher', d.address, '--name', 'bad-runner', '--workdir', join(dir, 'bad'), '--token-file', join(dir, 'wrong.token')]);
  await bad.waitForLine(/auth-failed/);
  // Refused again after its backoff: it retries rather than exiting.
  await waitFor(() => d.count(/authentication as runner failed/) >= 2, 'a second refused attempt', 20_000);
  assert.equal(bad.child.exitCode, null, `the refused runner is still running:\n${bad.lines.join('\n')}`);
  assert.equal(bad.count(/registered with dispatcher/), 0, 'the refused runner never registered');
  assert.equal(d.count(/runner bad-runner registered/), 0);
});

// ---------------------------------------------------------------------------
// 2. Admins

test('keel admin: the owner adds alice, her token acts as admin until she is removed; a client token cannot', async (t) => {
  const d = await securedDispatcher(t);
  const dir = tempDir(t, 'keel-sec-admin-');
  const at = ['--dispatcher', d.address];

  const added = await run(t, 'cli/main.js', ['admin', 'add', 'alice', ...at], { KEEL_TOKEN: MASTER });
  assert.equal(added.code, 0, added.stderr);
  const token = /keel1:admin:alice:[0-9a-f]{64}/.exec(added.stdout)?.[0];
  assert.ok(token, `admin add prints alice's token:\n${added.stdout}`);
  writeFileSync(join(dir, 'alice.token'), `${token}\n`);

  const listed = await run(t, 'cli/main.js', ['admin', 'list', ...at, '--token-file', join(dir, 'alice.token')]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^alice$/m);
  await d.waitForLine(/admin owner added admin alice/);

  // Alice's key is hers alone: it does not let her pose as another admin.
  await refusedWith(await answer(t, d.port, 'admin', 'bob', keyOf(token)), 'auth-failed');

  const removed = await run(t, 'cli/main.js', ['admin', 'remove', 'alice', ...at], { KEEL_TOKEN: MASTER });
  assert.equal(removed.code, 0, removed.stderr);
  assert.doesNotMatch(removed.stdout, /^alice$/m);

  const after = await run(t, 'cli/main.js', ['admin', 'list', ...at, '--token-file', join(dir, 'alice.token')]);
  assert.notEqual(after.code, 0, `alice's token no longer works:\n${after.stdout}`);
  assert.match(after.stderr, /auth-failed/);
  await refusedWith(await answer(t, d.port, 'admin', 'alice', keyOf(token)), 'auth-failed');

  writeFileSync(join(dir, 'client.token'), `${formatToken(MASTER_KEY, 'client')}\n`);
  const asClient = await run(t, 'cli/main.js', ['admin', 'list', ...at, '--token-file', join(dir, 'client.token')]);
  assert.notEqual(asClient.code, 0, `a client token cannot list admins:\n${asClient.stdout}`);
  assert.doesNotMatch(asClient.stdout, /alice|no admins listed/);
  // And on the wire, an admitted client asking for the list is refused.
  const client = await admitted(t, d.port, 'client', 'ro', keyOf(formatToken(MASTER_KEY, 'client')));
  client.send({ type: 'admins', op: 'list', name: null });
  assert.equal((await client.next('error')).code, 'not-allowed');
});

// ---------------------------------------------------------------------------
// 3. No secret, no listening beyond loopback

test('without a secret, --host 0.0.0.0 exits 2 before listening; --insecure is accepted (checked in-process only)', async (t) => {
  const dir = tempDir(t, 'keel-sec-host-');
  const proc = start(t, 'cli/main.js', ['dispatcher', '--host', '0.0.0.0', '--port', '0', '--results', join(dir, 'r'), '--state', join(dir, 's')], {}, dir);
  // Should it ever listen, kill it at once rather than stay open to the network.
  const listening = proc.waitForLine(/listening on/, 30_000).then(() => proc.child.kill('SIGKILL'), () => {});
  const code = await proc.exited;
  await listening;
  assert.equal(code, 2, proc.lines.join('\n'));
  assert.equal(proc.count(/listening on/), 0, 'it never listened');
  assert.match(proc.stderr(), /secret/i);
  assert.match(proc.stderr(), /--insecure/);
  assert.equal(existsSync(join(dir, 's')), false, 'nothing was created before refusing');

  const base = ['--port', '0', '--results', join(dir, 'r'), '--state', join(dir, 's')];
  assert.throws(() => parseDispatcherConfig(['--host', '0.0.0.0', ...base], {}), (error: Error) => error instanceof ConfigError && /--insecure/.test(error.message));
  assert.throws(() => parseDispatcherConfig(['--host', '192.0.2.1', ...base], {}), ConfigError);
  assert.equal(parseDispatcherConfig(['--host', '0.0.0.0', '--insecure', ...base], {}).host, '0.0.0.0');
  assert.equal(parseDispatcherConfig(['--host', '0.0.0.0', ...base], { KEEL_TOKEN: MASTER }).security.secret?.kind, 'master');
  assert.equal(parseDispatcherConfig(['--host', '127.0.0.1', ...base], {}).security.secret, null, 'loopback needs no secret');
  assert.throws(() => parseDispatcherConfig(['--host', '0.0.0.0', ...base], { KEEL_TOKEN: 'short' }), ConfigError, 'a too-short secret is refused');
  assert.throws(() => parseDispatcherConfig(['--host', '0.0.0.0', ...base], { KEEL_TOKEN: formatToken(MASTER_KEY, 'runner') }), ConfigError, 'a derived token is not a master');
});

// ---------------------------------------------------------------------------
// 4. TLS

/** Bytes a plain-TCP peer gets back after saying hello to a TLS port, once the connection ends. */
function plainHello(port: number): Promise<{ text: string; ended: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    let ended = 'closed';
    const timer = setTimeout(() => {
      ended = 'still open after 10 s';
      socket.destroy();
    }, 10_000);
    socket.on('connect', () => socket.write(`${JSON.stringify({ type: 'hello', version: 1, role: 'client', name: 'plain' })}\n`));
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', (error) => (ended = `failed: ${error.message}`));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ended });
    });
  });
}

test('TLS: keel status trusts only the given CA; a plain-TCP peer gets no protocol answer; a runner registers over TLS', async (t) => {
  const pki = makePki(t);
  const d = await dispatcherProcess(t, ['--tls-cert', pki.server, '--tls-key', pki.serverKey]);
  assert.match(d.lines.join('\n'), /\(TLS\)/);
  const at = ['--dispatcher', d.address];

  const ok = await run(t, 'cli/main.js', ['status', ...at, '--tls-ca', pki.ca]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /runners:/);

  const wrongCa = await run(t, 'cli/main.js', ['status', ...at, '--tls-ca', pki.otherCa]);
  assert.equal(wrongCa.code, 2, wrongCa.stderr);
  assert.match(wrongCa.stderr, /certificate/i);
  assert.doesNotMatch(wrongCa.stdout, /runners:/);

  const plain = await plainHello(d.port);
  assert.notEqual(plain.ended, 'still open after 10 s', 'the TLS port closes on a plain-TCP peer');
  assert.doesNotMatch(plain.text, /"type"|welcome|challenge/, 'no protocol message in plain text');

  const dir = tempDir(t, 'keel-sec-tls-runner-');
  const runner = start(t, 'runner/main.js', ['--dispatcher', d.address, '--name', 'tls-runner', '--workdir', dir, '--tls-ca', pki.ca]);
  await runner.waitForLine(/registered with dispatcher/);
  await d.waitForLine(/runner tls-runner registered/);
});

test('TLS with --tls-ca on the dispatcher: a peer needs a client certificate signed by that CA', async (t) => {
  const pki = makePki(t);
  const d = await dispatcherProcess(t, ['--tls-cert', pki.server, '--tls-key', pki.serverKey, '--tls-ca', pki.clientCa]);
  const at = ['--dispatcher', d.address, '--tls-ca', pki.ca];

  const without = await run(t, 'cli/main.js', ['status', ...at]);
  assert.notEqual(without.code, 0, `no client certificate, no answer:\n${without.stdout}`);
  assert.doesNotMatch(without.stdout, /runners:/);

  const rogue = await run(t, 'cli/main.js', ['status', ...at, '--tls-cert', pki.rogueClient, '--tls-key', pki.rogueClientKey]);
  assert.notEqual(rogue.code, 0, `a client certificate from another CA is refused:\n${rogue.stdout}`);
  assert.doesNotMatch(rogue.stdout, /runners:/);

  const withCert = await run(t, 'cli/main.js', ['status', ...at, '--tls-cert', pki.client, '--tls-key', pki.clientKey]);
  assert.equal(withCert.code, 0, withCert.stderr);
  assert.match(withCert.stdout, /runners:/);
});

// ---------------------------------------------------------------------------
// 5. Limits

test('--hello-timeout: a silent connection is closed with hello-timeout', async (t) => {
  const d = await inProcess(t, ['--hello-timeout', '0.2']);
  const silent = await d.raw();
  const started = Date.now();
  await refusedWith(silent, 'hello-timeout');
  assert.ok(Date.now() - started < 5000, 'closed after about 0.2 s, not the 10 s default');
});

test('--max-pending: a connection beyond the cap closes the oldest silent one with busy, and the new peer is admitted', async (t) => {
  const d = await inProcess(t, ['--max-pending', '3']);
  const silent = [await d.raw(), await d.raw(), await d.raw()];
  const fourth = await d.raw();
  await refusedWith(silent[0]!, 'busy');
  fourth.send({ type: 'hello', version: PROTOCOL_VERSION, role: 'client', name: 'fourth' });
  await fourth.next('welcome');
  assert.equal((await buildsOf(fourth, null)).type, 'status', 'the newest is served');
  for (const peer of silent.slice(1)) assert.equal(peer.isClosed, false, 'the younger silent ones are still waiting');
});

test('--max-pending-per-source: silent sockets from one address cannot fill the dispatcher; a fresh status call always gets in', async (t) => {
  const d = await inProcess(t, ['--max-pending', '64', '--max-pending-per-source', '8']);
  const silent = await Promise.all(Array.from({ length: 80 }, () => d.raw()));
  await waitFor(() => silent.filter((peer) => peer.isClosed).length >= 72, 'all but the newest 8 silent sockets closed', 10_000);
  assert.ok(d.lines.some((line) => line.includes('--max-pending-per-source')), d.lines.join('\n'));
  for (let i = 0; i < 3; i++) {
    const client = await d.as('client', `fresh-${i}`);
    assert.equal((await buildsOf(client, null)).type, 'status', 'a fresh client is admitted and answered');
  }
});

test('--max-line-mib 1: a 2 MiB line gets line-too-long and the connection closes, admitted or not', async (t) => {
  const d = await inProcess(t, ['--max-line-mib', '1']);
  const big = `${JSON.stringify({ type: 'hello', version: 1, role: 'client', name: 'x'.repeat(2 * 1024 * 1024) })}\n`;
  const stranger = await d.raw();
  stranger.sendRaw(big);
  await refusedWith(stranger, 'line-too-long');

  const client = await d.as('client');
  client.sendRaw(`${JSON.stringify(queryMessage('x'.repeat(2 * 1024 * 1024)))}\n`);
  await refusedWith(client, 'line-too-long');

  const after = await d.as('client');
  assert.equal((await buildsOf(after, null)).type, 'status', 'others are still served');
});

/** A real commit in a real repository, so the dispatcher can read whatever it likes from it. */
function realCommit(t: TestContext): { repo: string; sha: string } {
  const repo = makeRepo(t);
  return { repo, sha: commitFiles(repo, { 'README.md': 'security test\n' }, 'a commit to build') };
}

test('--max-errors 2: an admitted observer is forgiven two bad lines and closed at the third', async (t) => {
  const d = await inProcess(t, ['--max-errors', '2']);
  const real = realCommit(t);
  const observer = await d.observer(real.repo);
  observer.sendRaw('{not json\n');
  assert.equal((await observer.next('error')).code, 'bad-json');
  observer.send(commitMessage('HEAD', REF));
  assert.equal((await observer.next('error')).code, 'bad-field');
  // Still served after two.
  observer.send(commitMessage(real.sha, REF));
  assert.equal((await observer.next('queued')).commit, real.sha);
  observer.sendRaw('[1,2]\n');
  await refusedWith(observer, 'not-an-object');
});

test('--max-log-mib 2: 5 MiB of output leaves the head, the last MiB and a note of what was dropped', async (t) => {
  const d = await inProcess(t, ['--max-log-mib', '2']);
  const { repo, sha: SHA } = realCommit(t);
  const runner = await d.as('runner', 'log-runner');
  runner.send({ type: 'register', name: 'log-runner', slots: 1, labels: [], leases: [] });
  await runner.next('registered');
  runner.answerPings();
  const observer = await d.observer(repo);
  observer.send(commitMessage(SHA, REF));
  await observer.next('queued');
  const job = await runner.next('job');

  const CHUNK = 64 * 1024;
  const chunks = 80; // 5 MiB
  const filler = `${'x'.repeat(99)}\n`.repeat(CHUNK / 100 + 1);
  for (let i = 0; i < chunks; i++) {
    let data = filler.slice(0, CHUNK);
    if (i === 0) data = `FIRST-OUTPUT-BYTES${data.slice(18)}`;
    if (i === chunks / 2) data = `MIDDLE-OUTPUT-BYTES${data.slice(19)}`;
    if (i === chunks - 1) data = `${data.slice(0, -18)}LAST-OUTPUT-BYTES\n`;
    runner.send({ type: 'output', lease: job.lease, stream: 'stdout', data });
  }
  runner.send({ type: 'result', lease: job.lease, outcome: outcome() });
  assert.deepEqual(await runner.next('recorded', 60_000), { type: 'recorded', lease: job.lease, accepted: true });
  await waitFor(() => existsSync(join(d.results, SHA)), 'the report', 30_000);

  const logPath = join(d.results, `${SHA}.log`);
  const size = statSync(logPath).size;
  assert.ok(size <= 2 * 1024 * 1024 + 16 * 1024, `the log is capped near 2 MiB, got ${size} bytes`);
  assert.ok(size >= 2 * 1024 * 1024 - 16 * 1024, `the log keeps about 2 MiB, got ${size} bytes`);
  const log = readFileSync(logPath, 'utf8');
  assert.ok(log.includes('FIRST-OUTPUT-BYTES'), 'the head is kept');
  assert.ok(log.includes('LAST-OUTPUT-BYTES'), 'the last bytes are kept');
  assert.equal(log.includes('MIDDLE-OUTPUT-BYTES'), false, 'the middle is dropped');
  assert.match(log, /dropped/);
  assert.match(log, /\d{6,} bytes/, 'the note says how many bytes were dropped');
});

// ---------------------------------------------------------------------------
// 6. Injection

test('refs, ids and repository URLs that could reach a shell, a path or a git option are refused', async (t) => {
  const d = await inProcess(t);
  const dir = tempDir(t, 'keel-sec-inject-');
  const mark = join(dir, 'pwned');
  const repo = '/srv/git/app.git';
  const observer = await d.observer(repo);
  const bad: Array<{ commit: string; repo: string; ref: string; field: string }> = [
    { commit: SHA, repo, ref: `refs/heads/$(touch ${mark})`, field: 'ref' },
    { commit: SHA, repo, ref: `refs/heads/\`touch ${mark}\``, field: 'ref' },
    { commit: SHA, repo, ref: `refs/heads/x;touch ${mark}`, field: 'ref' },
    { commit: SHA, repo, ref: 'refs/heads/../../../etc/passwd', field: 'ref' },
    { commit: SHA, repo, ref: `--upload-pack=touch ${mark}`, field: 'ref' },
    { commit: SHA, repo, ref: 'main', field: 'ref' },
    { commit: SHA, repo, ref: 'refs/heads/a\ntouch', field: 'ref' },
    { commit: '../X', repo, ref: REF, field: 'commit' },
    { commit: `../${'a'.repeat(37)}`, repo, ref: REF, field: 'commit' },
    { commit: `${'a'.repeat(40)}/../../x`, repo, ref: REF, field: 'commit' },
    { commit: 'HEAD', repo, ref: REF, field: 'commit' },
    { commit: 'A'.repeat(40), repo, ref: REF, field: 'commit' },
    { commit: SHA, repo: `ext::sh -c touch% ${mark}`, ref: REF, field: 'repo' },
    { commit: SHA, repo: `--upload-pack=touch ${mark}`, ref: REF, field: 'repo' },
    { commit: SHA, repo: `-oProxyCommand=touch ${mark}:x`, ref: REF, field: 'repo' },
    { commit: SHA, repo: `ssh://-oProxyCommand=touch${mark}/x`, ref: REF, field: 'repo' },
    { commit: SHA, repo: 'relative/path', ref: REF, field: 'repo' },
  ];
  // A bad repository URL is refused where it is given: when an observer registers.
  const unregistered = await d.as('observer', 'sec-unregistered');
  for (const c of bad) {
    const peer = c.field === 'repo' ? unregistered : observer;
    peer.send(c.field === 'repo' ? observeMessage(c.repo) : commitMessage(c.commit, c.ref));
    const error = await peer.next('error');
    assert.equal(error.code, 'bad-field', `${JSON.stringify(c)}: ${error.message}`);
    assert.match(error.message, new RegExp(`"${c.field}`), `${JSON.stringify(c)} names the field: ${error.message}`);
  }
  assert.equal(observer.received.some((m) => m.type === 'queued'), false, 'nothing was queued');
  const client = await d.as('client');
  const overview = await buildsOf(client, null);
  assert.equal(overview.queued, 0);
  assert.deepEqual(overview.builds, []);
  assert.deepEqual(readdirSync(d.results), [], 'no result file was made');
  assert.equal(existsSync(mark), false);
});

test("a runner's tests never see KEEL_TOKEN, and a shell-looking ref reaches them only as text", async (t) => {
  const d = await securedDispatcher(t);
  const dir = tempDir(t, 'keel-sec-env-');
  const envFile = join(dir, 'test-env.txt');
  const mark = join(dir, 'pwned');
  // A valid ref (git check-ref-format accepts $, (, ) and {}) that a shell would run.
  const ref = `refs/heads/x$(touch\${IFS}${mark})`;
  const repo = makeRepo(t);
  const sha = commitFiles(repo, { 'tests/run.sh': `#!/bin/sh\nenv > '${envFile}'\n` }, 'dump the environment');

  const runner = start(t, 'runner/main.js', ['--dispatcher', d.address, '--name', 'env-runner', '--workdir', join(dir, 'work')], {
    KEEL_TOKEN: MASTER,
    KEEL_CANARY: 'canary-value',
  });
  await runner.waitForLine(/registered with dispatcher/);
  const observer = await admitted(t, d.port, 'observer', 'env-observer');
  observer.send(observeMessage(repo));
  await observer.next('observing');
  observer.send(commitMessage(sha, ref));
  assert.equal((await observer.next('queued')).commit, sha);

  await waitFor(() => existsSync(join(d.results, sha)), 'the result', 60_000);
  const record = JSON.parse(readFileSync(join(d.results, `${sha}.json`), 'utf8'));
  assert.equal(record.status, 'passed', JSON.stringify(record, null, 2));
  const env = readFileSync(envFile, 'utf8');
  assert.doesNotMatch(env, /^KEEL_TOKEN=/m, 'KEEL_TOKEN reached the tests');
  assert.equal(env.includes(MASTER), false, 'the master secret reached the tests');
  assert.equal(env.includes(roleKey(MASTER_KEY, 'runner').toString('hex')), false, 'the runner key reached the tests');
  assert.doesNotMatch(env, /KEEL_CANARY/, 'only allow-listed variables reach the tests');
  assert.ok(env.split('\n').includes(`KEEL_REF=${ref}`), `KEEL_REF is the literal ref:\n${env}`);
  assert.ok(env.split('\n').includes(`KEEL_COMMIT=${sha}`));
  assert.match(env, /^CI=true$/m);
  assert.equal(existsSync(mark), false, 'the ref was never run by a shell');
});
