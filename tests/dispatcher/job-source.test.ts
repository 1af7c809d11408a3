import { strict as assert } from 'node:assert';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { JobSource } from '../../src/dispatcher/job-source.js';
import { DEFAULT_JOB } from '../../src/dispatcher/keel-json.js';
import { TEST_GIT } from '../helpers/git-context.js';
import { commitFiles, makeRepo } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/temp.js';

const MATRIX = JSON.stringify({ jobs: { unit: { run: 'npm test', matrix: { NODE: ['18', '20'], OS: ['linux', 'bsd'] } } } });

test('a commit without keel.json runs the default job', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'README.md': 'hello\n' });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.deepEqual(found, { jobs: [DEFAULT_JOB], error: null });
});

test('a 2×2 matrix in keel.json makes four jobs, named as keel-json.ts names them', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'keel.json': MATRIX });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.equal(found.error, null);
  assert.deepEqual(
    found.jobs.map((job) => [job.id, job.env, job.run]),
    [
      ['unit.NODE-18.OS-linux', { NODE: '18', OS: 'linux' }, ['sh', '-c', 'npm test']],
      ['unit.NODE-18.OS-bsd', { NODE: '18', OS: 'bsd' }, ['sh', '-c', 'npm test']],
      ['unit.NODE-20.OS-linux', { NODE: '20', OS: 'linux' }, ['sh', '-c', 'npm test']],
      ['unit.NODE-20.OS-bsd', { NODE: '20', OS: 'bsd' }, ['sh', '-c', 'npm test']],
    ],
  );
});

test('each commit is read as it was: keel.json added later does not change an earlier commit', async (t) => {
  const repo = makeRepo(t);
  const before = commitFiles(repo, { 'README.md': 'hello\n' });
  const after = commitFiles(repo, { 'keel.json': MATRIX });
  const source = new JobSource(tempDir(t), TEST_GIT);
  const [first, second] = await Promise.all([source.jobsFor(repo, before), source.jobsFor(repo, after)]);
  assert.deepEqual(first.jobs, [DEFAULT_JOB]);
  assert.equal(second.jobs.length, 4);
});

test('an invalid keel.json is an error naming the field', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'keel.json': JSON.stringify({ jobs: { unit: { retries: 'three' } } }) });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.deepEqual(found.jobs, []);
  assert.match(found.error ?? '', /^keel\.json: jobs\.unit\.retries must be a whole number from 0 to 10, got "three"$/);
});

test('keel.json that is not JSON is an error', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'keel.json': '{ jobs: ' });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.deepEqual(found.jobs, []);
  assert.match(found.error ?? '', /^keel\.json: is not valid JSON/);
});

test('keel.json as a directory is an error naming it', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'keel.json/jobs.json': MATRIX });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.deepEqual(found, { jobs: [], error: 'keel.json: is a directory; it must be a regular file' });
});

test('keel.json as a symbolic link is an error, and the link is not followed', async (t) => {
  const repo = makeRepo(t);
  commitFiles(repo, { 'real.json': MATRIX });
  symlinkSync('real.json', join(repo, 'keel.json'));
  const commit = commitFiles(repo, {});
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.deepEqual(found, { jobs: [], error: 'keel.json: is a symbolic link; it must be a regular file' });
});

test('keel.json over 64 KiB is an error', async (t) => {
  const repo = makeRepo(t);
  const big = JSON.stringify({ jobs: { unit: {} } }).padEnd(64 * 1024 + 1, ' ');
  const commit = commitFiles(repo, { 'keel.json': big });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.deepEqual(found, { jobs: [], error: 'keel.json: is 65537 bytes; at most 65536 (64 KiB) are allowed' });
});

test('keel.json of exactly 64 KiB is read', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'keel.json': MATRIX.padEnd(64 * 1024, ' ') });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.equal(found.error, null);
  assert.equal(found.jobs.length, 4);
});

test('only keel.json at the root counts', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'sub/keel.json': '{ broken', 'keel.json.bak': '{ broken' });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, commit);
  assert.deepEqual(found, { jobs: [DEFAULT_JOB], error: null });
});

test('a repository that cannot be fetched is an error saying keel.json could not be read', async (t) => {
  const missing = join(tempDir(t), 'no-such-repo');
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(missing, 'a'.repeat(40));
  assert.deepEqual(found.jobs, []);
  assert.match(found.error ?? '', /^could not read keel\.json: '.*no-such-repo' does not appear to be a git repository$/);
});

test('a commit the repository does not have is an error', async (t) => {
  const repo = makeRepo(t);
  commitFiles(repo, { 'README.md': 'hello\n' });
  const found = await new JobSource(tempDir(t), TEST_GIT).jobsFor(repo, 'b'.repeat(40));
  assert.deepEqual(found.jobs, []);
  assert.match(found.error ?? '', /^could not read keel\.json: /);
});

test('a commit already in the mirror is read without fetching: the source may be gone', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'keel.json': MATRIX });
  const stateDir = tempDir(t);
  // A file:// URL goes through the mirror (a plain local path is read in place).
  const url = `file://${repo}`;
  const first = await new JobSource(stateDir, TEST_GIT).jobsFor(url, commit);
  assert.equal(first.error, null);
  rmSync(repo, { recursive: true, force: true });
  // A fresh JobSource too, as after a restart: the mirror on disk is what counts.
  const second = await new JobSource(stateDir, TEST_GIT).jobsFor(url, commit);
  assert.deepEqual(second, first);
});

test('a repository on this machine is read in place, without a mirror', async (t) => {
  const repo = makeRepo(t);
  const commit = commitFiles(repo, { 'keel.json': MATRIX });
  const stateDir = tempDir(t);
  const found = await new JobSource(stateDir, TEST_GIT).jobsFor(repo, commit);
  assert.equal(found.jobs.length, 4);
  assert.equal(existsSync(join(stateDir, 'mirrors')), false, 'nothing was fetched');
});

test('many commits at once from one repository are each read correctly', async (t) => {
  const repo = makeRepo(t);
  const commits: Array<[string, number]> = [];
  for (let i = 1; i <= 8; i++) {
    const jobs = Object.fromEntries(Array.from({ length: i }, (_, j) => [`job${j}`, {}]));
    commits.push([commitFiles(repo, { 'keel.json': JSON.stringify({ jobs }) }), i]);
  }
  const source = new JobSource(tempDir(t), TEST_GIT);
  const found = await Promise.all(commits.map(([commit]) => source.jobsFor(repo, commit)));
  assert.deepEqual(
    found.map((f) => [f.error, f.jobs.length]),
    commits.map(([, count]) => [null, count]),
  );
});
