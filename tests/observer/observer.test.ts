// The observer as a whole process: real git repositories, a real TCP fake
// dispatcher, real signals. Every wait is on a received message, a log line
// or the cursor file, never on a fixed sleep.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { cursorPath } from '../../src/observer/cursor.js';
import { commitFiles, git, makeCentralAndClone, makeRepo } from '../helpers/git-repo.js';
import { tempDir, waitFor } from '../helpers/temp.js';
import { FakeDispatcher } from './fake-dispatcher.js';
import { observers, type StartObserver } from './observer-process.js';

interface Setup {
  central: string;
  clone: string;
  work: string;
  state: string;
  head: string;
}

/** A central repo with three commits on main, the observer's clone of it, and a state folder. */
function setup(t: TestContext): Setup {
  const { central, clone, work } = makeCentralAndClone(t);
  commitFiles(work, { 'a.txt': '1' }, 'one');
  commitFiles(work, { 'a.txt': '2' }, 'two');
  const head = commitFiles(work, { 'a.txt': '3' }, 'three');
  git(work, 'push', '-q', 'origin', 'main');
  git(dirname(clone), 'clone', '-q', central, clone);
  return { central, clone, work, state: tempDir(t, 'keel-state-'), head };
}

async function fakeDispatcher(t: TestContext, port = 0): Promise<FakeDispatcher> {
  const fake = await FakeDispatcher.listen(port);
  t.after(() => fake.close());
  return fake;
}

function observe(start: StartObserver, s: { clone: string; state: string }, port: number, extra: string[] = []) {
  return start(['--dispatcher', `127.0.0.1:${port}`, '--interval', '0.1', '--state', s.state, ...extra, s.clone]);
}

interface CursorFile { branches: Record<string, string>; pending: unknown[] }

function readCursorFile(s: { clone: string; state: string }): CursorFile {
  return JSON.parse(readFileSync(cursorPath(s.state, realpathSync(s.clone)), 'utf8'));
}

/** The cursor file once it exists (the log line for a commit comes just before the write). */
function cursorOnDisk(s: { clone: string; state: string }): Promise<CursorFile> {
  return waitFor(() => (existsSync(cursorPath(s.state, realpathSync(s.clone))) ? readCursorFile(s) : null), 'the cursor file');
}

function commits(repo: string, count: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, i) => commitFiles(repo, { [`${prefix}.txt`]: String(i) }, `${prefix} ${i}`));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

