// Patches end to end, with real git and the real processes: keel patch sends
// a series, the observer applies it in its scratch worktree onto its base,
// pushes it under refs/keel/patches/, and a runner tests it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { git } from '../helpers/git-repo.js';
import { get } from '../helpers/http.js';
import { applications, patchWorld } from '../helpers/patches.js';

const idOf = (stdout: string) => /^(P-\d+):/.exec(stdout)?.[1] ?? assert.fail(`no patch id in ${stdout}`);

test('a two-patch series with a cover letter applies onto main and passes; its commits keep their author and land under refs/keel/patches', async (t) => {
  const p = await patchWorld(t);
  const mbox = p.series('topic', [{ 'src.txt': 'one\ntwo\nthree\nfour\n' }, { 'tests/four.t': 'grep -q four src.txt\n' }], { cover: 'Count to four' });
  const sent = await p.d.keel('patch', mbox);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /^P-1: testing "Count to four" on the default branch \([0-9a-f]{12}\)/);
  const record = await p.waitPatch('P-1', (r) => r.state !== 'open', 'to be tested');
  assert.equal(record.state, 'passed', record.message);
  assert.equal(record.subject, 'Count to four');
  assert.equal(record.trunk, 'refs/heads/main');
  const [version] = record.versions;
  assert.deepEqual([version!.format, version!.parts, version!.cover, version!.base], ['mbox', 2, true, p.base]);
  assert.deepEqual(version!.files.sort(), ['src.txt', 'tests/four.t']);
  const [app] = applications(record);
  assert.equal(app!.onto, p.base);
  assert.equal(git(p.central, 'rev-parse', 'refs/keel/patches/P-1/1.1'), app!.applied);
  assert.equal(git(p.central, 'rev-list', '--count', `${p.base}..${app!.applied}`), '2', 'one commit per patch, the cover letter dropped');
  assert.equal(git(p.central, 'log', '-1', '--format=%an <%ae>', app!.applied!), 'Keel Test <test@keel.invalid>');
  assert.match(git(p.central, 'log', '-1', '--format=%cn', app!.applied!), /^Keel$/);
  // The change to tests/ and to src.txt together: the tests alone fail on main, so the fix is verified.
  assert.equal(app!.fix, 'verified');
  assert.equal(git(p.central, 'rev-parse', 'refs/keel/patches/P-1/1.1-tests'), app!.testsOnly);
  assert.ok(!existsSync(join(p.results, `${app!.applied}.json`)), 'a patch build\'s files are not among the commits\'');
  const folder = join(p.results, 'patches', 'P-1');
  assert.ok(existsSync(join(folder, `${app!.applied}.json`)), 'test_results/patches/P-1/<sha>.json');
  assert.ok(existsSync(join(folder, app!.testsOnly!)), 'the tests-only build has its report too');

  const shown = await p.d.keel('patch', 'show', 'P-1');
  assert.match(shown.stdout, /^P-1 {2}passed {2}"Count to four" {2}by Keel Test <test@keel\.invalid>/);
  assert.match(shown.stdout, /1\.1 {2}test {4}onto [0-9a-f]{12} {2}applied [0-9a-f]{12} {2}passed {2}fix verified/);
  assert.match(shown.stdout, /fetch it: git fetch origin refs\/keel\/patches\/P-1\/1\.1 && git cherry-pick [0-9a-f]{12}\.\.FETCH_HEAD/);
  const listed = await p.d.keel('patches');
  assert.match(listed.stdout, /P-1 +passed +1 +Count to four +Keel Test <test@keel\.invalid> +- +fix verified/);

  // The status page lists it, linked to the build of the applied series.
  const page = Number((await p.d.waitForLine(/status page at http:\/\/[^:]+:(\d+)\//))[1]);
  const api = JSON.parse((await get(page, '/api/status')).body);
  assert.deepEqual(api.patches.map((r: { id: string; state: string }) => [r.id, r.state]), [['P-1', 'passed']]);
  assert.match((await get(page, '/')).body, new RegExp(`<td class="name">P-1</td>[^]*Count to four[^]*status-passed">passed<[^]*href="/builds/${app!.applied}"`));
  const build = await get(page, `/builds/${app!.applied}`);
  assert.equal(build.status, 200, 'the patch build has its page');
});

test('v2 of a series (the same subject and author) is recorded as a new version of the patch', async (t) => {
  const p = await patchWorld(t);
  const v1 = p.series('topic', [{ 'tests/bad.t': 'exit 1\n' }], { cover: 'Add a check' });
  assert.equal((await p.d.keel('patch', v1)).code, 0);
  await p.waitPatch('P-1', (r) => r.state === 'failed', 'v1 to fail');
  const v2 = p.series('topic', [{ 'tests/good.t': 'exit 0\n' }], { cover: 'Add a check', version: 2 });
  const sent = await p.d.keel('patch', v2);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /^P-1: version 2 of P-1, testing "Add a check"/);
  const record = await p.waitPatch('P-1', (r) => r.versions.length === 2 && r.state !== 'open', 'v2 to be tested');
  assert.equal(record.state, 'passed', JSON.stringify(record, null, 1));
  assert.deepEqual(record.versions.map((v) => [v.version, v.applications.at(-1)!.state]), [[1, 'failed'], [2, 'passed']]);
  assert.ok(git(p.central, 'rev-parse', 'refs/keel/patches/P-1/2.1'));
  const other = p.series('other', [{ 'tests/other.t': 'exit 0\n' }], { cover: 'Something else', version: 3 });
  assert.match((await p.d.keel('patch', other)).stdout, /^P-2: testing "Something else"/, 'another subject is another patch, whatever its version');
});

test('a plain diff applies as the given author with the given subject; without them it is refused', async (t) => {
  const p = await patchWorld(t);
  git(p.work, 'checkout', '-q', '-B', 'scratch', 'origin/main');
  writeFileSync(join(p.work, 'src.txt'), 'one\nTWO\nthree\n');
  const diff = join(p.tmp, 'fix.diff');
  writeFileSync(diff, `${git(p.work, 'diff')}\n`);
  git(p.work, 'checkout', '-q', '--', 'src.txt');
  const missing = await p.d.keel('patch', diff);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^keel patch: a plain diff needs --author "Name <email>" and --subject/);
  const sent = await p.d.keel('patch', diff, '--author', 'Ann Example <ann@example.org>', '--subject', 'Fix the parser');
  assert.equal(sent.code, 0, sent.stderr);
  const record = await p.waitPatch(idOf(sent.stdout), (r) => r.state !== 'open', 'to be tested');
  assert.equal(record.state, 'passed', record.message);
  const applied = applications(record)[0]!.applied!;
  assert.equal(git(p.central, 'log', '-1', '--format=%an <%ae>|%s', applied), 'Ann Example <ann@example.org>|Fix the parser');
  assert.equal(record.versions[0]!.format, 'diff');
  assert.equal(applications(record)[0]!.fix, 'n/a', 'it changes no test');
});

