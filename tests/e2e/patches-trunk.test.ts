// Patches as trunk moves on: retested on every new tip, a trunk change that
// breaks one narrowed down to the trunk commit that did it, the seed's
// queries over flags, states and files, and who may do what.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatToken } from '../../src/common/auth.js';
import type { PatchRecord } from '../../src/protocol/patch-records.js';
import { runCli } from '../helpers/e2e.js';
import { MASTER, MASTER_KEY } from '../helpers/e2e-secret.js';
import { git } from '../helpers/git-repo.js';
import { applications, patchWorld } from '../helpers/patches.js';

test('a trunk change that breaks a patch: retested as trunk moves, listed by --broken-by-trunk with the first bad trunk commit named', async (t) => {
  const p = await patchWorld(t);
  const mbox = p.series('topic', [{ 'tests/api.t': 'grep -q "api v1" lib.txt\n', 'src.txt': 'uses api v1\n' }], { cover: 'Use the v1 api' });
  assert.equal((await p.d.keel('patch', mbox)).code, 0);
  await p.waitPatch('P-1', (r) => r.state === 'passed', 'to pass on its base');
  const c1 = p.moveMain({ 'a.txt': 'unrelated\n' });
  const c2 = p.moveMain({ 'lib.txt': 'api v2\n' });
  const c3 = p.moveMain({ 'b.txt': 'unrelated too\n' });
  await p.watcher.delivered(c3);
  // The observer may see the three tips one by one or together: with c2 seen alone the patch fails there
  // (found at once), else it fails on c3 and is narrowed down. Either way it ends retested on c3.
  const onNewest = (r: PatchRecord) => applications(r).filter((a) => a.purpose === 'retest').at(-1)?.onto === c3 && r.state !== 'open';
  const record = await p.waitPatch('P-1', (r) => r.brokenBy?.first != null && onNewest(r), 'the trunk commit that broke it to be found, and a retest on the newest tip');
  assert.equal(record.state, 'failed');
  assert.equal(record.brokenBy!.first, c2, `c1 ${c1}, c2 ${c2}, c3 ${c3}`);
  assert.ok([c2, c3].includes(record.brokenBy!.bad), 'first seen failing on c2 or c3');
  assert.ok([p.base, c1].includes(record.brokenBy!.good));
  assert.ok(applications(record).some((a) => a.onto === c2 && a.state === 'failed'), 'applied on c2, where it fails');

  const listed = await p.d.keel('patches', '--broken-by-trunk', '--since', '1d');
  assert.match(listed.stdout, new RegExp(`P-1 +failed .*broken by trunk at ${c2.slice(0, 12)}`));
  assert.match((await p.d.keel('patch', 'show', 'P-1')).stdout, new RegExp(`the first trunk commit it fails with: ${c2}`));
  assert.match((await p.d.keel('patches', '--broken-by-trunk', '--state', 'passed')).stdout, /^no patches$/m);
  // Nothing broke within the last second of a week ago: --since bounds the question.
  const green = p.series('green', [{ 'tests/fine.t': 'exit 0\n' }]);
  assert.equal((await p.d.keel('patch', green)).code, 0);
  const broken = JSON.parse((await p.d.keel('patches', '--broken-by-trunk', '--json')).stdout).patches;
  assert.deepEqual(broken.map((x: { id: string }) => x.id), ['P-1']);
});

