// TLS mistakes a new user makes, each named in one line on each side, and on
// the dispatcher at most once a minute per peer however often it retries:
// a peer without --tls-ca at a TLS port, a TLS peer at a plain port, a
// certificate for another name, a CA that did not sign it, a missing client
// certificate. OpenSSL's own multi-line errors never reach the log.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { makePki } from '../helpers/certs.js';
import { runCli, world } from '../helpers/e2e.js';

const NO_OPENSSL_DUMP = /SSL routines|error:0A|ssl3_/;

test('a runner and keel status without --tls-ca at a TLS dispatcher are told to give it; the dispatcher says so once a minute', async (t) => {
  const pki = makePki(t);
  const w = world(t);
  const d = await w.dispatcher({ extra: ['--tls-cert', pki.server, '--tls-key', pki.serverKey], tls: { ca: readFileSync(pki.ca) } });

  const runner = w.startRunner('no-ca', d);
  // Logs kept: the line that names the cause is the feature.
  await runner.waitForLine(/could not register with dispatcher at 127\.0\.0\.1:\d+: tls-required: this dispatcher speaks TLS: give --tls-ca FILE \(the CA that signed its certificate\); reconnecting/);
  for (let i = 0; i < 3; i += 1) {
    const status = await d.keel('status');
    assert.equal(status.code, 2);
    assert.equal(status.stderr, 'keel: dispatcher refused: tls-required: this dispatcher speaks TLS: give --tls-ca FILE (the CA that signed its certificate)\n');
  }
  // A request over TLS that the dispatcher logs: every line before it has been written once it shows.
  assert.equal((await d.keel('notify', '--tls-ca', pki.ca)).code, 0);
  await d.waitForLine(/notify from /);
  assert.equal(d.count(/a peer spoke plain TCP to this TLS port: give it --tls-ca \(from 127\.0\.0\.1; said once a minute per address\)/), 1, d.lines.join('\n'));
  assert.equal(runner.count(/reconnecting/), 1, 'the runner says it once per outage');
  assert.doesNotMatch(d.lines.join('\n'), NO_OPENSSL_DUMP);
});

test('a certificate for localhost reached as 127.0.0.1 names the address to use; an unknown CA is named; the dispatcher hears of hang-ups once a minute', async (t) => {
  const pki = makePki(t);
  const w = world(t);
  const d = await w.dispatcher({ extra: ['--tls-cert', pki.localhostOnly, '--tls-key', pki.localhostOnlyKey], tls: { ca: readFileSync(pki.ca), servername: 'localhost' } });

  const byIp = await d.keel('status', '--tls-ca', pki.ca);
  assert.equal(byIp.code, 2);
  assert.equal(byIp.stderr, `keel: cannot reach dispatcher at 127.0.0.1:${d.port}: certificate is for localhost, not 127.0.0.1: use --dispatcher localhost:${d.port}\n`);
  const byName = await runCli(['status', '--tls-ca', pki.ca, '--dispatcher', `localhost:${d.port}`]);
  assert.equal(byName.code, 0, byName.stderr);

  const otherCa = await runCli(['status', '--tls-ca', pki.otherCa, '--dispatcher', `localhost:${d.port}`]);
  assert.equal(otherCa.code, 2);
  assert.match(otherCa.stderr, /^keel: cannot reach dispatcher at localhost:\d+: the dispatcher's certificate is not signed by the CA in --tls-ca \([A-Z_]+\)\n$/);

  assert.equal((await runCli(['notify', '--tls-ca', pki.ca, '--dispatcher', `localhost:${d.port}`])).code, 0);
  await d.waitForLine(/notify from /);
  assert.equal(d.count(/a peer hung up during the TLS handshake: it may not trust this dispatcher's certificate/), 1, d.lines.join('\n'));
  assert.doesNotMatch(d.lines.join('\n'), NO_OPENSSL_DUMP);
});

test('keel status with --tls-ca at a plain dispatcher is told at once that it does not speak TLS; the dispatcher says a peer spoke TLS to it', async (t) => {
  const pki = makePki(t);
  const w = world(t);
  const d = await w.dispatcher();
  const started = Date.now();
  const status = await d.keel('status', '--tls-ca', pki.ca);
  assert.equal(status.code, 2);
  assert.equal(status.stderr, `keel: cannot reach dispatcher at 127.0.0.1:${d.port}: the dispatcher does not speak TLS: drop --tls-ca, or give the dispatcher --tls-cert and --tls-key\n`);
  assert.ok(Date.now() - started < 5000, 'not after the hello timeout');
  await d.waitForLine(/a peer spoke TLS to this plain-TCP port: drop its --tls-ca, or give this dispatcher --tls-cert and --tls-key \(from 127\.0\.0\.1; /);
});

test('a dispatcher that wants client certificates: a peer without one is told to give it, and the dispatcher names what was missing', async (t) => {
  const pki = makePki(t);
  const w = world(t);
  const d = await w.dispatcher({ extra: ['--tls-cert', pki.server, '--tls-key', pki.serverKey, '--tls-ca', pki.clientCa] });
  const without = await d.keel('status', '--tls-ca', pki.ca);
  assert.equal(without.code, 2);
  assert.match(without.stderr, /the dispatcher wants a client certificate: give --tls-cert and --tls-key\n$/);
  const rogue = await d.keel('status', '--tls-ca', pki.ca, '--tls-cert', pki.rogueClient, '--tls-key', pki.rogueClientKey);
  assert.equal(rogue.code, 2);
  assert.match(rogue.stderr, /it may not accept this client certificate \(--tls-cert\), which must be signed by the CA it has as --tls-ca\n$/);
  await d.waitForLine(/a peer showed a client certificate not signed by this dispatcher's --tls-ca/);
  await d.waitForLine(/a peer showed no client certificate, which this dispatcher's --tls-ca requires: give it --tls-cert and --tls-key/);
  assert.doesNotMatch(d.lines.join('\n'), NO_OPENSSL_DUMP);
});
