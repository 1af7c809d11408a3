// The forge's API as plain values (pure): the repository a status belongs
// to, from any URL a runner fetches from; the request for Gitea/Forgejo and
// for GitHub; the answer read either way; which failures are worth another
// try; and the flags that configure it all.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/common/errors.js';
import { answeredState, forgeMessage, isRetryable, ownerRepoOf, repoFor, statusRequest } from '../../src/dispatcher/forge-api.js';
import type { StatusItem } from '../../src/dispatcher/outbox.js';
import { parseOutputsConfig, type ForgeConfig, type OutputValues } from '../../src/dispatcher/outputs-config.js';
import { tempDir } from '../helpers/temp.js';

const SHA = 'f'.repeat(40);
const item: StatusItem = { id: 1, project: null, repo: '/srv/x.git', commit: SHA, job: 'unit.NODE-18', state: 'failure', description: 'failed' };

test('OWNER/REPO from the URL runners fetch from', () => {
  const cases: Array<[string, string | null]> = [
    ['ssh://git@gitea.example:2222/team/app.git', 'team/app'],
    ['https://codeberg.org/team/app', 'team/app'],
    ['https://github.com/octo/widgets.git/', 'octo/widgets'],
    ['git@github.com:octo/widgets.git', 'octo/widgets'],
    ['/var/lib/gitea/repositories/team/app.git', 'team/app'],
    ['gitolite@host:app', null],
    ['/app.git', null],
    ['https://host/a/%2e%2e', null],
    ['ssh://host/team/ap p.git', null],
  ];
  for (const [url, expected] of cases) assert.equal(ownerRepoOf(url), expected, url);
});

test('--forge-repo names a project\'s repository, or every project\'s', () => {
  const forge = { repos: new Map([['lib', 'team/lib'], ['*', 'team/main']]) } as unknown as ForgeConfig;
  assert.equal(repoFor(forge, { project: 'lib', repo: '/srv/a/b.git' }), 'team/lib');
  assert.equal(repoFor(forge, { project: null, repo: '/srv/a/b.git' }), 'team/main');
  assert.equal(repoFor({ repos: new Map() } as unknown as ForgeConfig, { project: 'x', repo: '/srv/a/b.git' }), 'a/b');
});

test('the request: Gitea\'s path, token and body; GitHub\'s path, Bearer token and headers', () => {
  const gitea: ForgeConfig = { kind: 'gitea', api: 'https://gitea.example/api/v1', token: 'T', repos: new Map(), timeoutMs: 1000 };
  const request = statusRequest(gitea, 'team/app', item, 'https://ci.example');
  assert.equal(request.url, `https://gitea.example/api/v1/repos/team/app/statuses/${SHA}`);
  assert.equal(request.headers.authorization, 'token T');
  assert.deepEqual(JSON.parse(request.body), {
    state: 'failure', context: 'keel/unit.NODE-18', description: 'failed', target_url: `https://ci.example/builds/${SHA}/jobs/unit.NODE-18`,
  });
  const noPage = JSON.parse(statusRequest(gitea, 'team/app', { ...item, job: null }, null).body);
  assert.deepEqual(noPage, { state: 'failure', context: 'keel', description: 'failed' });

  const github = statusRequest({ ...gitea, kind: 'github', api: 'https://api.github.com' }, 'octo/widgets', item, null);
  assert.equal(github.url, `https://api.github.com/repos/octo/widgets/statuses/${SHA}`);
  assert.equal(github.headers.authorization, 'Bearer T');
  assert.equal(github.headers['x-github-api-version'], '2022-11-28');
});

test('the answer: GitHub\'s `state` or Gitea\'s `status`; the message of a refusal; what is tried again', () => {
  assert.equal(answeredState({ state: 'success' }), 'success');
  assert.equal(answeredState({ status: 'pending', id: 3 }), 'pending');
  assert.equal(answeredState('nope'), null);
  assert.equal(forgeMessage('{"message":"Not Found","documentation_url":"x"}'), 'Not Found');
  assert.equal(forgeMessage('<html>bad gateway</html>\n'), '<html>bad gateway</html>');
  for (const status of [500, 502, 503, 429, 408]) assert.ok(isRetryable(status), String(status));
  for (const status of [400, 401, 403, 404, 422]) assert.ok(!isRetryable(status), String(status));
});

const values = (patch: Partial<OutputValues>): OutputValues => ({ 'forge-timeout': '10', 'on-result-jobs': '4', 'on-result-timeout': '60', ...patch });

test('the forge\'s flags: the API root by kind, the token from its file, and mistakes named', (t) => {
  const token = join(tempDir(t), 'token');
  writeFileSync(token, 'abc\n');
  const config = (patch: Partial<OutputValues>, insecure = false) => parseOutputsConfig(values(patch), {}, insecure);
  assert.equal(config({ 'forge-status': 'https://gitea.example/', 'forge-token-file': token }).forge!.api, 'https://gitea.example/api/v1');
  assert.equal(config({ 'forge-status': 'https://git.example/forgejo/api/v1', 'forge-token-file': token }).forge!.api, 'https://git.example/forgejo/api/v1');
  const github = config({ 'forge-status': 'https://api.github.com', 'forge-token-file': token }).forge!;
  assert.deepEqual([github.kind, github.api, github.token], ['github', 'https://api.github.com', 'abc']);
  assert.equal(config({ 'forge-status': 'https://ghe.example/api/v3', 'forge-token-file': token }).forge!.kind, 'github');
  assert.equal(config({ 'forge-status': 'http://gitea.lan', 'forge-token-file': token }, true).forge!.api, 'http://gitea.lan/api/v1');
  const bad: Array<[Partial<OutputValues>, RegExp]> = [
    [{ 'forge-status': 'https://gitea.example' }, /needs --forge-token-file/],
    [{ 'forge-status': 'ftp://gitea.example', 'forge-token-file': token }, /http\(s\) address/],
    [{ 'forge-status': 'http://gitea.example', 'forge-token-file': token }, /unencrypted/],
    [{ 'forge-status': 'https://gitea.example', 'forge-token-file': '/nonexistent/token' }, /readable file/],
    [{ 'forge-status': 'https://gitea.example', 'forge-token-file': token, 'forge-type': 'gitlab' }, /gitea, forgejo, github/],
    [{ 'forge-status': 'https://gitea.example', 'forge-token-file': token, 'forge-repo': ['team'] }, /OWNER\/REPO/],
    [{ 'forge-token-file': token }, /--forge-token-file needs --forge-status/],
    [{ 'public-url': 'https://ci.example/?x=1' }, /--public-url/],
  ];
  for (const [patch, message] of bad) {
    assert.throws(() => config(patch), (error: Error) => error instanceof ConfigError && message.test(error.message), JSON.stringify(patch));
  }
});

test('--on-result: a string runs with sh -c, a JSON list is the argv; the environment leaves KEEL_* out', () => {
  const hook = (given: string) => parseOutputsConfig(values({ 'on-result': given }), { PATH: '/bin', KEEL_TOKEN: 'secret' }, false).hook!;
  assert.deepEqual(hook('mail -s "$KEEL_STATUS" ops').argv, ['sh', '-c', 'mail -s "$KEEL_STATUS" ops']);
  assert.deepEqual(hook('["/usr/local/bin/notify", "--to", "ops"]').argv, ['/usr/local/bin/notify', '--to', 'ops']);
  assert.deepEqual(hook('x').env, { PATH: '/bin' });
  for (const given of ['', '[]', '["a", 1]', '[not json']) {
    assert.throws(() => hook(given), ConfigError, given);
  }
});
