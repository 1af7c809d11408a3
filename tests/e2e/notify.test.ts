// Instant detection with polling effectively off (--interval 3600): a push to
// a local origin is seen through fs.watch; an origin that cannot be watched
// (a file:// URL) is scanned when `keel notify` asks; and `keel notify` with
// no dispatcher exits 2.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { commitFiles, git, makeCentralAndClone } from '../helpers/git-repo.js';
import { runKeel, spawnKeel, startDispatcherProcess } from '../helpers/processes.js';
import { tempDir, waitFor } from '../helpers/temp.js';

const PASSING = { 'tests/ok.sh': '#!/bin/sh\necho ok\n' };
const NO_POLL = ['--interval', '3600'];

/** Dispatcher, runner and an observer whose clone's origin is `originUrl(central)`. */
async function setup(t: TestContext, originUrl: (central: string) => string) {
  const repos = makeCentralAndClone(t);
  const first = commitFiles(repos.work, PASSING, 'first');
  git(repos.work, 'push', '-q', 'origin', 'main');
  git(repos.work, 'clone', '-q', originUrl(repos.central), repos.clone);
  const tmp = tempDir(t);
  const results = join(tmp, 'results');
  const dispatcher = await startDispatcherProcess(t, results, ['--state', join(tmp, 'dispatcher')]);
  const address = `127.0.0.1:${dispatcher.port}`;
  spawnKeel(t, 'runner/main.js', ['--dispatcher', address, '--name', 'r1', '--workdir', join(tmp, 'runner')]);
  const observer = spawnKeel(t, 'observer/main.js', ['--dispatcher', address, ...NO_POLL, '--state', join(tmp, 'observer'), repos.clone]);
  // The first scan (at start) has reported the head: anything later is not a poll.
  await observer.waitForLine(new RegExp(`dispatcher queued ${first}`));
  return { ...repos, results, address, observer };
}

function push(work: string, message: string): string {
  const sha = commitFiles(work, { 'change.txt': `${message}\n` }, message);
  git(work, 'push', '-q', 'origin', 'main');
  return sha;
}

async function waitForPassed(results: string, sha: string): Promise<void> {
  await waitFor(() => existsSync(join(results, sha)), `the result of ${sha}`, 15_000);
  assert.equal(JSON.parse(readFileSync(join(results, `${sha}.json`), 'utf8')).status, 'passed');
}

test('a push to a local origin is tested at once, without a poll', async (t) => {
  const s = await setup(t, (central) => central);
  await s.observer.waitForLine(/watching .*central\.git for pushes/);
  const sha = push(s.work, 'second');
  await waitForPassed(s.results, sha);
});

test('keel notify makes an observer whose origin cannot be watched pick up a push', async (t) => {
  const s = await setup(t, (central) => pathToFileURL(central).href);
  assert.ok(!s.observer.lines.some((line) => /for pushes/.test(line)), 'a file:// origin is not watched');
  const sha = push(s.work, 'second');
  const notified = await runKeel('cli/main.js', ['notify', '--dispatcher', s.address]);
  assert.equal(notified.code, 0, notified.stderr);
  assert.equal(notified.stdout, 'notified 1 observer(s)\n');
  await waitForPassed(s.results, sha);
});

test('keel notify with no dispatcher listening exits 2', async () => {
  // A port that was free a moment ago and is closed now.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const result = await runKeel('cli/main.js', ['notify', '--dispatcher', `127.0.0.1:${port}`]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /cannot reach dispatcher/);
  assert.equal(result.stdout, '');
});