describe('observer process', { concurrency: true }, () => {
  test('first run reports the head only, then every pushed commit oldest first, and a new branch its head', async (t) => {
    const start = observers(t);
    const s = setup(t);
    const server = await fakeDispatcher(t);
    const observer = observe(start, s, server.port);
    await observer.waitForLine(new RegExp(`dispatcher queued ${s.head}`));
    assert.deepEqual(server.shas, [s.head]);
    assert.equal(server.commits[0]!.ref, 'refs/heads/main');
    assert.equal(server.commits[0]!.repo, s.central);
    assert.equal(server.hellos[0]!.role, 'observer');
    assert.ok(server.hellos[0]!.name.endsWith(`:${realpathSync(s.clone)}`));

    const ten = commits(s.work, 10, 'ten');
    git(s.work, 'push', '-q', 'origin', 'main');
    await waitFor(() => server.shas.length === 11, 'the ten pushed commits');
    assert.deepEqual(server.shas.slice(1), ten);

    git(s.work, 'checkout', '-q', '-b', 'feature');
    const feature = commits(s.work, 2, 'feature');
    git(s.work, 'push', '-q', 'origin', 'feature');
    await waitFor(() => server.shas.length === 12, 'the head of the new branch');
    assert.deepEqual(server.shas.slice(11), [feature[1]]);
    assert.equal(server.commits[11]!.ref, 'refs/heads/feature');

    // A later commit proves the scans in between found nothing else.
    git(s.work, 'checkout', '-q', 'main');
    const [marker] = commits(s.work, 1, 'marker');
    git(s.work, 'push', '-q', 'origin', 'main');
    await observer.waitForLine(new RegExp(`dispatcher queued ${marker}`));
    assert.deepEqual(server.shas.slice(12), [marker]);
    assert.equal(server.commits.length, 13, 'nothing sent twice');

    await waitFor(() => readCursorFile(s).pending.length === 0, 'an empty pending list on disk');
    observer.child.kill('SIGTERM');
    assert.equal((await observer.exited).code, 0);
    assert.deepEqual(readCursorFile(s), { version: 1, branches: { feature: feature[1], main: marker }, pending: [] });
  });

  test('a restart resends what was not acknowledged, reports what was pushed meanwhile, and repeats nothing acked', async (t) => {
    const start = observers(t);
    const s = setup(t);
    const server = await fakeDispatcher(t);
    const first = observe(start, s, server.port);
    await first.waitForLine(new RegExp(`dispatcher queued ${s.head}`));

    server.ack = false;
    const [unacked] = commits(s.work, 1, 'unacked');
    git(s.work, 'push', '-q', 'origin', 'main');
    await waitFor(() => server.shas.includes(unacked!), 'the commit that will not be acknowledged');
    first.child.kill('SIGKILL');
    await first.exited;
    const before = server.connections;

    const meanwhile = commits(s.work, 2, 'meanwhile');
    git(s.work, 'push', '-q', 'origin', 'main');
    server.ack = true;
    const second = observe(start, s, server.port);
    await second.waitForLine(/1 commit\(s\) from the last run/);
    await waitFor(() => server.shas.includes(meanwhile[1]!), 'the commits pushed while the observer was down');
    const [marker] = commits(s.work, 1, 'marker');
    git(s.work, 'push', '-q', 'origin', 'main');
    await second.waitForLine(new RegExp(`dispatcher queued ${marker}`));

    const afterRestart = server.commits.filter((c) => c.connection > before).map((c) => c.commit);
    assert.deepEqual(afterRestart, [unacked, ...meanwhile, marker]);
    await waitFor(() => readCursorFile(s).pending.length === 0, 'an empty pending list on disk');
  });

  test('keeps running while the dispatcher is down and delivers once it appears', async (t) => {
    const start = observers(t);
    const s = setup(t);
    const port = await freePort();
    const observer = observe(start, s, port);
    await observer.waitForLine(/dispatcher unreachable: .*ECONNREFUSED.*; retrying/);
    await observer.waitForLine(new RegExp(`new commit ${s.head} on main`));
    assert.deepEqual((await cursorOnDisk(s)).pending, [{ commit: s.head, ref: 'refs/heads/main' }]);

    const server = await fakeDispatcher(t, port);
    await observer.waitForLine(/connected to dispatcher/);
    await observer.waitForLine(new RegExp(`dispatcher queued ${s.head}`));
    assert.deepEqual(server.shas, [s.head]);
    assert.equal(observer.count(/unreachable/), 1, 'one line per outage, not per retry');
  });

  test('a refusal is logged once and retried until the dispatcher accepts', async (t) => {
    const start = observers(t);
    const s = setup(t);
    const server = await fakeDispatcher(t);
    server.refuseWith = { code: 'version-mismatch', message: 'protocol version 1 is not supported' };
    const observer = observe(start, s, server.port);
    await observer.waitForLine(/dispatcher unreachable: refused \(version-mismatch: protocol version 1 is not supported\); retrying/);
    await waitFor(() => server.hellos.length >= 3, 'the observer to keep retrying');
    server.refuseWith = null;
    await observer.waitForLine(new RegExp(`dispatcher queued ${s.head}`));
    assert.equal(observer.count(/unreachable/), 1);
    assert.equal(observer.child.exitCode, null);
  });

  test('pending commits are sent again after the dispatcher drops the connection', async (t) => {
    const start = observers(t);
    const s = setup(t);
    const server = await fakeDispatcher(t);
    server.ack = false;
    const observer = observe(start, s, server.port);
    await waitFor(() => server.commits.length === 1, 'the head on the first connection');
    // Written before it was sent, so it is on disk the moment it arrives.
    assert.deepEqual(readCursorFile(s).pending, [{ commit: s.head, ref: 'refs/heads/main' }]);

    server.ack = true;
    server.dropAll();
    await observer.waitForLine(new RegExp(`dispatcher queued ${s.head}`));
    assert.deepEqual(server.commits.map((c) => [c.commit, c.connection]), [[s.head, 1], [s.head, 2]]);
    assert.equal(observer.count(/dispatcher unreachable: lost the connection/), 1);
    await waitFor(() => readCursorFile(s).pending.length === 0, 'the acknowledged commit to leave the cursor');
  });

  test('a repository with no origin is read directly', async (t) => {
    const start = observers(t);
    const repo = makeRepo(t);
    const head = commitFiles(repo, { 'a.txt': '1' }, 'one');
    const s = { clone: repo, state: tempDir(t, 'keel-state-') };
    const server = await fakeDispatcher(t);
    const observer = observe(start, s, server.port);
    await observer.waitForLine(new RegExp(`dispatcher queued ${head}`));
    assert.equal(server.commits[0]!.repo, realpathSync(repo));

    const more = commits(repo, 2, 'more');
    git(repo, 'checkout', '-q', '-b', 'side');
    const side = commits(repo, 1, 'side');
    await waitFor(() => server.shas.length === 4, 'the local commits');
    assert.deepEqual(server.shas, [head, ...more, ...side]);
    assert.equal(server.commits[3]!.ref, 'refs/heads/side');
    // Log kept: the warning is the feature. Said once, however many scans ran.
    assert.equal(observer.count(/warning: .* has no origin, so the observer watches the clone's own branches: only commits made in it or pushed into it are seen, and runners fetch from /), 1);
  });

  test('bad flags or state exit 2 with one line naming the problem, before any connection', async (t) => {
    const start = observers(t);
    const s = setup(t);
    const server = await fakeDispatcher(t);
    const notRepo = tempDir(t);
    const corrupt = { clone: s.clone, state: tempDir(t, 'keel-state-') };
    writeFileSync(cursorPath(corrupt.state, realpathSync(s.clone)), '{"version":1,"branches":');
    const at = `127.0.0.1:${server.port}`;
    const cases: Array<[string[], RegExp]> = [
      [['--dispatcher', at, '--interval', 'abc', s.clone], /--interval.*"abc"/],
      [['--dispatcher', at, '--interval', '0.01', s.clone], /--interval.*"0\.01"/],
      [['--dispatcher', at], /<clone> is missing/],
      [['--dispatcher', at, '--nope', s.clone], /--nope/],
      [['--dispatcher', at, notRepo], /<clone> must be a git repository/],
      [['--dispatcher', 'nowhere', s.clone], /--dispatcher.*"nowhere"/],
      [['--dispatcher', at, '--branch', 'a..b', s.clone], /--branch.*"a\.\.b"/],
      [['--dispatcher', at, '--repo-url', 'ext::sh -c x', s.clone], /--repo-url/],
      [['--dispatcher', at, '--state', corrupt.state, s.clone], /cursor file .* is corrupt/],
    ];
    await Promise.all(cases.map(async ([args, pattern]) => {
      const observer = start(args);
      const { code } = await observer.exited;
      assert.equal(code, 2, `${args.join(' ')}: ${observer.lines.join('\n')}`);
      assert.equal(observer.lines.length, 1, `one line for ${args.join(' ')}:\n${observer.lines.join('\n')}`);
      assert.match(observer.lines[0]!, pattern);
    }));
    assert.equal(server.connections, 0);
  });
});
