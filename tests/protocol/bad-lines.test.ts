// A table of lines a peer might send that decode() must refuse, each with the
// ProtocolError code it must carry. Rows are built from valid fixtures with
// one thing broken, so a row fails for the reason its name gives.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { decode } from '../../src/protocol/codec.js';
import { ProtocolError, type ProtocolErrorCode } from '../../src/protocol/errors.js';
import { MAX_OUTPUT_CHUNK, type MessageType } from '../../src/protocol/messages.js';
import { SHA1, fixtures, sample } from './fixtures.js';

interface Row { name: string; line: string | Buffer; code: ProtocolErrorCode }

const rows: Row[] = [];
const row = (name: string, line: string | Buffer, code: ProtocolErrorCode) => rows.push({ name, line, code });
/** A valid message with some fields replaced; `undefined` removes a field. */
const patched = (base: object, patch: Record<string, unknown>) => JSON.stringify({ ...base, ...patch });
const badField = (name: string, base: object, patch: Record<string, unknown>) => row(name, patched(base, patch), 'bad-field');

// Not JSON.
row('plain text', 'hello dispatcher', 'bad-json');
row('empty line', '', 'bad-json');
row('truncated object', '{"type":"ping","seq":1', 'bad-json');
row('trailing garbage', '{"type":"ping","seq":1}x', 'bad-json');
row('two objects on one line', '{"type":"ping","seq":1}{"type":"ping","seq":2}', 'bad-json');
row('single quotes', "{'type':'ping','seq':1}", 'bad-json');
row('NaN', '{"type":"ping","seq":NaN}', 'bad-json');
row('raw newline inside a string', '{"type":"error","code":"x","message":"a\nb"}', 'bad-json');

// Not UTF-8.
const wrap = (bytes: number[]) =>
  Buffer.concat([Buffer.from('{"type":"error","code":"x","message":"'), Buffer.from(bytes), Buffer.from('"}')]);
row('bytes 0xff 0xfe', Buffer.from([0xff, 0xfe]), 'bad-utf8');
row('0xff inside a string', wrap([0xff]), 'bad-utf8');
row('overlong "/" (0xc0 0xaf)', wrap([0xc0, 0xaf]), 'bad-utf8');
row('overlong NUL (0xc0 0x80)', wrap([0xc0, 0x80]), 'bad-utf8');
row('truncated 3-byte sequence mid-line', wrap([0xe2, 0x82]), 'bad-utf8');
row('truncated 4-byte sequence at end of line', Buffer.concat([Buffer.from('{"type":"ping","seq":1}'), Buffer.from([0xf0, 0x9f, 0x9a])]), 'bad-utf8');
row('lone continuation byte', wrap([0x80]), 'bad-utf8');
row('UTF-8-encoded surrogate (0xed 0xa0 0x80)', wrap([0xed, 0xa0, 0x80]), 'bad-utf8');
row('code point above U+10FFFF', wrap([0xf4, 0x90, 0x80, 0x80]), 'bad-utf8');

// Not an object.
row('JSON array', '[{"type":"ping","seq":1}]', 'not-an-object');
row('empty array', '[]', 'not-an-object');
row('JSON string', '"ping"', 'not-an-object');
row('null', 'null', 'not-an-object');
row('number', '42', 'not-an-object');
row('boolean', 'true', 'not-an-object');

// No usable type.
row('missing type', '{"seq":1}', 'unknown-type');
row('empty object', '{}', 'unknown-type');
for (const type of [1, null, true, ['ping'], { name: 'ping' }]) row(`type ${JSON.stringify(type)}`, JSON.stringify({ type, seq: 1 }), 'unknown-type');
for (const type of ['', 'pingg', 'PING', ' ping', 'ping ', 'heartbeat', 'Message']) row(`unknown type ${JSON.stringify(type)}`, JSON.stringify({ type, seq: 1 }), 'unknown-type');
for (const type of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'prototype']) {
  row(`inherited name ${type} as type`, JSON.stringify({ type, seq: 1 }), 'unknown-type');
}

