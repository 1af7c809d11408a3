// The status page's routes on a real socket (port 0), served by a dispatcher
// in this process that hand-written observer and runner peers drive: what
// each route answers, its headers, the live log stream and its resumption,
// Range, the credential, the bound on live streams, and that no lease id
// ever shows.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { formatToken } from '../../../src/common/auth.js';
import { parseDispatcherConfig } from '../../../src/dispatcher/config.js';
import { startDispatcher } from '../../../src/dispatcher/dispatcher.js';
import { DEFAULT_JOB } from '../../../src/dispatcher/keel-json.js';
import type { JobSpec, RunOutcome } from '../../../src/protocol/records.js';
import { connectAs, connectObserver, connectRunner, outputMessage, passedOutcome, query, resultMessage } from '../../helpers/e2e-wire.js';
import { EventClient, get } from '../../helpers/http.js';
import { stopAtEnd, tempDir, waitFor } from '../../helpers/temp.js';

const REPO = '/srv/git/project.git';
const sha = (n: number) => n.toString(16).padStart(40, '0');
const MASTER = 'a master secret of enough length';

async function site(t: TestContext, options: { flags?: string[]; jobs?: JobSpec[] } = {}) {
  const state = tempDir(t);
  const config = parseDispatcherConfig(['--port', '0', '--http-port', '0', '--results', tempDir(t), '--state', state, ...(options.flags ?? [])], {});
  const jobs = options.jobs ?? [DEFAULT_JOB];
  const running = await startDispatcher(config, () => {}, { jobsFor: async () => ({ jobs, error: null }) });
  stopAtEnd(t, () => running.close());
  const observer = await connectObserver(t, running.port, { repo: REPO });
  const runner = await connectRunner(t, running.port, { name: 'runner-1', slots: 4 });
  const client = await connectAs(t, running.port, 'client');
  return { port: running.http!.port, tcp: running.port, observer, runner, client, state };
}

const failed = (): RunOutcome => ({ ...passedOutcome(), status: 'failed', exitCode: 1, message: 'tests failed' });

test('every response carries the strict headers; only GET and HEAD are served', async (t) => {
  const { port } = await site(t);
  const page = await get(port, '/');
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['cache-control'], 'no-store');
  assert.doesNotMatch(page.body, /<script>|<script [^>]*>[^<]/, 'no inline script');
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const refused = await get(port, '/', { method });
    assert.equal(refused.status, 405, method);
    assert.equal(refused.headers.allow, 'GET, HEAD');
  }
  const head = await get(port, '/api/status', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await get(port, '/nothing/here')).status, 404);
  assert.equal((await get(port, `/api/builds/${sha(9)}`)).status, 404);
  const css = await get(port, '/assets/keel.css');
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal((await get(port, '/assets/keel.css', { headers: { 'If-None-Match': css.headers.etag! } })).status, 304);
  assert.equal((await get(port, '/assets/..%2fpackage.json')).status, 404);
});

