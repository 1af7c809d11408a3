// Commit statuses (issue 15.2) against a forge in the test that checks each
// request as Gitea's API documents it: `pending` when a job starts, then its
// verdict, with context, description and target_url; a forge failing with
// 5xx and then recovering; one refusing (401), logged once with its message;
// one that never answers; GitHub's path and headers; and statuses kept
// through a dispatcher restart until the forge takes them. No build ever
// waits for the forge.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startFakeForge, type FakeForge, type ForgeRequest } from '../helpers/fake-forge.js';
import { inProcess, outcomeOf } from '../helpers/in-process.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const SHA = ['a', 'b', 'c'].map((c) => c.repeat(40));
const REPO = 'ssh://git@forge.example:2222/team/app.git';
const TOKEN = 'gitea-token-0123456789';

function setup(t: TestContext, forge: FakeForge, extra: string[] = []) {
  const tokenFile = join(tempDir(t), 'forge.token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  return inProcess(t, {
    repo: REPO,
    flags: ['--forge-status', forge.url, '--forge-token-file', tokenFile, '--public-url', 'https://ci.example/', '--forge-timeout', '0.5', ...extra],
  });
}

const of = (sha: string, state?: string) => (r: ForgeRequest) => r.path.endsWith(`/statuses/${sha}`) && (state === undefined || r.body.state === state);

test('each job\'s state is posted as Gitea documents it: pending when it starts, then its verdict', async (t) => {
  const forge = await startFakeForge(t);
  const h = setup(t, forge);
  await h.start();
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  const job = await runner.next('job');
  const pending = await forge.waitForRequest(of(SHA[0]!, 'pending'), 'the pending status');
  assert.equal(pending.method, 'POST');
  assert.equal(pending.path, `/api/v1/repos/team/app/statuses/${SHA[0]}`);
  assert.equal(pending.headers.authorization, `token ${TOKEN}`);
  assert.match(String(pending.headers['content-type']), /^application\/json/);
  assert.deepEqual(pending.body, {
    state: 'pending', context: 'keel/tests', description: 'running on r1', target_url: `https://ci.example/builds/${SHA[0]}/jobs/tests`,
  });

  runner.send({ type: 'result', lease: job.lease, outcome: outcomeOf('failed') });
  const failed = await forge.waitForRequest(of(SHA[0]!, 'failure'), 'the failure status');
  assert.equal(failed.body.context, 'keel/tests');
  assert.equal(failed.body.description, 'failed, 2 of 12 tests failed, 1.5 s: exit code 1');
  await h.commit(SHA[1]!);
  await h.finish(runner);
  const success = await forge.waitForRequest(of(SHA[1]!, 'success'), 'the success status');
  assert.equal(success.body.description, 'passed, 12 tests, 1.5 s');
  assert.equal(forge.requests.filter(of(SHA[0]!)).length, 2, 'one pending and one verdict per job');
});

test('a forge failing with 5xx is tried again with backoff until it recovers; builds do not wait for it, and a later state is never overtaken', async (t) => {
  const forge = await startFakeForge(t, () => ({ status: 503, body: { message: 'maintenance' } }));
  const h = setup(t, forge);
  await h.start();
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.finish(runner);
  assert.equal((await h.result(SHA[0]!)).status, 'passed', 'the build is done while the forge is down');
  await waitFor(() => forge.requests.length >= 2, 'the forge asked again');

  forge.answer = (request) => ({ status: 201, body: { status: request.body.state } });
  const last = await forge.waitForRequest((r) => of(SHA[0]!, 'success')(r) && forge.requests.indexOf(r) >= 2, 'the verdict, once the forge is back');
  await new Promise((resolve) => setImmediate(resolve));
  const states = forge.requests.slice(forge.requests.indexOf(last)).map((r) => r.body.state);
  assert.deepEqual(states, ['success'], 'nothing after the verdict: the pending state it replaced is not posted');
  // Log kept: only the log says the forge was unreachable, once for the outage, and that it recovered.
  assert.equal(h.lines.filter((line) => /forge: cannot post statuses .*HTTP 503: maintenance/.test(line)).length, 1, h.lines.join('\n'));
  assert.ok(h.lines.some((line) => /forge: statuses are posted again/.test(line)));
});