// Every required field of every message, removed in turn.
const seen = new Set<MessageType>();
for (const { message } of fixtures) {
  if (seen.has(message.type)) continue;
  seen.add(message.type);
  for (const field of Object.keys(message).filter((f) => f !== 'type')) {
    badField(`${message.type} without ${field}`, message, { [field]: undefined });
    // Where null is allowed (query.commit, job.timeoutMs/run/junit, project, admins.name, admin-list.token, retry.job,
    // the code of a reply, command-result.commit/answer, status.record, done.request, land.target, build.commit, cancel-many.ref, history's cursors, logs.job),
    // `true` is the wrong type instead.
    const nullable = message.type === 'query' || ['timeoutMs', 'token', 'run', 'junit', 'project', 'code', 'record', 'answer', 'before', 'next'].includes(field)
      || (message.type === 'done' && field === 'request') || (message.type === 'land' && field === 'target')
      || (message.type === 'patch' && ['base', 'author', 'subject'].includes(field)) || (message.type === 'patch-op' && field === 'flag')
      || (message.type === 'patches' && ['state', 'sinceMs'].includes(field))
      || (message.type === 'admins' && field === 'name') || ((message.type === 'retry' || message.type === 'logs') && field === 'job')
      || (message.type === 'command-result' && field === 'commit')
      || (message.type === 'build' && field === 'commit') || (message.type === 'cancel-many' && field === 'ref');
    badField(`${message.type} with ${field} ${nullable ? 'true' : 'null'}`, message, { [field]: nullable ? true : null });
  }
}
const outcome = sample('result').outcome;
// `cancelled` may be absent (an outcome from an older runner's spool): see codec.test.ts; so may the artifacts of a job without any.
for (const field of Object.keys(outcome).filter((f) => !['cancelled', 'artifacts', 'artifactNotes'].includes(f))) {
  badField(`result outcome without ${field}`, sample('result'), { outcome: { ...outcome, [field]: undefined } });
}
for (const field of ['tests', 'passed', 'failed', 'skipped']) {
  badField(`result counts without ${field}`, sample('result'), { outcome: { ...outcome, counts: { ...outcome.counts, [field]: undefined } } });
}
const status = sample('status');
const build = status.builds[0]!;
const runner = status.runners[0]!;
for (const field of ['commit', 'status', 'jobs']) {
  badField(`status build without ${field}`, status, { builds: [{ ...build, [field]: undefined }] });
}
for (const field of Object.keys(runner)) {
  badField(`status runner without ${field}`, status, { runners: [{ ...runner, [field]: undefined }] });
}