test('a series that does not apply ends as conflict, naming the file, and nothing is pushed', async (t) => {
  const p = await patchWorld(t);
  const mbox = p.series('topic', [{ 'src.txt': 'one\nTWO from the patch\nthree\n' }]);
  p.moveMain({ 'src.txt': 'one\ntwo from trunk\nthree\n' });
  await p.watcher.delivered(git(p.central, 'rev-parse', 'main'));
  const sent = await p.d.keel('patch', mbox);
  assert.equal(sent.code, 0, sent.stderr);
  const record = await p.waitPatch('P-1', (r) => r.state !== 'open', 'to be tried');
  assert.equal(record.state, 'conflict');
  assert.match(record.message, /does not apply: .*src\.txt/);
  assert.match(applications(record)[0]!.message, /\(src\.txt\)$/);
  assert.equal(git(p.central, 'for-each-ref', 'refs/keel/patches'), '');
});

test('tests that pass without the fix are said to; Based-on: a commit, a branch, or one that is not there (exit 2, nothing kept)', async (t) => {
  const p = await patchWorld(t);
  const old = p.base;
  const tip = p.moveMain({ 'lib.txt': 'api v1\nmore\n' });
  git(p.central, 'branch', 'release', old);
  const already = p.series('topic', [{ 'src.txt': 'one\ntwo\nthree\nfour\n', 'tests/one.t': 'grep -q one src.txt\n' }], { from: old, cover: 'Already fine', basedOn: old });
  const sent = await p.d.keel('patch', already);
  assert.equal(sent.code, 0, sent.stderr);
  const record = await p.waitPatch('P-1', (r) => r.state !== 'open', 'to be tested');
  assert.equal(applications(record)[0]!.onto, old, 'Based-on: a commit');
  assert.equal(record.versions[0]!.baseSpec, old);
  assert.equal(record.trunk, 'refs/heads/main', 'a commit on the default branch follows it');
  assert.equal(applications(record)[0]!.fix, 'tests-pass-without-fix');

  const onBranch = p.series('topic2', [{ 'tests/two.t': 'exit 0\n' }], { from: old });
  const branchSent = await p.d.keel('patch', onBranch, '--base', 'release');
  assert.equal(branchSent.code, 0, branchSent.stderr);
  const second = await p.waitPatch(idOf(branchSent.stdout), (r) => r.state !== 'open', 'to be tested');
  assert.deepEqual([second.trunk, applications(second)[0]!.onto], ['refs/heads/release', old]);
  assert.notEqual(applications(second)[0]!.onto, tip);

  for (const args of [['--base', 'no-such-branch'], ['--base', 'deadbeef1234']]) {
    const missing = await p.d.keel('patch', onBranch, ...args);
    assert.equal(missing.code, 2, args.join(' '));
    assert.match(missing.stderr, /^keel patch: there is no branch, tag or commit (no-such-branch|deadbeef1234) in origin\n$/);
  }
  const byLine = p.series('topic3', [{ 'tests/three.t': 'exit 0\n' }], { cover: 'Based on nothing', basedOn: 'vanished' });
  assert.equal((await p.d.keel('patch', byLine)).code, 2, 'a Based-on: that is not there is an error too, never mainline');
  assert.equal(JSON.parse((await p.d.keel('patches', '--json')).stdout).patches.length, 2);
});