test('a refusal (401) is logged once with the forge\'s message and not tried again', async (t) => {
  const forge = await startFakeForge(t, () => ({ status: 401, body: { message: 'token is required', url: 'https://forge.example/api/swagger' } }));
  const h = setup(t, forge);
  await h.start();
  const runner = await h.runner('r1');
  for (const sha of SHA.slice(0, 2)) {
    await h.commit(sha);
    await h.finish(runner);
    assert.equal((await h.result(sha)).status, 'passed');
  }
  await waitFor(() => forge.requests.length === 4, 'a pending and a verdict for each build');
  const refusals = h.lines.filter((line) => /forge: refused a status with HTTP 401: token is required/.test(line));
  assert.equal(refusals.length, 1, h.lines.join('\n'));
  await h.stop();
  await h.start();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(forge.requests.length, 4, 'nothing refused is posted again after a restart');
});

test('a forge that never answers: each post gives up at --forge-timeout, builds go on, and the statuses arrive once it answers', async (t) => {
  const forge = await startFakeForge(t, () => 'hang');
  const h = setup(t, forge);
  await h.start();
  const runner = await h.runner('r1');
  const started = Date.now();
  for (const sha of SHA) {
    await h.commit(sha);
    await h.finish(runner);
    await h.result(sha);
  }
  assert.ok(Date.now() - started < 5_000, `three builds took ${Date.now() - started} ms with the forge silent`);
  // Log kept: the timeout shows only in the log.
  await waitFor(() => h.lines.some((line) => /forge: cannot post statuses .*no answer within 0\.5 s/.test(line)), 'the timeout logged');
  forge.answer = (request) => ({ status: 201, body: { status: request.body.state } });
  for (const sha of SHA) await forge.waitForRequest(of(sha, 'success'), `the verdict of ${sha}`, 60_000);
});

test('statuses the forge has not taken are kept through a dispatcher restart', async (t) => {
  const forge = await startFakeForge(t, () => ({ status: 502, body: {} }));
  const h = setup(t, forge);
  await h.start();
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.finish(runner);
  await h.result(SHA[0]!);
  await h.stop();
  const before = forge.requests.length;
  forge.answer = (request) => ({ status: 201, body: { status: request.body.state } });
  await h.start();
  const posted = await forge.waitForRequest((r) => of(SHA[0]!, 'success')(r) && forge.requests.indexOf(r) >= before, 'the verdict posted after the restart');
  assert.equal(posted.body.context, 'keel/tests');
});

test('GitHub: /repos/{owner}/{repo}/statuses/{sha} under the API root, a Bearer token, its headers; --forge-repo names the repository', async (t) => {
  const forge = await startFakeForge(t, (request) => ({ status: 201, body: { state: request.body.state } }));
  const h = setup(t, forge, ['--forge-type', 'github', '--forge-repo', 'octo/widgets']);
  await h.start();
  const runner = await h.runner('r1');
  await h.commit(SHA[0]!);
  await h.finish(runner);
  const success = await forge.waitForRequest(of(SHA[0]!, 'success'), 'the GitHub status');
  assert.equal(success.path, `/repos/octo/widgets/statuses/${SHA[0]}`);
  assert.equal(success.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(success.headers.accept, 'application/vnd.github+json');
  assert.equal(success.headers['x-github-api-version'], '2022-11-28');
  // Log kept: a state the forge did not record as posted would be said only there.
  assert.ok(!h.lines.some((line) => /and the forge recorded/.test(line)), 'GitHub\'s `state` is read as the state');
});