// Wrong types and ranges.
const ping = sample('ping');
badField('seq as a string', ping, { seq: '1' });
badField('seq as a float', ping, { seq: 1.5 });
badField('seq negative', ping, { seq: -1 });
badField('seq past 2^53', ping, { seq: 2 ** 53 });
badField('seq 1e308', ping, { seq: 1e308 });
row('seq 1e400', '{"type":"ping","seq":1e400}', 'bad-field');
badField('seq as an object', ping, { seq: { valueOf: 1 } });
const hello = sample('hello');
badField('hello version as a string', hello, { version: '1' });
badField('hello version as a float', hello, { version: 1.1 });
badField('hello role unknown', hello, { role: 'root' });
badField('hello role in capitals', hello, { role: 'RUNNER' });
badField('hello name over 256 chars', hello, { name: 'n'.repeat(257) });
badField('hello name as a number', hello, { name: 7 });
badField('hello name with a newline (could forge log lines)', hello, { name: 'x\n[dispatcher] forged' });
const welcome = sample('welcome');
badField('welcome heartbeatMs negative', welcome, { heartbeatMs: -5000 });
badField('welcome deadlineMs as a string', welcome, { deadlineMs: '15000' });
const error = sample('error');
badField('an error code not in the table', error, { code: 'launch-missiles' });
badField('error message over 4096 chars', error, { message: 'm'.repeat(4097) });
const register = sample('register');
badField('slots as a string', register, { slots: '2' });
badField('slots as a float', register, { slots: 1.5 });
badField('slots negative', register, { slots: -1 });
badField('slots 0', register, { slots: 0 });
badField('slots 257', register, { slots: 257 });
badField('labels as a string', register, { labels: 'linux' });
badField('labels with a number', register, { labels: ['linux', 7] });
badField('labels with null', register, { labels: [null] });
badField('labels over 32 items', register, { labels: Array.from({ length: 33 }, (_, i) => `l${i}`) });
badField('leases with a path', register, { leases: ['../x'] });
badField('leases missing', register, { leases: undefined });
const job = sample('job');
badField('job attempt 0', job, { attempt: 0 });
badField('job attempt 1001', job, { attempt: 1001 });
badField('job timeoutMs as a string', job, { timeoutMs: '600000' });
badField('job timeoutMs negative', job, { timeoutMs: -1 });
badField('job secrets with a bad name', job, { secrets: { 'A-B': 'x' } });
badField('job secrets as a list', job, { secrets: ['x'] });
badField('job secret with NUL', job, { secrets: { A: 'a\u0000b' } });
badField('job with 17 secrets', job, { secrets: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`S${i}`, 'x'])) });
badField('job subject commit', job, { subject: 'commit' });
badField('job base HEAD', job, { base: 'HEAD' });
badField('job generate "yes"', job, { generate: 'yes' });
badField('result generated over 64 KiB', sample('result'), { outcome: { ...sample('result').outcome, generated: 'x'.repeat(64 * 1024 + 1) } });
badField('status scaling started state lost', sample('status'), { scaling: { started: [{ name: 'a', labels: [], state: 'lost', reason: '', since: '' }], failures: 0, lastFailure: '', backoffUntil: null } });
for (const lease of ['', 'l'.repeat(65), 'a b', 'a/b', '../x', 'a.b', 'l\n', 7]) {
  badField(`lease ${JSON.stringify(lease)}`, job, { lease });
  badField(`output lease ${JSON.stringify(lease)}`, sample('output'), { lease });
}
const output = sample('output');
badField('output stream stdin', output, { stream: 'stdin' });
badField('output stream as a number', output, { stream: 1 });
badField('output data over 64 KiB', output, { data: 'd'.repeat(MAX_OUTPUT_CHUNK + 1) });
badField('output data as a list', output, { data: ['a'] });
badField('output data as base64 object', output, { data: { base64: 'AA==' } });
const result = sample('result');
badField('outcome status timeout', result, { outcome: { ...outcome, status: 'timeout' } });
badField('outcome status running', result, { outcome: { ...outcome, status: 'running' } });
badField('outcome exitCode 256', result, { outcome: { ...outcome, exitCode: 256 } });
badField('outcome exitCode -256', result, { outcome: { ...outcome, exitCode: -256 } });
badField('outcome exitCode as a string', result, { outcome: { ...outcome, exitCode: '1' } });
badField('outcome signal as a number', result, { outcome: { ...outcome, signal: 9 } });
badField('outcome signal over 32 chars', result, { outcome: { ...outcome, signal: 'S'.repeat(33) } });
badField('outcome timedOut as a string', result, { outcome: { ...outcome, timedOut: 'false' } });
badField('outcome timedOut as 0', result, { outcome: { ...outcome, timedOut: 0 } });
badField('outcome startedAt over 64 chars', result, { outcome: { ...outcome, startedAt: 't'.repeat(65) } });
badField('outcome durationMs float', result, { outcome: { ...outcome, durationMs: 1.5 } });
badField('outcome command as a string', result, { outcome: { ...outcome, command: 'npm test' } });
badField('outcome command with a number', result, { outcome: { ...outcome, command: ['npm', 1] } });
badField('outcome message over 4096 chars', result, { outcome: { ...outcome, message: 'm'.repeat(4097) } });
badField('outcome counts as a list', result, { outcome: { ...outcome, counts: [10, 7, 2, 1] } });
badField('outcome counts negative', result, { outcome: { ...outcome, counts: { ...outcome.counts, failed: -1 } } });
badField('outcome as a list', result, { outcome: [] });
badField('outcome as a string', result, { outcome: 'passed' });
badField('recorded accepted as 1', sample('recorded'), { accepted: 1 });
badField('queued duplicate as "false"', sample('queued'), { duplicate: 'false' });
badField('query commit as a number', sample('query'), { commit: 1 });
badField('status queued negative', status, { queued: -1 });
badField('status builds as an object', status, { builds: {} });
badField('status build as a string', status, { builds: [SHA1] });
badField('status build with a bad commit', status, { builds: [{ ...build, commit: 'HEAD' }] });
badField('status build with status done', status, { builds: [{ ...build, status: 'done' }] });
badField('status build with jobs as a list', status, { builds: [{ ...build, jobs: [] }] });
badField('status build with a job count that is a string', status, { builds: [{ ...build, jobs: { passed: '1' } }] });
badField('status build with a job count of an unknown status', status, { builds: [{ ...build, jobs: { done: 1 } }] });
badField('status build with a note over 256 characters', status, { builds: [{ ...build, note: 'n'.repeat(257) }] });
badField('status record with seq-like 1e400 durations', status, { record: { ...sample('status').builds[0], durationMs: 1e400 } });
badField('status runner slots 0', status, { runners: [{ ...runner, slots: 0 }] });
badField('status runner running a non-commit', status, { runners: [{ ...runner, running: ['lease_1'] }] });
badField('status runners as null', status, { runners: null });
badField('history with a short branch name', sample('history'), { ref: 'main' });
badField('history limit 0', sample('history'), { limit: 0 });
badField('history limit past a page', sample('history'), { limit: 101 });
badField('history cursor negative', sample('history'), { before: -1 });
badField('history-page with too many builds', sample('history-page'), { builds: Array(101).fill(sample('history-page').builds[0]) });
badField('logs of an abbreviated commit', sample('logs'), { commit: 'abc123' });
badField('logs of a job named like a path', sample('logs'), { job: '../x' });
badField('logs follow as a string', sample('logs'), { follow: 'yes' });
badField('log data past a chunk', sample('log'), { data: 'x'.repeat(64 * 1024 + 1) });
badField('log offset fractional', sample('log'), { offset: 1.5 });
badField('log-end without a build', sample('log-end'), { build: undefined });

