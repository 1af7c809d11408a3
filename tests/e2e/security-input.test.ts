// Hostile values, end to end: refs, commit ids and repository URLs that
// could reach a shell, a path or a git option are refused at the door, and
// what a runner's tests see is only what they may: no secret, no variable
// from the runner's environment, a ref as plain text. Each test fails if its
// protection is taken away.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { world } from '../helpers/e2e.js';
import { keyFor, MASTER } from '../helpers/e2e-secret.js';
import { commitMessage, connectAs, connectObserver, MAIN_REF, observeMessage, query } from '../helpers/e2e-wire.js';

const SHA = '5'.repeat(40);
const REF = MAIN_REF;

test('refs, ids and repository URLs that could reach a shell, a path or a git option are refused', async (t) => {
  const w = world(t);
  const d = await w.inProcess();
  const mark = join(w.tmp, 'pwned');
  const repo = '/srv/git/app.git';
  const observer = await connectObserver(t, d.port, { repo });
  const bad: Array<{ commit: string; repo: string; ref: string; field: string }> = [
    { commit: SHA, repo, ref: `refs/heads/$(touch ${mark})`, field: 'ref' },
    { commit: SHA, repo, ref: `refs/heads/\`touch ${mark}\``, field: 'ref' },
    { commit: SHA, repo, ref: `refs/heads/x;touch ${mark}`, field: 'ref' },
    { commit: SHA, repo, ref: 'refs/heads/../../../etc/passwd', field: 'ref' },
    { commit: SHA, repo, ref: `--upload-pack=touch ${mark}`, field: 'ref' },
    { commit: SHA, repo, ref: 'main', field: 'ref' },
    { commit: SHA, repo, ref: 'refs/heads/a\ntouch', field: 'ref' },
    { commit: '../X', repo, ref: REF, field: 'commit' },
    { commit: `../${'a'.repeat(37)}`, repo, ref: REF, field: 'commit' },
    { commit: `${'a'.repeat(40)}/../../x`, repo, ref: REF, field: 'commit' },
    { commit: 'HEAD', repo, ref: REF, field: 'commit' },
    { commit: 'A'.repeat(40), repo, ref: REF, field: 'commit' },
    { commit: SHA, repo: `ext::sh -c touch% ${mark}`, ref: REF, field: 'repo' },
    { commit: SHA, repo: `--upload-pack=touch ${mark}`, ref: REF, field: 'repo' },
    { commit: SHA, repo: `-oProxyCommand=touch ${mark}:x`, ref: REF, field: 'repo' },
    { commit: SHA, repo: `ssh://-oProxyCommand=touch${mark}/x`, ref: REF, field: 'repo' },
    { commit: SHA, repo: 'relative/path', ref: REF, field: 'repo' },
  ];
  // A repository URL is given when an observer registers, so a bad one is refused there.
  const unregistered = await connectAs(t, d.port, 'observer', 'e2e-unregistered');
  for (const c of bad) {
    const peer = c.field === 'repo' ? unregistered : observer.peer;
    peer.send(c.field === 'repo' ? observeMessage({ repo: c.repo }) : commitMessage(c.commit, c.ref));
    const error = await peer.next('error');
    assert.equal(error.code, 'bad-field', `${JSON.stringify(c)}: ${error.message}`);
    assert.match(error.message, new RegExp(`"${c.field}`), `${JSON.stringify(c)} names the field: ${error.message}`);
  }
  assert.equal(observer.peer.received.some((m) => m.type === 'queued'), false, 'nothing was queued');
  const client = await connectAs(t, d.port, 'client');
  const overview = await query(client);
  assert.equal(overview.queued, 0);
  assert.deepEqual(overview.builds, []);
  assert.deepEqual(readdirSync(w.results), [], 'no result file was made');
  assert.equal(existsSync(mark), false);
});

test("a runner's tests never see KEEL_TOKEN, and a shell-looking ref reaches them only as text", async (t) => {
  const w = world(t);
  const d = await w.dispatcher({ secret: MASTER });
  const envFile = join(w.tmp, 'test-env.txt');
  const mark = join(w.tmp, 'pwned');
  // A valid ref (git check-ref-format accepts $, (, ) and {}) that a shell would run.
  const ref = `refs/heads/x$(touch\${IFS}${mark})`;
  const sha = w.push({ 'tests/run.sh': `#!/bin/sh\nenv > '${envFile}'\n` }, 'dump the environment');

  await w.runner('env-runner', d, { env: { KEEL_TOKEN: MASTER, KEEL_CANARY: 'canary-value' } });
  const observer = await connectObserver(t, d.port, { repo: w.central }, { name: 'env-observer', key: keyFor('observer') });
  assert.equal((await observer.report(sha, ref)).commit, sha);

  const record = await w.result(sha);
  assert.equal(record.status, 'passed', JSON.stringify(record, null, 2));
  const env = readFileSync(envFile, 'utf8');
  assert.doesNotMatch(env, /^KEEL_TOKEN=/m, 'KEEL_TOKEN reached the tests');
  assert.equal(env.includes(MASTER), false, 'the master secret reached the tests');
  assert.equal(env.includes(keyFor('runner').toString('hex')), false, 'the runner key reached the tests');
  assert.doesNotMatch(env, /KEEL_CANARY/, 'only allow-listed variables reach the tests');
  assert.ok(env.split('\n').includes(`KEEL_REF=${ref}`), `KEEL_REF is the literal ref:\n${env}`);
  assert.ok(env.split('\n').includes(`KEEL_COMMIT=${sha}`));
  assert.match(env, /^CI=true$/m);
  assert.equal(existsSync(mark), false, 'the ref was never run by a shell');
});