test('an mbox over the size cap, a binary patch, a path outside the repository and garbage are refused with a reason, and nothing is written', async (t) => {
  const p = await patchWorld(t, { dispatcherFlags: ['--max-patch-mib', '1'] });
  const big = join(p.tmp, 'big.mbox');
  writeFileSync(big, `From x Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH] big\n\n---\ndiff --git a/x b/x\n${'+'.repeat(2 * 1024 * 1024)}\n`);
  const binary = p.series('bin', [{ 'logo.bin': '\u0000\u0001\u0002binary\u0000' }]);
  writeFileSync(binary, git(p.work, 'format-patch', '--stdout', '--binary', 'HEAD~1..HEAD'));
  const outside = join(p.tmp, 'outside.diff');
  writeFileSync(outside, 'diff --git a/../outside b/../outside\nnew file mode 100644\n--- /dev/null\n+++ b/../outside\n@@ -0,0 +1 @@\n+escaped\n');
  const garbage = join(p.tmp, 'garbage.txt');
  writeFileSync(garbage, 'hello, this is not a patch\n');
  const cases: Array<[string[], RegExp]> = [
    [[big], /is 2\.0 MiB, over the limit of 1\.0 MiB \(the dispatcher's --max-patch-mib\)/],
    [[binary], /binary patches are not accepted/],
    [[outside, '--author', 'A <a@b.c>', '--subject', 'Escape'], /touches \.\.\/outside, outside the repository/],
    [[garbage], /neither an mbox \(git format-patch\) nor a unified diff/],
    [[join(p.tmp, 'no-such-file')], /cannot read the patch .*no-such-file: ENOENT/],
  ];
  for (const [args, reason] of cases) {
    const sent = await p.d.keel('patch', ...args);
    assert.equal(sent.code, 2, args[0]);
    assert.match(sent.stderr, reason);
    assert.equal(sent.stderr.trim().split('\n').length, 1, sent.stderr);
  }
  assert.equal(JSON.parse((await p.d.keel('patches', '--json')).stdout).patches.length, 0);
  assert.ok(!existsSync(join(p.tmp, 'outside')) && !existsSync(join(p.tmp, '..', 'outside')));
  assert.deepEqual(existsSync(join(p.state, 'patches')) ? readdirSync(join(p.state, 'patches')) : [], [], 'no patch was kept');
});
