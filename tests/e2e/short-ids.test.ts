// Short commit ids in every command: any start of 7 hex digits or more that
// one known build has (in any case), and an error naming the candidates when
// several have it; keel build takes one too, which the observer finds in git.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { git } from '../helpers/git-repo.js';

const PASSING = { 'tests/ok.sh': '#!/bin/sh\necho ok\n' };

test('status, logs, retry and cancel take a unique start of a commit id; an ambiguous one names its candidates, a short one is refused', async (t) => {
  const w = world(t);
  const sha = w.push(PASSING, 'first');
  w.cloneFor();
  const d = await w.dispatcher();
  await w.runner('r1', d);
  w.observer(d);
  await w.result(sha);

  for (const given of [sha.slice(0, 12), sha.slice(0, 7), sha.slice(0, 9).toUpperCase()]) {
    const status = await d.keel('status', given);
    assert.equal(status.code, 0, `${given}: ${status.stderr}`);
    assert.match(status.stdout, new RegExp(`^commit: +${sha}$`, 'm'));
  }
  const logged = await d.keel('logs', sha.slice(0, 10));
  assert.equal(logged.code, 0, logged.stderr);
  assert.match(logged.stdout, /ok/);
  const retried = await d.keel('retry', sha.slice(0, 8));
  assert.equal(retried.code, 0, retried.stderr);
  assert.equal(retried.stdout, `retrying ${sha}\n`);
  assert.equal((await w.result(sha, { check: (r) => r.run === 2 })).status, 'passed');

  // Two reports whose names share their first 8 digits: the dispatcher knows both by name.
  const [a, b] = ['abcdef01', 'abcdef01'].map((start, i) => `${start}${String(i).repeat(32)}`);
  for (const other of [a!, b!]) writeFileSync(join(w.results, other), 'a report\n');
  const ambiguous = await d.keel('status', 'abcdef0');
  assert.equal(ambiguous.code, 2);
  assert.equal(ambiguous.stderr, `keel: abcdef0 is the start of several commits the dispatcher knows: ${a}, ${b}; give more digits\n`);
  const cancel = await d.keel('cancel', 'ABCDEF01');
  assert.equal(cancel.code, 2, 'ambiguous for cancel too');

  const unknown = await d.keel('status', '1234567');
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stdout, 'no build of a commit starting with 1234567 is known to the dispatcher\n');
  const short = await d.keel('status', sha.slice(0, 6));
  assert.equal(short.code, 2);
  assert.match(short.stderr, /^keel: SHA must be a commit id or its first 7 or more hex digits, got "[0-9a-f]{6}"\n$/);
  const notHex = await d.keel('retry', 'main');
  assert.equal(notHex.code, 2);
});

test('keel build SHA builds a commit of a branch the observer does not watch, by the start of its id, on that branch; a commit nobody has is named', async (t) => {
  const w = world(t);
  const head = w.push(PASSING, 'first');
  w.cloneFor();
  const d = await w.dispatcher();
  await w.runner('r1', d);
  const observer = w.observer(d, { extra: ['--branch', 'main'] });
  await observer.delivered(head);
  git(w.work, 'checkout', '-q', '-b', 'side');
  const older = w.push({ 'side.txt': '1\n' }, 'side one', { branch: 'side' });
  w.push({ 'side.txt': '2\n' }, 'side two', { branch: 'side' });

  const built = await d.keel('build', older.slice(0, 10));
  assert.equal(built.code, 0, built.stderr);
  assert.equal(built.stdout, `C-1: queued ${older} (refs/heads/side)\n`);
  const record = await w.result(older);
  assert.equal(record.ref, 'refs/heads/side');
  assert.equal(record.status, 'passed');

  const again = await d.keel('build', head.slice(0, 7));
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `C-2: retrying ${head} (refs/heads/main)\n`);

  const missing = await d.keel('build', '0000000');
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, 'C-3: origin has no commit 0000000\n');
  // A commit in origin that no branch has.
  const tree = git(w.central, 'rev-parse', `${head}^{tree}`);
  const dangling = git(w.central, 'commit-tree', tree, '-m', 'on no branch');
  const nowhere = await d.keel('build', dangling);
  assert.equal(nowhere.code, 1);
  assert.equal(nowhere.stdout, `C-4: commit ${dangling} is on no branch of origin\n`);
});