// Commit ids, wherever one is expected.
const badCommits = [
  '0123456789abcdef0123456789abcdef0123456', // 39
  `${SHA1}8`, // 41
  SHA1.toUpperCase(),
  `${SHA1.slice(0, 39)}G`,
  SHA1.padEnd(63, 'a'),
  SHA1.padEnd(65, 'b'),
  'HEAD',
  'main',
  '--upload-pack=x',
  '../../etc/passwd',
  'HEAD;touch X',
  `${SHA1}\n`,
  `\n${SHA1}`,
  ` ${SHA1}`,
  `${SHA1} `,
  '',
];
for (const commit of badCommits) {
  badField(`commit id ${JSON.stringify(commit)} in commit`, sample('commit'), { commit });
  badField(`commit id ${JSON.stringify(commit)} in job`, job, { commit });
  badField(`commit id ${JSON.stringify(commit)} in queued`, sample('queued'), { commit });
  badField(`commit id ${JSON.stringify(commit)} in query`, sample('query'), { commit });
}

// Refs. The refs/ ones are cross-checked against git below.
const badRefs = [
  'main',
  'heads/main',
  'HEAD',
  'refs',
  'refs/',
  '--exec=x',
  '-x',
  '/refs/heads/main',
  'refs/heads/a..b',
  'refs/heads/a.lock',
  'refs/heads/a.lock/b',
  'refs/heads/a b',
  'refs/heads/a~1',
  'refs/heads/a^',
  'refs/heads/a:b',
  'refs/heads/a?',
  'refs/heads/a*',
  'refs/heads/a[b',
  'refs/heads/@{x}',
  'refs/heads/a@{1}',
  'refs/heads/.hidden',
  'refs/heads/x/.y',
  'refs/heads/x/',
  'refs/heads//x',
  'refs/heads/x.',
  'refs/heads/a\\b',
  'refs/heads/a\nb',
  'refs/heads/a\tb',
  'refs/heads/a\u007fb',
  'refs/heads/a\u0000b',
];
for (const ref of badRefs) {
  badField(`ref ${JSON.stringify(ref)} in commit`, sample('commit'), { ref });
  badField(`ref ${JSON.stringify(ref)} in job`, job, { ref });
}

// Repository URLs.
const badRepos = [
  'ext::sh -c touch% /tmp/x',
  'ext::sh',
  'fd::17',
  'fd::0,1',
  'file::/srv/x',
  '-uhack',
  '--upload-pack=touch /tmp/x',
  '',
  'relative/path',
  './relative',
  '../x.git',
  'x.git',
  'file://',
  'https://',
  `/${'p'.repeat(5000)}`,
  '/srv/git/x.git\n--upload-pack=x',
  '/srv/git/x\u0000.git',
  'https://host/x.git\r',
];
for (const repo of badRepos) {
  badField(`repo ${JSON.stringify(repo.slice(0, 40))} in observe`, sample('observe'), { repo });
  badField(`repo ${JSON.stringify(repo.slice(0, 40))} in job`, job, { repo });
}

// Runner names, labels and job names.
const badNames = ['../x', '..', '.x', '-x', '--name', 'a b', 'a/b', 'a\\b', 'a:b', `a${'b'.repeat(64)}`, '', 'a\n', '\u00e9t\u00e9', 'a\u0000'];
for (const name of badNames) {
  const shown = JSON.stringify(name.slice(0, 20));
  badField(`register name ${shown}`, register, { name });
  badField(`register label ${shown}`, register, { labels: ['linux', name] });
  badField(`registered name ${shown}`, sample('registered'), { name });
  badField(`job name ${shown}`, job, { job: name });
  badField(`status runner name ${shown}`, status, { runners: [{ ...runner, name }] });
  badField(`status runner label ${shown}`, status, { runners: [{ ...runner, labels: [name] }] });
}

