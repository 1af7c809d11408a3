// The status page's pure parts: which route a URL names (every value
// checked, nothing else accepted), the Range header, the credential, and
// the page's flags.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatToken } from '../../../src/common/auth.js';
import { ConfigError } from '../../../src/common/errors.js';
import { isAuthorised, offeredSecret } from '../../../src/dispatcher/http/auth.js';
import { parseHttpConfig } from '../../../src/dispatcher/http/config.js';
import { parseRange } from '../../../src/dispatcher/http/range.js';
import { parseRequest } from '../../../src/dispatcher/http/routes.js';
import { tempDir } from '../../helpers/temp.js';

const SHA = 'ab'.repeat(20);

const routes: Array<[string, unknown]> = [
  ['/', { kind: 'overview' }],
  ['/api/status', { kind: 'status-json' }],
  ['/branches/main', { kind: 'branch', ref: 'refs/heads/main', before: null, json: false }],
  ['/branches/feature/x-1?before=4096', { kind: 'branch', ref: 'refs/heads/feature/x-1', before: 4096, json: false }],
  ['/branches/feature%2Fx', { kind: 'branch', ref: 'refs/heads/feature/x', before: null, json: false }],
  ['/branches/refs/tags/v1.0', { kind: 'branch', ref: 'refs/tags/v1.0', before: null, json: false }],
  ['/branches/%3Cb%3E', { kind: 'branch', ref: 'refs/heads/<b>', before: null, json: false }],
  ['/api/branches/main', { kind: 'branch', ref: 'refs/heads/main', before: null, json: true }],
  [`/builds/${SHA}`, { kind: 'build', commit: SHA, json: false }],
  [`/api/builds/${SHA}`, { kind: 'build', commit: SHA, json: true }],
  [`/builds/${SHA}/jobs/unit.NODE-18`, { kind: 'job-page', commit: SHA, job: 'unit.NODE-18' }],
  [`/builds/${SHA}/log`, { kind: 'raw-log', commit: SHA, job: null, download: false }],
  [`/builds/${SHA}/log?job=lint&download=1`, { kind: 'raw-log', commit: SHA, job: 'lint', download: true }],
  [`/builds/${SHA}/log?follow=1`, { kind: 'follow-log', commit: SHA, job: null, from: null }],
  [`/builds/${SHA}/log?follow=1&job=lint&from=120`, { kind: 'follow-log', commit: SHA, job: 'lint', from: 120 }],
  [`/api/builds/${SHA}/jobs/tests/outline`, { kind: 'log-outline', commit: SHA, job: 'tests' }],
  [`/api/builds/${SHA}/jobs/tests/search?q=not+ok`, { kind: 'log-search', commit: SHA, job: 'tests', query: 'not ok' }],
  ['/api/events', { kind: 'events', build: null }],
  [`/api/events?build=${SHA}`, { kind: 'events', build: SHA }],
  ['/badge.svg?branch=main', { kind: 'badge', ref: 'refs/heads/main' }],
  ['/badge.svg', { kind: 'badge', ref: 'refs/heads/main' }],
  ['/badge.svg?branch=a..b', { kind: 'badge', ref: null }],
  ['/assets/keel.css', { kind: 'asset', name: 'keel.css' }],
  [`/builds/${SHA}/artifacts/build/dist/app.js`, { kind: 'artifact', commit: SHA, job: 'build', path: 'dist/app.js' }],
  [`/builds/${SHA}/artifacts/build/dist/a%20b.txt`, { kind: 'artifact', commit: SHA, job: 'build', path: 'dist/a b.txt' }],
  // Dot segments resolve as in any URL, within the artifacts; the path must then be one the job's record lists.
  [`/builds/${SHA}/artifacts/build/dist/../x`, { kind: 'artifact', commit: SHA, job: 'build', path: 'x' }],
];

for (const [url, route] of routes) {
  test(`${url} is ${(route as { kind: string }).kind}`, () => {
    const parsed = parseRequest(url);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.request.route, route);
  });
}

test('?project=NAME rides along on any route, and is checked', () => {
  const parsed = parseRequest(`/builds/${SHA}?project=lib`);
  assert.ok(parsed.ok);
  assert.equal(parsed.request.project, 'lib');
  assert.equal(parsed.request.projectGiven, true);
  const none = parseRequest('/');
  assert.ok(none.ok && none.request.project === null && !none.request.projectGiven);
  assert.deepEqual(parseRequest('/?project=../x'), { ok: false, status: 400, message: 'project must be a plain name' });
});

