// `when` decided, and which builds get secrets: pure tables.
import { strict as assert } from 'node:assert';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { matchesGlob, unmetCondition, type ConditionFacts } from '../../src/dispatcher/job-conditions.js';
import { decideJobs, jobsToRerun } from '../../src/dispatcher/job-decisions.js';
import { DEFAULT_JOB } from '../../src/dispatcher/keel-json.js';
import { grantFor, loadSecrets, maySendSecrets, secretValues, withheldFrom, type SecretStore } from '../../src/dispatcher/secrets.js';
import { place } from '../../src/dispatcher/placement.js';
import type { BuildRecord, JobRecord, SubjectKind } from '../../src/protocol/records.js';
import { tempDir } from '../helpers/temp.js';

test('globs: * within a segment, ** across them, ? one character, the rest literal', () => {
  const table: Array<[string, string, boolean]> = [
    ['main', 'main', true], ['mainline', 'main', false], ['release/1.2', 'release/*', true], ['release/1/2', 'release/*', false],
    ['src/a/b.ts', 'src/**', true], ['src', 'src/**', false], ['src/x.ts', 'src/**/*.ts', true], ['src/a/b/x.ts', 'src/**/*.ts', true],
    ['docs/a.md', '**/*.md', true], ['a.md', '**/*.md', true], ['v1', 'v?', true], ['v10', 'v?', false], ['a+b', 'a+b', true], ['axb', 'a.b', false],
  ];
  for (const [value, glob, expected] of table) assert.equal(matchesGlob(value, glob), expected, `${value} ~ ${glob}`);
});

test('each condition, alone and together; the reason names the part that does not hold', () => {
  const facts: ConditionFacts = { branch: 'feature/x', subject: 'push', changed: ['README.md', 'docs/a.md'] };
  assert.equal(unmetCondition(undefined, facts), null);
  assert.equal(unmetCondition({ branches: ['main', 'release/*'] }, facts), 'when.branches: branch feature/x is not one of main, release/*');
  assert.equal(unmetCondition({ branches: ['feature/*'] }, facts), null);
  assert.match(unmetCondition({ branches: ['main'] }, { ...facts, branch: null })!, /of no branch/);
  assert.equal(unmetCondition({ subjects: ['land', 'try'] }, facts), 'when.subjects: a push build is not one of land, try');
  assert.equal(unmetCondition({ subjects: ['push'] }, facts), null);
  assert.equal(unmetCondition({ paths: ['src/**', 'package.json'] }, facts), 'when.paths: none of the 2 changed files matches src/**, package.json');
  assert.equal(unmetCondition({ paths: ['*.md'] }, facts), null, 'a pattern without "/" matches at any depth');
  assert.equal(unmetCondition({ paths: ['src/**'] }, { ...facts, changed: null }), null, 'a first commit changes everything');
  assert.equal(unmetCondition({ paths: ['src/**'] }, { ...facts, changed: [] }), 'when.paths: none of the 0 changed files matches src/**');
  assert.match(unmetCondition({ subjects: ['push'], branches: ['main'], paths: ['docs/**'] }, facts)!, /^when\.branches/);
});

const STORE: SecretStore = { values: new Map([['DEPLOY_TOKEN', 'deploy-secret']]), protectedBranches: ['main', 'release/*'] };
const asking = { ...DEFAULT_JOB, secrets: ['DEPLOY_TOKEN', 'MISSING'] };

test('secrets go to push and land builds of protected branches only; never try, patch or unprotected ones', () => {
  const at = (subject: SubjectKind, branch: string | null) => withheldFrom({ subject, branch }, STORE);
  assert.equal(at('push', 'main'), null);
  assert.equal(at('land', 'release/2'), null);
  assert.equal(at('try', 'main'), 'try builds never get secrets');
  assert.equal(at('patch', 'main'), 'patch builds never get secrets');
  assert.equal(at('push', 'feature'), 'branch feature is not protected (--protected main,release/*)');
  assert.match(at('push', null)!, /no branch/);
  assert.equal(withheldFrom({ subject: 'push', branch: 'main' }, null), 'the dispatcher has no secrets (--secrets)');
  assert.deepEqual(grantFor(asking, { subject: 'push', branch: 'main' }, STORE), { granted: ['DEPLOY_TOKEN'], withheld: ['MISSING'], reason: 'the dispatcher has no secret MISSING' });
  assert.deepEqual(grantFor(asking, { subject: 'patch', branch: 'main' }, STORE), { granted: [], withheld: ['DEPLOY_TOKEN', 'MISSING'], reason: 'patch builds never get secrets' });
  assert.equal(grantFor(DEFAULT_JOB, { subject: 'push', branch: 'main' }, STORE), undefined);
  assert.deepEqual(secretValues({ granted: ['DEPLOY_TOKEN'], withheld: [], reason: '' }, STORE), { DEPLOY_TOKEN: 'deploy-secret' });
  assert.deepEqual(secretValues({ granted: [], withheld: ['DEPLOY_TOKEN'], reason: 'x' }, STORE), {});
});

