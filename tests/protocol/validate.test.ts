import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { isCommitId, isName, isRefName, isRepoUrl } from '../../src/protocol/validate.js';

function gitAccepts(ref: string): boolean {
  try {
    execFileSync('git', ['check-ref-format', ref], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Every entry starts with refs/ so git judges the same question Keel does
// (Keel wants full refs; git would also accept e.g. "heads/main").
const refs = [
  'refs/heads/main',
  'refs/heads/feature/x-1',
  'refs/tags/v1.0.0',
  'refs/heads',
  'refs/remotes/origin/main',
  'refs/pull/12/head',
  'refs/heads/-x',
  'refs/heads/-',
  'refs/heads/@',
  'refs/heads/a@b',
  'refs/heads/a{b}',
  'refs/heads/a.b',
  'refs/heads/a./b',
  'refs/heads/a.lockx',
  'refs/heads/lock.a',
  'refs/heads/HEAD',
  'refs/heads/a%b#c!d',
  'refs/heads/\u00e9t\u00e9',
  'refs/heads/\u{1f680}',
  `refs/heads/${'x'.repeat(1000)}`,
  'refs/',
  'refs//heads',
  'refs/heads/',
  'refs/heads//x',
  'refs/heads/a..b',
  'refs/heads/..',
  'refs/heads/.hidden',
  'refs/heads/x/.y',
  'refs/heads/a.lock',
  'refs/heads/a.lock/b',
  'refs/heads/.lock',
  'refs/heads/x.',
  'refs/heads/a b',
  'refs/heads/a~1',
  'refs/heads/a^2',
  'refs/heads/a:b',
  'refs/heads/a?',
  'refs/heads/a*',
  'refs/heads/a[b',
  'refs/heads/a\\b',
  'refs/heads/@{x}',
  'refs/heads/a@{1}',
  'refs/heads/@@{',
  'refs/heads/a\tb',
  'refs/heads/a\nb',
  'refs/heads/a\u007fb',
];

test('the ref list has valid and invalid refs', () => {
  const valid = refs.filter(gitAccepts).length;
  assert.ok(valid >= 15 && refs.length - valid >= 20, `${valid} valid of ${refs.length}`);
});

test('isRefName agrees with git check-ref-format on every ref in the list', () => {
  const disagreements = refs
    .map((ref) => ({ ref, git: gitAccepts(ref), keel: isRefName(ref) }))
    .filter(({ git, keel }) => git !== keel);
  assert.deepEqual(disagreements, []);
});

test('isRefName refuses refs that are not full, and refs over 1024 characters', () => {
  for (const ref of ['main', 'heads/main', 'HEAD', '@', '-x', '--exec=x', '', 'Refs/heads/x', ' refs/heads/x']) {
    assert.equal(isRefName(ref), false, ref);
  }
  assert.equal(isRefName(`refs/heads/${'x'.repeat(1013)}`), true);
  assert.equal(isRefName(`refs/heads/${'x'.repeat(1014)}`), false, 'Keel caps refs at 1024 characters');
});

test('isCommitId accepts 40 and 64 lower-case hex digits only', () => {
  const sha1 = '0123456789abcdef0123456789abcdef01234567';
  const sha256 = 'a'.repeat(64);
  assert.equal(isCommitId(sha1), true);
  assert.equal(isCommitId(sha256), true);
  for (const bad of ['', sha1.slice(1), `${sha1}0`, 'a'.repeat(63), 'a'.repeat(65), sha1.toUpperCase(), `${sha1}\n`, `${sha256}\n`, `g${sha1.slice(1)}`, 'HEAD', `${sha1.slice(0, 7)}`]) {
    assert.equal(isCommitId(bad), false, JSON.stringify(bad));
  }
});

test('isRepoUrl accepts local paths and the usual transports', () => {
  for (const url of [
    '/srv/git/x.git',
    '/srv/git/x',
    'file:///srv/x',
    'ssh://git@host/x.git',
    'ssh://host:2222/x.git',
    'git://host/x.git',
    'http://host/x.git',
    'https://host/x.git',
    'https://user@host.example.com:8443/group/x.git',
    'git@host:x.git',
    'host:x.git',
    'git@host.example.com:group/x.git',
  ]) {
    assert.equal(isRepoUrl(url), true, url);
  }
});

test('isRepoUrl refuses transport helpers, options, relative paths and control characters', () => {
  for (const url of [
    'ext::sh -c touch% /tmp/x',
    'fd::17',
    'transport::address',
    '-uhack',
    '--upload-pack=x',
    '',
    'relative/path',
    './x',
    '../x',
    'x',
    'file://',
    'ssh://',
    'git@host:',
    'rel/ative:path',
    `/${'p'.repeat(5000)}`,
    '/srv/x\n',
    '/srv/\u0000x',
  ]) {
    assert.equal(isRepoUrl(url), false, JSON.stringify(url.slice(0, 40)));
  }
});

// An ssh:// host beginning with "-" reaches ssh as an option
// (CVE-2017-1000117); git refuses it too, but Keel does not rely on that.
test('isRepoUrl refuses ssh hosts that ssh would read as an option', () => {
  for (const url of ['ssh://-oProxyCommand=touch%20x/y', 'ssh://-oProxyCommand=x@host/y']) {
    assert.equal(isRepoUrl(url), false, url);
  }
});

test('isName accepts short names of letters, digits, ".", "_" and "-"', () => {
  for (const name of ['r', 'runner-1', 'Runner_2', 'node-20', 'x86_64', 'a.b', '1', `a${'b'.repeat(63)}`]) {
    assert.equal(isName(name), true, name);
  }
  for (const name of ['', '../x', '..', '.x', '-x', '_x', 'a b', 'a/b', 'a\\b', 'a:b', 'a\n', '\u00e9', `a${'b'.repeat(64)}`]) {
    assert.equal(isName(name), false, JSON.stringify(name));
  }
});