test('flags and the seed\'s queries: broken but marked ready for checkin; flagged needs-docs but touching no docs; close and retest', async (t) => {
  const p = await patchWorld(t);
  const send = async (name: string, files: Record<string, string>) => {
    const sent = await p.d.keel('patch', p.series(name, [files], { cover: name }));
    assert.equal(sent.code, 0, sent.stderr);
    return /^(P-\d+)/.exec(sent.stdout)![1]!;
  };
  const red = await send('red', { 'tests/red.t': 'exit 1\n' });
  const docs = await send('docs', { 'docs/guide.md': 'how\n', 'tests/ok.t': 'exit 0\n' });
  const plain = await send('plain', { 'tests/plain.t': 'exit 0\n' });
  for (const id of [red, docs, plain]) await p.waitPatch(id, (r) => r.state !== 'open', 'to be tested');
  for (const [id, flag] of [[red, 'ready-for-checkin'], [plain, 'ready-for-checkin'], [docs, 'needs-docs'], [plain, 'needs-docs']]) {
    const flagged = await p.d.keel('patch', 'flag', id!, flag!);
    assert.equal(flagged.code, 0, flagged.stdout);
  }
  const list = async (...args: string[]) => JSON.parse((await p.d.keel('patches', '--json', ...args)).stdout).patches.map((x: { id: string }) => x.id);
  assert.deepEqual(await list('--flag', 'ready-for-checkin', '--state', 'failed'), [red]);
  assert.deepEqual(await list('--flag', 'needs-docs', '--touches-none', 'docs/'), [plain]);
  assert.deepEqual(await list('--flag', 'needs-docs', '--flag', 'ready-for-checkin'), [plain]);
  assert.equal((await p.d.keel('patch', 'unflag', plain, 'needs-docs')).code, 0);
  assert.deepEqual(await list('--flag', 'needs-docs'), [docs]);

  assert.equal((await p.d.keel('patch', 'close', red)).code, 0);
  assert.deepEqual(await list('--state', 'closed'), [red]);
  const again = await p.d.keel('patch', 'retest', red);
  assert.equal(again.code, 1);
  assert.match(again.stdout, /is closed/);
  const runs = p.scripts.runs('check').length;
  assert.equal((await p.d.keel('patch', 'retest', plain)).code, 0);
  await p.until(() => p.scripts.runs('check').length > runs, 'the retest to run');
  const retested = await p.waitPatch(plain, (r) => applications(r).length === 2 && r.state !== 'open', 'the retest to end');
  assert.deepEqual(applications(retested).map((a) => a.purpose), ['test', 'retest']);
  const unknown = await p.d.keel('patch', 'close', 'P-99');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stdout, /no patch P-99 is known/);
});

test('a submitter submits, retests and closes its own patches only, and nothing else; a client reads them', async (t) => {
  const p = await patchWorld(t, { secret: MASTER });
  const tokenFile = (name: string, token: string) => {
    const path = join(p.tmp, `${name}.token`);
    writeFileSync(path, `${token}\n`);
    return ['--token-file', path];
  };
  const issued = await runCli(['token', 'submitter', 'mail-a'], { KEEL_TOKEN: MASTER });
  assert.equal(issued.code, 0, issued.stderr);
  const a = tokenFile('a', issued.stdout.trim());
  const b = tokenFile('b', formatToken(MASTER_KEY, 'submitter', 'mail-b'));
  const client = tokenFile('client', formatToken(MASTER_KEY, 'client'));
  const at = ['--dispatcher', p.d.address];
  const sent = await runCli(['patch', p.series('topic', [{ 'tests/ok.t': 'exit 0\n' }]), ...at, ...a]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /^P-1: testing/);
  // Mail-b may not act on mail-a's patch, nor name itself mail-a.
  const foreign = await runCli(['patch', 'close', 'P-1', ...at, ...b]);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stdout, /P-1 was not submitted by submitter mail-b/);
  const posing = await runCli(['patch', 'close', 'P-1', '--as', 'mail-a', ...at, ...b]);
  assert.equal(posing.code, 2);
  assert.match(posing.stderr, /this submitter token is for mail-b, not mail-a/);
  // A submitter flags nothing, reads nothing, lands nothing.
  const flag = await runCli(['patch', 'flag', 'P-1', 'ready', ...at, ...a]);
  assert.equal(flag.code, 1);
  assert.match(flag.stdout, /only admins flag patches/);
  for (const args of [['status'], ['patches'], ['land', 'main']]) {
    const refused = await runCli([...args, ...at, ...a]);
    assert.equal(refused.code, 2, args.join(' '));
  }
  const read = await runCli(['patches', '--json', ...at, ...client]);
  assert.equal(read.code, 0, read.stderr);
  assert.equal(JSON.parse(read.stdout).patches[0].by, 'submitter mail-a');
  const submitByClient = await runCli(['patch', p.series('t2', [{ 'x.t': 'exit 0\n' }]), ...at, ...client]);
  assert.equal(submitByClient.code, 2);
  const closed = await runCli(['patch', 'close', 'P-1', ...at, ...a]);
  assert.equal(closed.code, 0, closed.stdout + closed.stderr);
  assert.equal(git(p.central, 'rev-parse', '--verify', '--quiet', 'refs/keel/patches/P-1/1.1').length, 40);
});