test('decideJobs asks git for changed files only when some job has paths', async () => {
  let asked = 0;
  const facts = { branch: 'main', subject: 'push' as const, changed: async () => (asked++, ['src/a.ts']) };
  assert.equal(await decideJobs([DEFAULT_JOB], facts, STORE), undefined);
  const decided = await decideJobs([{ ...DEFAULT_JOB, id: 'a', when: { branches: ['x'] } }, { ...asking, id: 'b' }], facts, STORE);
  assert.equal(asked, 0);
  assert.deepEqual(Object.keys(decided!.skipped), ['a']);
  assert.deepEqual(decided!.grants.b?.granted, ['DEPLOY_TOKEN']);
  const byPath = await decideJobs([{ ...DEFAULT_JOB, id: 'docs', when: { paths: ['docs/**'] } }], facts, null);
  assert.equal(asked, 1);
  assert.match(byPath!.skipped.docs!, /none of the 1 changed file matches docs/);
});

test('a retry runs neither a generator that passed nor jobs their condition skipped', () => {
  const job = (name: string, status: JobRecord['status'], spec: object = {}): JobRecord => ({ name, status, spec: { ...DEFAULT_JOB, id: name, ...spec } } as JobRecord);
  const build = (jobs: JobRecord[]) => ({ jobs } as BuildRecord);
  assert.equal(jobsToRerun(build([job('a', 'passed'), job('b', 'failed')])), null);
  assert.deepEqual(jobsToRerun(build([job('generate', 'passed', { generator: true }), job('u', 'failed', { generated: true })])), ['u']);
  assert.equal(jobsToRerun(build([job('generate', 'error', { generator: true })])), null, 'a generator that failed runs again');
  assert.deepEqual(jobsToRerun(build([job('a', 'skipped', { when: { branches: ['x'] } }), job('b', 'failed')])), ['b']);
});

test('--secrets: refused when others may read it; NAME=value lines, comments and blanks', (t) => {
  const dir = tempDir(t, 'keel-secrets-');
  const file = join(dir, 'secrets');
  writeFileSync(file, '# deploy\nDEPLOY_TOKEN=abc=def=\n\nOTHER=  spaced  \n', { mode: 0o600 });
  assert.deepEqual([...loadSecrets(file)], [['DEPLOY_TOKEN', 'abc=def='], ['OTHER', '  spaced  ']]);
  chmodSync(file, 0o644);
  assert.throws(() => loadSecrets(file), /may be read by others \(mode 0644\).*chmod 600/);
  chmodSync(file, 0o640);
  assert.throws(() => loadSecrets(file), /mode 0640/);
  for (const [text, message] of [['no equals\n', /line 1: must be NAME=value/], ['KEEL_X=abcd\n', /not KEEL_/], ['A=abc\n', /4 to 4096/], ['A=abcd\nA=efgh\n', /line 2: A is given twice/]] as const) {
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
    assert.throws(() => loadSecrets(file), message);
  }
  assert.throws(() => loadSecrets(join(dir, 'none')), /--secrets must be a readable file/);
});

test('secrets travel only over TLS, to loopback, or with --insecure; a job given some waits for such a runner', () => {
  const plain = { security: { tls: null }, insecure: false };
  assert.equal(maySendSecrets('127.0.0.1', plain), true);
  assert.equal(maySendSecrets('::ffff:127.0.0.5', plain), true);
  assert.equal(maySendSecrets('::1', plain), true);
  assert.equal(maySendSecrets('192.0.2.7', plain), false);
  assert.equal(maySendSecrets('::ffff:192.0.2.7', plain), false);
  assert.equal(maySendSecrets('192.0.2.7', { ...plain, insecure: true }), true);
  assert.equal(maySendSecrets('192.0.2.7', { security: { tls: {} }, insecure: false }), true);
  const job = { name: 'deploy', status: 'queued', notBefore: null, attempts: [], spec: { ...DEFAULT_JOB, id: 'deploy' }, secrets: { granted: ['T'], withheld: [], reason: '' } } as unknown as JobRecord;
  const queued = [{ build: {} as BuildRecord, job }];
  const runner = { name: 'far', slots: 1, busy: 0, labels: [], draining: false, secure: false };
  assert.deepEqual(place(queued, [runner], 0).assignments, []);
  assert.deepEqual(place(queued, [{ ...runner, secure: true }], 0).assignments.map((a) => a.runner), ['far']);
  assert.deepEqual(place([{ build: {} as BuildRecord, job: { ...job, secrets: { granted: [], withheld: ['T'], reason: 'x' } } }], [runner], 0).assignments.length, 1, 'without secrets, any runner');
});
