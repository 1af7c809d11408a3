// Secrets and roles, end to end: with a master secret the dispatcher admits
// only peers that prove the key of the role they claim, a token names what it
// may do, and the secret itself never crosses the wire. Each test fails if
// its feature is taken away.
import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { AUTH_ROLES, formatToken, prove, roleKey } from '../../src/common/auth.js';
import { encode } from '../../src/protocol/codec.js';
import { runCli, world } from '../helpers/e2e.js';
import { keyFor, keyOf, MASTER, MASTER_KEY, otherMasterKey } from '../helpers/e2e-secret.js';
import {
  adminsMessage, authMessage, commitMessage, connectAs, expectRefused, helloMessage, MAIN_REF, query, queryMessage, sayHello,
} from '../helpers/e2e-wire.js';
import { listenOn } from '../helpers/listen.js';
import { waitFor } from '../helpers/temp.js';

const SHA = '5'.repeat(40);

test('with a secret, hello is answered by a challenge, never by welcome', async (t) => {
  const d = await world(t).dispatcher({ secret: MASTER });
  const peer = await sayHello(t, d.port, 'client', 'curious');
  const challenge = await peer.next('challenge');
  assert.match(challenge.nonce, /^[A-Za-z0-9_-]{16,128}$/);
  assert.deepEqual(peer.received.map((m) => m.type), [], 'nothing but the challenge was sent');

  // Each connection gets a fresh nonce, so a recorded proof cannot be replayed.
  const other = await sayHello(t, d.port, 'client', 'curious');
  assert.notEqual((await other.next('challenge')).nonce, challenge.nonce);
});

test('a wrong proof gets auth-failed and the connection closes', async (t) => {
  const d = await world(t).dispatcher({ secret: MASTER });
  await expectRefused(await sayHello(t, d.port, 'client', 'mallory', { key: roleKey(otherMasterKey(), 'client') }), 'auth-failed');

  const peer = await sayHello(t, d.port, 'client', 'mallory');
  await peer.next('challenge');
  peer.send(authMessage('0'.repeat(64)));
  await expectRefused(peer, 'auth-failed');

  // A proof for another name (replaying what someone else sent) fails too.
  const replay = await sayHello(t, d.port, 'client', 'mallory');
  const { nonce } = await replay.next('challenge');
  replay.send(authMessage(prove(keyFor('client'), nonce, 'client', 'somebody-else')));
  await expectRefused(replay, 'auth-failed');
});

test('a commit sent instead of auth is refused as unexpected, closed and never queued', async (t) => {
  const d = await world(t).dispatcher({ secret: MASTER });
  const peer = await sayHello(t, d.port, 'observer', 'sneaky');
  await peer.next('challenge');
  peer.send(commitMessage(SHA, MAIN_REF));
  await expectRefused(peer, 'unexpected');
  assert.equal(peer.received.some((m) => m.type === 'queued'), false);

  const client = await connectAs(t, d.port, 'client', 'checker', { key: keyFor('client') });
  assert.deepEqual((await query(client, SHA)).builds, [], 'the commit is unknown');
  const overview = await query(client);
  assert.equal(overview.queued, 0);
  assert.deepEqual(overview.builds, []);
});

test('a runner token cannot authenticate as an observer (or as anything but a runner)', async (t) => {
  const d = await world(t).dispatcher({ secret: MASTER });
  const runnerToken = formatToken(MASTER_KEY, 'runner');
  assert.match(runnerToken, /^keel1:runner:[0-9a-f]{64}$/);
  const key = keyOf(runnerToken);
  // The same key and proof computation work for the role it names...
  await connectAs(t, d.port, 'runner', 'r-ok', { key });
  // ...and for no other role.
  for (const role of ['observer', 'client', 'admin'] as const) {
    await expectRefused(await sayHello(t, d.port, role, 'r-as-other', { key }), 'auth-failed');
  }
});

test('a client token may query but not commit, not manage admins, not act as admin', async (t) => {
  const w = world(t);
  const d = await w.dispatcher({ secret: MASTER });
  const key = keyOf(formatToken(MASTER_KEY, 'client'));
  const client = await connectAs(t, d.port, 'client', 'read-only', { key });
  assert.equal((await query(client)).type, 'status');

  client.send(commitMessage(SHA, MAIN_REF));
  const refused = await client.next('error');
  assert.equal(refused.code, 'not-allowed', refused.message);
  client.send(adminsMessage('add', 'mallory'));
  assert.equal((await client.next('error')).code, 'not-allowed');
  assert.deepEqual((await query(client, SHA)).builds, [], 'the commit was not queued');

  await expectRefused(await sayHello(t, d.port, 'admin', 'owner', { key }), 'auth-failed');
  assert.equal(existsSync(join(w.state, 'admins')), false, 'the admin list was never written');
});

test('the secret never crosses the wire: a real `keel status` and a raw handshake, every byte recorded', async (t) => {
  const d = await world(t).dispatcher({ secret: MASTER });
  const wire: Buffer[] = [];
  // A recording proxy between the CLI and the dispatcher.
  const { server: proxy, port: proxyPort } = await listenOn();
  proxy.on('connection', (downstream) => {
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
  t.after(() => proxy.close());

  const status = await runCli(['status', '--dispatcher', `127.0.0.1:${proxyPort}`], { KEEL_TOKEN: MASTER });
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
  send(encode(helloMessage('client', 'wire')));
  await waitForText('"challenge"');
  const nonce = /"nonce":"([^"]+)"/.exec(received)![1]!;
  send(encode(authMessage(prove(keyOf(token), nonce, 'client', 'wire'))));
  await waitForText('"welcome"');
  send(encode(queryMessage(null)));
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
  for (const role of AUTH_ROLES) secrets[`the ${role} key`] = keyFor(role).toString('hex');
  for (const [what, value] of Object.entries(secrets)) {
    assert.equal(all.includes(value), false, `${what} appeared on the wire`);
    assert.equal(all.toLowerCase().includes(value.toLowerCase()), false, `${what} appeared on the wire (any case)`);
  }
});

test('a real runner with a runner token registers; one with a wrong token is told why once, and exits 2 after a few tries', async (t) => {
  const w = world(t);
  const d = await w.dispatcher({ secret: MASTER });
  const goodToken = join(w.tmp, 'runner.token');
  writeFileSync(goodToken, `${formatToken(MASTER_KEY, 'runner')}\n`);
  await w.runner('good-runner', d, { extra: ['--token-file', goodToken] });

  const wrongToken = join(w.tmp, 'wrong.token');
  writeFileSync(wrongToken, `${formatToken(otherMasterKey('not-the-master'), 'runner')}\n`);
  const bad = w.startRunner('bad-runner', d, { extra: ['--token-file', wrongToken] });
  assert.equal((await w.exit(bad)).code, 2, bad.lines.join('\n'));
  // Logs kept: a refusal reaches only the refused peer and the dispatcher's log, and their saying so is the point.
  assert.equal(bad.count(/auth-failed: this secret is not derived from the dispatcher's master \(authenticating as runner\); trying 2 more times before giving up/), 1, `said once:\n${bad.lines.join('\n')}`);
  assert.equal(bad.count(/reconnecting/), 0, 'no vague line besides it');
  assert.equal(bad.count(/giving up: /), 1);
  assert.ok(d.count(/this secret is not derived from the dispatcher's master/) >= 2, 'it did try again before giving up');
  const { runners } = await d.status();
  assert.deepEqual(runners.map((r) => r.name), ['good-runner'], 'the refused runner never registered');
});
