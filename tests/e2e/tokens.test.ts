// Tokens as a new user handles them: `keel admin add NAME > FILE` makes a
// token file (the token alone on stdout), an admin's token reads status as
// a client may, `keel token ROLE --out FILE` writes 0600, a token file
// others can read is warned about, and an observer without the secret a
// dispatcher requires gives up with exit 2 after saying why once.
import { strict as assert } from 'node:assert';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatToken } from '../../src/common/auth.js';
import { runCli, world } from '../helpers/e2e.js';
import { MASTER, MASTER_KEY } from '../helpers/e2e-secret.js';

test('keel admin add alice > alice.token writes a token file that works, for admin commands and for status', async (t) => {
  const w = world(t);
  const d = await w.dispatcher({ secret: MASTER });
  const at = ['--dispatcher', d.address];
  const added = await runCli(['admin', 'add', 'alice', ...at], { KEEL_TOKEN: MASTER });
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /^keel1:admin:alice:[0-9a-f]{64}\n$/, 'the token alone on stdout');
  assert.match(added.stderr, /alice's token follows on stdout/);
  // As `> alice.token` in a shell would write it.
  const file = join(w.tmp, 'alice.token');
  writeFileSync(file, added.stdout, { mode: 0o600 });

  const listed = await runCli(['admin', 'list', ...at, '--token-file', file]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stdout, 'alice\n');
  // An admin may do what a client may.
  const status = await runCli(['status', ...at, '--token-file', file]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^runners: none/m);
  const notify = await runCli(['notify', ...at, '--token-file', file]);
  assert.equal(notify.code, 0, notify.stderr);
  // So may the owner's admin token.
  const ownerAdmin = await runCli(['status', ...at], { KEEL_TOKEN: formatToken(MASTER_KEY, 'admin') });
  assert.equal(ownerAdmin.code, 0, ownerAdmin.stderr);

  const out = join(w.tmp, 'bob.token');
  const bob = await runCli(['admin', 'add', 'bob', '--out', out, ...at], { KEEL_TOKEN: MASTER });
  assert.equal(bob.code, 0, bob.stderr);
  assert.equal(bob.stdout, '');
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.equal((await runCli(['admin', 'list', ...at, '--token-file', out])).stdout, 'alice\nbob\n');
});

test('keel token --out writes 0600; a --token-file every user can read is warned about (not one its group can), and still used', async (t) => {
  const w = world(t);
  const master = join(w.tmp, 'master.token');
  writeFileSync(master, `${MASTER}\n`, { mode: 0o600 });
  const client = join(w.tmp, 'client.token');
  writeFileSync(client, 'stale content, overwritten\n', { mode: 0o644 });
  chmodSync(client, 0o644);
  const made = await runCli(['token', 'client', '--token-file', master, '--out', client]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(made.stderr, '', 'a private master is not warned about');
  assert.equal(statSync(client).mode & 0o777, 0o600, 'made private, though it existed as 0644');

  const d = await w.dispatcher({ secret: MASTER });
  chmodSync(client, 0o644);
  const status = await runCli(['status', '--dispatcher', d.address, '--token-file', client]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stderr, new RegExp(`^keel: warning: --token-file ${client} can be read by every user \\(mode 0644\\): chmod 600 ${client}$`, 'm'));
  chmodSync(client, 0o640);
  const byGroup = await runCli(['status', '--dispatcher', d.address, '--token-file', client]);
  assert.equal(byGroup.stderr, '', 'readable by its group, as a service\'s token is: no warning');
  const runner = w.startRunner('r1', d, { extra: ['--token-file', client] });
  assert.equal((await w.exit(runner)).code, 2, 'a client token is no runner token');
});

test('an observer without the secret the dispatcher requires says so once and exits 2', async (t) => {
  const w = world(t);
  w.push({ 'a.txt': 'a\n' }, 'first');
  w.cloneFor();
  const d = await w.dispatcher({ secret: MASTER });
  const observer = w.observer(d);
  assert.equal((await w.exit(observer)).code, 2, observer.lines.join('\n'));
  // Log kept: the reason is the feature.
  assert.equal(observer.count(/refused this observer: the dispatcher requires a secret: set KEEL_TOKEN or --token-file; trying 2 more times before giving up/), 1, observer.lines.join('\n'));
  assert.equal(observer.count(/giving up: /), 1);
});