const refused: Array<[string, number]> = [
  ['/builds/HEAD', 404], ['/builds/abc123', 404], [`/builds/${SHA.toUpperCase()}`, 404],
  [`/builds/${SHA}/jobs/..`, 404], [`/builds/${SHA}/jobs/a%2Fb`, 404], [`/builds/${SHA}/log?job=../../etc`, 404],
  ['/branches/a..b', 404], ['/branches/x.lock', 404], ['/branches/a%20b', 404], ['/branches/%', 400],
  ['/assets/../../package.json', 404], ['/assets/%2e%2e%2fpackage.json', 404], ['/assets/keel.css/x', 404],
  ['/etc/passwd', 404], ['/api', 404], ['/api/builds', 404], [`/api/builds/${SHA}/jobs/tests/search`, 400],
  [`/api/builds/${SHA}/jobs/tests/search?q=${'x'.repeat(201)}`, 400], [`/builds/${SHA}/log?follow=1&from=-1`, 400],
  ['/branches/main?before=x', 400], ['/api/events?build=main', 404],
  [`/builds/${SHA}/artifacts/build`, 404], [`/builds/${SHA}/artifacts/build/..`, 404],
  [`/builds/${SHA}/artifacts/build/%2Fetc%2Fpasswd`, 404], [`/builds/${SHA}/artifacts/build/dist//x`, 404], [`/builds/${SHA}/artifacts/build/a%2F..%2F..%2Fx`, 404],
  [`/builds/${SHA}/artifacts/../dist/x`, 404],
];

for (const [url, status] of refused) {
  test(`${url} is refused with ${status}`, () => {
    const parsed = parseRequest(url);
    assert.equal(parsed.ok, false);
    assert.equal(!parsed.ok && parsed.status, status);
  });
}

test('Range: one range of bytes, suffixes, open ends; anything else is the whole log', () => {
  assert.deepEqual(parseRange(undefined, 100), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'part', start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'part', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=90-500', 100), { kind: 'part', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'part', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-500', 100), { kind: 'part', start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-0', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=5-1', 100), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=0-1,5-6', 100), { kind: 'whole' });
  assert.deepEqual(parseRange('items=0-1', 100), { kind: 'whole' });
});

test('the credential: the client token as a Basic password or a bearer token, nothing else', () => {
  const token = formatToken(Buffer.from('a master secret of enough length'), 'client');
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  assert.equal(offeredSecret(`Bearer ${token}`), token);
  assert.equal(offeredSecret(basic('anyone', token)), token);
  assert.ok(isAuthorised(`Bearer ${token}`, token));
  assert.ok(isAuthorised(`bearer   ${token}`, token));
  assert.ok(isAuthorised(basic('', token), token));
  assert.ok(!isAuthorised(undefined, token));
  assert.ok(!isAuthorised('', token));
  assert.ok(!isAuthorised(`Bearer ${token}x`, token));
  assert.ok(!isAuthorised(basic(token, ''), token), 'the token is the password, not the user');
  assert.ok(!isAuthorised(`Token ${token}`, token));
});

test('the page flags: port 8080 by default, 0 with --port 0, off; loopback only without --http-auth', (t) => {
  const dir = tempDir(t);
  const master = join(dir, 'master');
  writeFileSync(master, 'a master secret of enough length\n');
  const runner = join(dir, 'runner');
  writeFileSync(runner, formatToken(Buffer.from('a master secret of enough length'), 'runner'));
  const base = { 'http-max-clients': '200' };
  const at = (host: string, port = 8888, insecure = false) => ({ host, port, insecure });
  assert.equal(parseHttpConfig(base, at('127.0.0.1'))?.port, 8080);
  assert.equal(parseHttpConfig(base, at('127.0.0.1', 0))?.port, 0);
  assert.equal(parseHttpConfig({ ...base, 'http-port': 'off' }, at('127.0.0.1')), null);
  assert.equal(parseHttpConfig(base, at('0.0.0.0'))?.host, '127.0.0.1', 'a dispatcher open to others keeps its page on loopback without --http-auth');
  assert.throws(() => parseHttpConfig({ ...base, 'http-host': '0.0.0.0' }, at('127.0.0.1')), ConfigError);
  assert.equal(parseHttpConfig({ ...base, 'http-host': '0.0.0.0' }, at('127.0.0.1', 8888, true))?.host, '0.0.0.0', '--insecure means it');
  const authed = parseHttpConfig({ ...base, 'http-auth': master }, at('0.0.0.0'));
  assert.equal(authed?.host, '0.0.0.0');
  assert.equal(authed?.token, formatToken(Buffer.from('a master secret of enough length'), 'client'));
  assert.throws(() => parseHttpConfig({ ...base, 'http-auth': runner }, at('0.0.0.0')), /a runner token/);
  assert.throws(() => parseHttpConfig({ ...base, 'http-auth': join(dir, 'missing') }, at('0.0.0.0')), ConfigError);
  assert.throws(() => parseHttpConfig({ ...base, 'http-port': '99999' }, at('127.0.0.1')), /--http-port/);
  assert.throws(() => parseHttpConfig({ 'http-max-clients': '0' }, at('127.0.0.1')), /--http-max-clients/);
});