for (const { name, line, code } of rows) {
  test(`refuses ${name} (${code})`, () => {
    assert.throws(() => decode(line), (error: unknown) => {
      assert.ok(error instanceof ProtocolError, `a ProtocolError, got ${String(error)}`);
      assert.equal(error.name, 'ProtocolError');
      assert.equal(error.code, code, error.message);
      assert.ok(error.message.length > 0, 'message is not empty');
      assert.ok(error.message.length <= 300, `message is short, got ${error.message.length} chars`);
      return true;
    });
  });
}

test('a bad field error names the field and shows the value', () => {
  assert.throws(() => decode('{"type":"register","name":"r","slots":257,"labels":[]}'), /"slots".*257/);
  assert.throws(() => decode('{"type":"commit","commit":"HEAD;touch X","repo":"/r","ref":"refs/heads/m"}'), /"commit".*HEAD;touch X/);
  assert.throws(() => decode('{"type":"ping"}'), /"seq".*nothing/);
});

test('bad UTF-8 and bad JSON keep the underlying error as cause', () => {
  for (const line of [Buffer.from([0xff, 0xfe]), '{']) {
    assert.throws(() => decode(line), (error: unknown) => error instanceof ProtocolError && error.cause instanceof Error);
  }
});

function gitAccepts(ref: string): boolean {
  try {
    execFileSync('git', ['check-ref-format', ref], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('git check-ref-format also refuses every refs/ ref in the table', () => {
  for (const ref of badRefs.filter((r) => r.startsWith('refs/') && !r.includes('\u0000'))) {
    assert.equal(gitAccepts(ref), false, `git accepts ${JSON.stringify(ref)}`);
  }
});

test('refs git accepts are accepted, even with a leading "-" in a component', () => {
  for (const ref of ['refs/heads/-x', 'refs/heads/-', 'refs/heads/a.lockx', 'refs/heads/a./b', 'refs/heads/@', 'refs/heads/a{b', 'refs/heads/\u00e9']) {
    assert.equal(gitAccepts(ref), true, `git refuses ${JSON.stringify(ref)}`);
    assert.deepEqual(decode(patched(sample('commit'), { ref })), { ...sample('commit'), ref });
  }
});

// A fatal TextDecoder would strip a leading byte-order mark from bytes
// unless told not to; the same line as text must fail the same way.
test('a line starting with a byte-order mark is refused as bytes and as text', () => {
  const line = '\ufeff{"type":"ping","seq":1}';
  assert.throws(() => decode(line), ProtocolError);
  assert.throws(() => decode(Buffer.from(line, 'utf8')), ProtocolError);
});

// Patches: a base that could be an option, an author without an address, bytes that are not base64 or more than a chunk.
const patch = sample('patch');
badField('patch with a base that is an option', patch, { base: '--upload-pack=touch /tmp/x' });
badField('patch with a base holding a space', patch, { base: 'main extra' });
badField('patch with an author without an address', patch, { author: 'Ann' });
badField('patch with a subject on two lines', patch, { subject: 'one\ntwo' });
badField('patch larger than Keel takes', patch, { bytes: 64 * 1024 * 1024 + 1 });
badField('patch with a short checksum', patch, { sha256: 'ab' });
badField('patch-data not base64', sample('patch-data'), { data: 'not base64!' });
badField('patch-data over a chunk', sample('patch-data'), { data: 'A'.repeat(700_000) + '==' });
badField('patch-op unknown', sample('patch-op'), { op: 'merge' });
badField('patches touching a path with a newline', sample('patches'), { touchesNone: ['docs/\n'] });
badField('patch-read of a lease id', sample('patch-read'), { patch: 'lease_1-a' });
const apply = { op: 'apply', patch: 'P-1', version: 1, n: 1, format: 'mbox', onto: 'a'.repeat(40), author: null, subject: null, bytes: 1, sha256: '00'.repeat(32) };
badField('apply onto a short commit id', { type: 'command', id: 'C-1', command: { ...apply, onto: 'abc' } }, {});
badField('apply of a patch id that could be a path', { type: 'command', id: 'C-1', command: { ...apply, patch: '../P-1' } }, {});
