// Named admins, end to end: the owner (who holds the master secret) adds and
// removes admins with `keel admin`; an admin's token is valid for that name
// only and only while listed; a client token manages nothing. The test fails
// if the feature is taken away.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatToken } from '../../src/common/auth.js';
import { runCli, world } from '../helpers/e2e.js';
import { keyOf, MASTER, MASTER_KEY } from '../helpers/e2e-secret.js';
import { adminsMessage, connectAs, expectRefused, sayHello } from '../helpers/e2e-wire.js';

test('keel admin: the owner adds alice, her token acts as admin until she is removed; a client token cannot', async (t) => {
  const w = world(t);
  const d = await w.dispatcher({ secret: MASTER });
  const at = ['--dispatcher', d.address];
  const asOwner = { KEEL_TOKEN: MASTER };

  const added = await runCli(['admin', 'add', 'alice', ...at], asOwner);
  assert.equal(added.code, 0, added.stderr);
  const token = /keel1:admin:alice:[0-9a-f]{64}/.exec(added.stdout)?.[0];
  assert.ok(token, `admin add prints alice's token:\n${added.stdout}`);
  const aliceToken = join(w.tmp, 'alice.token');
  writeFileSync(aliceToken, `${token}\n`);

  const listed = await runCli(['admin', 'list', ...at, '--token-file', aliceToken]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^alice$/m);
  // Log kept: the dispatcher's log is its record of who changed the admin list, which is checked here.
  await d.waitForLine(/admin owner added admin alice/);

  // Alice's key is hers alone: it does not let her pose as another admin.
  await expectRefused(await sayHello(t, d.port, 'admin', 'bob', { key: keyOf(token) }), 'auth-failed');

  const removed = await runCli(['admin', 'remove', 'alice', ...at], asOwner);
  assert.equal(removed.code, 0, removed.stderr);
  assert.doesNotMatch(removed.stdout, /^alice$/m);

  const after = await runCli(['admin', 'list', ...at, '--token-file', aliceToken]);
  assert.notEqual(after.code, 0, `alice's token no longer works:\n${after.stdout}`);
  assert.match(after.stderr, /auth-failed/);
  await expectRefused(await sayHello(t, d.port, 'admin', 'alice', { key: keyOf(token) }), 'auth-failed');

  const clientToken = join(w.tmp, 'client.token');
  writeFileSync(clientToken, `${formatToken(MASTER_KEY, 'client')}\n`);
  const asClient = await runCli(['admin', 'list', ...at, '--token-file', clientToken]);
  assert.notEqual(asClient.code, 0, `a client token cannot list admins:\n${asClient.stdout}`);
  assert.doesNotMatch(asClient.stdout, /alice|no admins listed/);
  // And on the wire, an admitted client asking for the list is refused.
  const client = await connectAs(t, d.port, 'client', 'ro', { key: keyOf(formatToken(MASTER_KEY, 'client')) });
  client.send(adminsMessage('list', null));
  assert.equal((await client.next('error')).code, 'not-allowed');
});
