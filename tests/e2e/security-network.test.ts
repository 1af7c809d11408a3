// Beyond loopback, end to end: without a secret the dispatcher refuses to
// listen on a public address; with TLS only a peer that trusts the right CA
// (and, when asked, shows a client certificate from the right CA) gets an
// answer. Each test fails if its feature is taken away.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatToken } from '../../src/common/auth.js';
import { ConfigError } from '../../src/common/errors.js';
import { parseDispatcherConfig } from '../../src/dispatcher/config.js';
import { encode } from '../../src/protocol/codec.js';
import { makePki } from '../helpers/certs.js';
import { runCli, world } from '../helpers/e2e.js';
import { MASTER, MASTER_KEY } from '../helpers/e2e-secret.js';
import { helloMessage } from '../helpers/e2e-wire.js';

test('without a secret, --host 0.0.0.0 exits 2 before listening; --insecure is accepted (checked in-process only)', async (t) => {
  const w = world(t);
  const results = join(w.tmp, 'r');
  const state = join(w.tmp, 's');
  const proc = w.spawn('keel dispatcher', 'cli/main.js', ['dispatcher', '--host', '0.0.0.0', '--port', '0', '--results', results, '--state', state]);
  // Log kept: "listening" is the only sign that it listens. Should it ever, kill it at once rather than stay open to the network.
  const listening = proc.waitForLine(/listening on/, 30_000).then(() => proc.child.kill('SIGKILL'), () => {});
  const { code } = await proc.exited;
  await listening;
  assert.equal(code, 2, proc.lines.join('\n'));
  assert.equal(proc.count(/listening on/), 0, 'it never listened');
  // Output kept: the refusal, naming the way out, is the point.
  assert.match(proc.stderr(), /secret/i);
  assert.match(proc.stderr(), /--insecure/);
  assert.equal(existsSync(state), false, 'nothing was created before refusing');

  const base = ['--port', '0', '--results', results, '--state', state];
  assert.throws(() => parseDispatcherConfig(['--host', '0.0.0.0', ...base], {}), (error: Error) => error instanceof ConfigError && /--insecure/.test(error.message));
  assert.throws(() => parseDispatcherConfig(['--host', '192.0.2.1', ...base], {}), ConfigError);
  assert.equal(parseDispatcherConfig(['--host', '0.0.0.0', '--insecure', ...base], {}).host, '0.0.0.0');
  assert.equal(parseDispatcherConfig(['--host', '0.0.0.0', ...base], { KEEL_TOKEN: MASTER }).security.secret?.kind, 'master');
  assert.equal(parseDispatcherConfig(['--host', '127.0.0.1', ...base], {}).security.secret, null, 'loopback needs no secret');
  assert.throws(() => parseDispatcherConfig(['--host', '0.0.0.0', ...base], { KEEL_TOKEN: 'short' }), ConfigError, 'a too-short secret is refused');
  assert.throws(() => parseDispatcherConfig(['--host', '0.0.0.0', ...base], { KEEL_TOKEN: formatToken(MASTER_KEY, 'runner') }), ConfigError, 'a derived token is not a master');
});

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
    socket.on('connect', () => socket.write(encode(helloMessage('client', 'plain'))));
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', (error) => (ended = `failed: ${error.message}`));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ended });
    });
  });
}

test('TLS: keel status trusts only the given CA; a plain-TCP peer is told to use TLS and nothing else; a runner registers over TLS', async (t) => {
  const pki = makePki(t);
  const w = world(t);
  const d = await w.dispatcher({ extra: ['--tls-cert', pki.server, '--tls-key', pki.serverKey], tls: { ca: readFileSync(pki.ca) } });
  // Log kept: the startup line is where an operator sees TLS is on; the handshakes below test TLS itself.
  assert.match(d.lines.join('\n'), /\(TLS\)/);
  const at = ['--dispatcher', d.address];

  const ok = await runCli(['status', ...at, '--tls-ca', pki.ca]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /runners:/);

  const wrongCa = await runCli(['status', ...at, '--tls-ca', pki.otherCa]);
  assert.equal(wrongCa.code, 2, wrongCa.stderr);
  assert.match(wrongCa.stderr, /certificate/i);
  assert.doesNotMatch(wrongCa.stdout, /runners:/);

  const plain = await plainHello(d.port);
  assert.notEqual(plain.ended, 'still open after 10 s', 'the TLS port closes on a plain-TCP peer');
  // One plain-text line saying why, and no protocol conversation.
  assert.deepEqual(plain.text.split('\n').filter(Boolean).map((line) => JSON.parse(line)), [
    { type: 'error', code: 'tls-required', message: 'this dispatcher speaks TLS: give --tls-ca FILE (the CA that signed its certificate)' },
  ]);

  // Listed in the status the harness asks for over TLS.
  await w.runner('tls-runner', d, { extra: ['--tls-ca', pki.ca] });
});

test('TLS with --tls-ca on the dispatcher: a peer needs a client certificate signed by that CA', async (t) => {
  const pki = makePki(t);
  const d = await world(t).dispatcher({ extra: ['--tls-cert', pki.server, '--tls-key', pki.serverKey, '--tls-ca', pki.clientCa] });
  const at = ['--dispatcher', d.address, '--tls-ca', pki.ca];

  const without = await runCli(['status', ...at]);
  assert.notEqual(without.code, 0, `no client certificate, no answer:\n${without.stdout}`);
  assert.doesNotMatch(without.stdout, /runners:/);

  const rogue = await runCli(['status', ...at, '--tls-cert', pki.rogueClient, '--tls-key', pki.rogueClientKey]);
  assert.notEqual(rogue.code, 0, `a client certificate from another CA is refused:\n${rogue.stdout}`);
  assert.doesNotMatch(rogue.stdout, /runners:/);

  const withCert = await runCli(['status', ...at, '--tls-cert', pki.client, '--tls-key', pki.clientKey]);
  assert.equal(withCert.code, 0, withCert.stderr);
  assert.match(withCert.stdout, /runners:/);
});