test('a build through its life: JSON as keel status gives it, the live log resumable by offset, its end, no lease shown', async (t) => {
  const { port, observer, runner, client } = await site(t);
  const commit = sha(1);
  await observer.report(commit);
  const job = await runner.next('job');
  const follow = await EventClient.open(t, port, `/builds/${commit}/log?follow=1`);
  assert.equal(follow.status, 200);
  assert.equal(follow.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(follow.headers['x-accel-buffering'], 'no');
  const first = await follow.next('log');
  assert.match(JSON.parse(first.data).text, /=== attempt 1 of job tests on runner runner-1/);
  const lines = Array.from({ length: 50 }, (_, i) => `line ${i} \u00e9\u{1f680} <b>&</b>\n`);
  for (const line of lines) runner.send(outputMessage(job.lease, line));
  let received = JSON.parse(first.data).text as string;
  const ids: number[] = [Number(first.id)];
  while (!received.endsWith(lines.at(-1)!)) {
    const event = await follow.next('log');
    const { offset, text } = JSON.parse(event.data);
    assert.equal(offset, ids.at(-1), 'each event starts where the last one ended');
    ids.push(Number(event.id));
    received += text;
  }
  assert.equal(ids.at(-1), Buffer.byteLength(received), 'an event\'s id is the byte offset just past its text');

  // A client that lost its connection comes back with the last id it had, and gets exactly the rest.
  const middle = ids[Math.floor(ids.length / 2)]!;
  const again = await EventClient.open(t, port, `/builds/${commit}/log?follow=1`, { 'Last-Event-ID': String(middle) });
  let resumed = '';
  while (resumed.length < received.length - Buffer.from(received).subarray(0, middle).toString('utf8').length) {
    const { offset, text } = JSON.parse((await again.next('log')).data);
    if (resumed === '') assert.equal(offset, middle);
    resumed += text;
  }
  assert.equal(Buffer.from(received).subarray(0, middle).toString('utf8') + resumed, received, 'nothing lost or repeated');

  const status = await query(client, commit);
  assert.equal(status.record?.status, 'running');
  const api = JSON.parse((await get(port, `/api/builds/${commit}`)).body);
  const { page, ...record } = api;
  assert.deepEqual(record, status.record, '/api/builds is the record keel status --json gives');
  assert.equal(page.estimate, null, 'no passing build of the branch to judge from yet');

  runner.send(resultMessage(job.lease, failed()));
  const end = JSON.parse((await follow.next('end')).data);
  assert.deepEqual(end, { job: 'tests', status: 'failed', offset: Buffer.byteLength(received) });
  await follow.closed;
  const raw = await get(port, `/builds/${commit}/log`);
  assert.equal(raw.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(raw.body, received, 'the raw log is what was streamed');

  const everything = await Promise.all([
    '/', '/api/status', `/builds/${commit}`, `/api/builds/${commit}`, `/builds/${commit}/jobs/tests`, '/branches/main', '/api/branches/main',
    `/api/builds/${commit}/jobs/tests/outline`, `/api/builds/${commit}/jobs/tests/search?q=line`,
  ].map((path) => get(port, path)));
  for (const answer of everything) {
    assert.equal(answer.status, 200);
    assert.ok(!answer.body.includes(job.lease), 'the lease, a runner\'s capability, is never shown');
  }
});

test('the raw log honours Range; a download is an attachment named by the log', async (t) => {
  const { port, observer, runner } = await site(t);
  const commit = sha(2);
  await observer.report(commit);
  const job = await runner.next('job');
  runner.send(outputMessage(job.lease, '0123456789abcdef\n'));
  runner.send(resultMessage(job.lease));
  const whole = (await waitFor(async () => {
    const answer = await get(port, `/builds/${commit}/log`);
    return answer.body.endsWith('0123456789abcdef\n') ? answer : null;
  }, 'the log')).body;
  const part = await get(port, `/builds/${commit}/log`, { headers: { Range: 'bytes=-7' } });
  assert.equal(part.status, 206);
  assert.equal(part.body, 'abcdef\n');
  assert.equal(part.headers['content-range'], `bytes ${Buffer.byteLength(whole) - 7}-${Buffer.byteLength(whole) - 1}/${Buffer.byteLength(whole)}`);
  assert.equal(part.headers['accept-ranges'], 'bytes');
  const beyond = await get(port, `/builds/${commit}/log`, { headers: { Range: `bytes=${Buffer.byteLength(whole)}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], `bytes */${Buffer.byteLength(whole)}`);
  const download = await get(port, `/builds/${commit}/log?download=1`);
  assert.equal(download.headers['content-disposition'], `attachment; filename="${commit}.log"`);
  const search = JSON.parse((await get(port, `/api/builds/${commit}/jobs/tests/search?q=ABCDEF`)).body);
  assert.deepEqual(search.matches, [{ line: 2, offset: Buffer.byteLength(whole) - 17, text: '0123456789abcdef' }]);
});

test('a branch\'s history, its badge, and the estimate of a running build from its last passing one', async (t) => {
  const { port, observer, runner, tcp } = await site(t);
  await observer.report(sha(3));
  const job = await runner.next('job');
  runner.send(resultMessage(job.lease));
  await waitFor(async () => (await get(port, '/badge.svg?branch=main')).body.includes('passing'), 'a passing badge');
  const badge = await get(port, '/badge.svg?branch=main');
  assert.equal(badge.headers['content-type'], 'image/svg+xml; charset=utf-8');
  const unknown = await get(port, '/badge.svg?branch=never-built');
  assert.match(unknown.body, />unknown</);
  assert.match(unknown.body, /#9e9e9e/);

  await observer.report(sha(4));
  await runner.next('job');
  const build = JSON.parse((await get(port, `/api/builds/${sha(4)}`)).body);
  assert.equal(build.status, 'running');
  assert.equal(build.page.estimate.from, sha(3));
  assert.match((await get(port, `/builds/${sha(4)}`)).body, /data-until="/);

  const history = JSON.parse((await get(port, '/api/branches/main')).body);
  assert.equal(history.type, 'history-page');
  assert.deepEqual(history.builds.map((b: { commit: string }) => b.commit), [sha(4), sha(3)], 'the running build first, then the finished');
  const peer = await connectAs(t, tcp, 'client', 'history');
  peer.send({ type: 'history', project: null, ref: 'refs/heads/main', limit: 10, before: null });
  assert.deepEqual((await peer.next('history-page')).builds, history.builds, 'the same as keel status --branch');
  assert.match((await get(port, '/branches/main')).body, new RegExp(sha(3).slice(0, 10)));
});

test('with --http-auth every request needs the client token, as Basic or bearer, never in the URL', async (t) => {
  const file = join(tempDir(t), 'master');
  writeFileSync(file, MASTER);
  const { port } = await site(t, { flags: ['--http-auth', file] });
  const token = formatToken(Buffer.from(MASTER), 'client');
  for (const path of ['/', '/api/status', '/badge.svg', '/assets/keel.css', `/builds/${sha(1)}/log?follow=1`]) {
    const refused = await get(port, path);
    assert.equal(refused.status, 401, path);
    assert.match(refused.headers['www-authenticate']!, /^Basic realm="Keel"/);
  }
  assert.equal((await get(port, `/?token=${encodeURIComponent(token)}`)).status, 401, 'a token in the URL is not a credential');
  assert.equal((await get(port, '/', { headers: { Authorization: `Basic ${Buffer.from(`me:${token}`).toString('base64')}` } })).status, 200);
  assert.equal((await get(port, '/api/status', { headers: { Authorization: `Bearer ${token}` } })).status, 200);
  assert.equal((await get(port, '/', { headers: { Authorization: `Bearer ${formatToken(Buffer.from(MASTER), 'runner')}` } })).status, 401, 'another role\'s token is not the page\'s');
});

test('live streams are bounded by --http-max-clients; the overview\'s stream says when something changed', async (t) => {
  const { port, observer } = await site(t, { flags: ['--http-max-clients', '2'] });
  const first = await EventClient.open(t, port, '/api/events');
  await first.next('hello');
  const second = await EventClient.open(t, port, `/builds/${sha(5)}/log?follow=1`);
  assert.equal(second.status, 404, 'an unknown build has no log to follow');
  const third = await EventClient.open(t, port, '/api/events');
  assert.equal(third.status, 200);
  const full = await EventClient.open(t, port, '/api/events');
  assert.equal(full.status, 503);
  assert.ok(full.headers['retry-after']);
  await observer.report(sha(5));
  await first.next('changed');
  third.stop();
  await waitFor(async () => (await EventClient.open(t, port, '/api/events')).status === 200, 'a freed place');
});

test('a build of several jobs: a log is asked for by job, and the page links each', async (t) => {
  const jobs: JobSpec[] = ['unit', 'lint'].map((id) => ({ ...DEFAULT_JOB, id, title: `${id} job` }));
  const { port, observer, runner } = await site(t, { jobs });
  const commit = sha(6);
  await observer.report(commit);
  await runner.next('job');
  await runner.next('job');
  assert.equal((await get(port, `/builds/${commit}/log`)).status, 404, 'no job `tests`, and more than one to choose from');
  assert.equal((await get(port, `/builds/${commit}/log?job=lint`)).status, 200);
  const page = (await get(port, `/builds/${commit}`)).body;
  assert.match(page, new RegExp(`/builds/${commit}/jobs/unit`));
  assert.match(page, new RegExp(`/builds/${commit}/jobs/lint`));
  const overview = JSON.parse((await get(port, '/api/status')).body);
  assert.equal(overview.runnerDetails[0].running.length, 2);
  assert.deepEqual(overview.landQueue, [], 'no land request was made');
  assert.deepEqual(overview.patches, []);
});

test('a big log is outlined as head, gap and tail at line starts, with honest line numbers', async (t) => {
  const { port, observer, runner } = await site(t);
  const commit = sha(7);
  await observer.report(commit);
  const job = await runner.next('job');
  const lines = Array.from({ length: 60_000 }, (_, i) => `line ${String(i + 2).padStart(7, '0')} ${'·'.repeat(i % 17)}\n`);
  for (let i = 0; i < lines.length; i += 2000) runner.send(outputMessage(job.lease, lines.slice(i, i + 2000).join('')));
  runner.send(resultMessage(job.lease));
  // The job's status is recorded before the last of its log reaches the file: ask until both have settled.
  const [outline, raw] = await waitFor(async () => {
    const answer = JSON.parse((await get(port, `/api/builds/${commit}/jobs/tests/outline`)).body);
    const log = (await get(port, `/builds/${commit}/log`)).body;
    return answer.status === 'passed' && answer.gap && answer.size === Buffer.byteLength(log) ? [answer, log] as const : null;
  }, 'the outline of the finished log');
  const bytes = Buffer.from(raw);
  const total = raw.split('\n').length - 1;
  assert.equal(outline.size, bytes.length);
  assert.equal(bytes[outline.head.end - 1], 0x0a, 'the head ends at a line end');
  assert.equal(bytes[outline.tail.from - 1], 0x0a, 'the tail starts at a line start');
  assert.equal(outline.gap.from, outline.head.end);
  assert.equal(outline.gap.to, outline.tail.from);
  assert.equal(outline.gap.firstLine, outline.head.lines + 1);
  const middle = await get(port, `/builds/${commit}/log`, { headers: { Range: `bytes=${outline.gap.from}-${outline.gap.to - 1}` } });
  assert.equal(middle.body.split('\n').length - 1, outline.gap.lastLine - outline.gap.firstLine + 1, 'the gap says how many lines it holds');
  assert.equal(middle.body.split('\n')[0], lines[outline.gap.firstLine - 2]!.trimEnd(), 'line numbers count from the attempt line');
  assert.equal(outline.tail.firstLine, outline.gap.lastLine + 1);
  assert.equal(total - outline.tail.firstLine + 1, raw.slice(Buffer.from(raw).subarray(0, outline.tail.from).toString().length).split('\n').length - 1);
  assert.ok(outline.marks.length >= 2, 'time marks come with it');
});

test('a build page shows each failed test from JUnit: its name, message, and the lines of the log around it', async (t) => {
  const { port, observer, runner } = await site(t);
  const commit = sha(8);
  await observer.report(commit);
  const job = await runner.next('job');
  runner.send(outputMessage(job.lease, 'TAP version 13\nok 1 - adds\nnot ok 2 - multiplies\n  ---\n  error: 4 !== 5\n  ...\n1..2\n'));
  const junit = '<testsuites><testsuite name="math"><testcase classname="math" name="multiplies"><failure message="4 !== 5">AssertionError: 4 !== 5\n    at math.test.js:5</failure></testcase><testcase name="adds"/></testsuite></testsuites>';
  runner.send(resultMessage(job.lease, { ...failed(), failedTests: ['math.multiplies'], junit }));
  const page = await waitFor(async () => {
    const answer = (await get(port, `/builds/${commit}`)).body;
    return answer.includes('Failed tests') && answer.includes('class="context"') ? answer : null;
  }, 'the failures on the build page');
  assert.match(page, /<div class="test-name">math\.multiplies<\/div>/);
  assert.match(page, /<div class="message">4 !== 5<\/div>/);
  assert.match(page, /AssertionError: 4 !== 5/);
  assert.match(page, new RegExp(`href="/builds/${commit}/jobs/tests#L4" class="hit"><span class="n">4</span>not ok 2 - multiplies`), 'the line naming the test, linked');
  assert.match(page, /<span class="n">6<\/span>  error: 4 !== 5/, 'and the lines after it');
});

test('keel logs over the protocol: a follower is not closed as idle while it waits, and ends with the build', async (t) => {
  const { observer, runner, tcp } = await site(t, { flags: ['--client-idle', '0.2'] });
  const commit = sha(9);
  await observer.report(commit);
  const job = await runner.next('job');
  const client = await connectAs(t, tcp, 'client', 'follower');
  client.send({ type: 'logs', commit, project: null, job: null, follow: true });
  assert.equal((await client.next('log-progress')).build.status, 'running');
  const first = await client.next('log');
  assert.match(first.data, /=== attempt 1/);
  client.send({ type: 'logs', commit, project: null, job: null, follow: true });
  assert.equal((await client.next('error')).code, 'busy', 'one follow at a time on a connection');
  // Three idle periods pass with nothing asked: a client that waits on its follow stays.
  await new Promise((resolve) => setTimeout(resolve, 600));
  runner.send(outputMessage(job.lease, 'still here\n'));
  assert.deepEqual(await client.next('log'), { type: 'log', job: 'tests', offset: Buffer.byteLength(first.data), data: 'still here\n' });
  runner.send(resultMessage(job.lease));
  const end = await client.next('log-end');
  assert.equal(end.build.status, 'passed');
  assert.ok(!client.isClosed, 'the connection stays open after the follow');
});
