// Keel on a real git server (issue 15.4): gitolite behind sshd on a loopback
// port, with keys made for the test. The observer's clone, the dispatcher's
// keel.json mirror and the runner all fetch over ssh://; the repository's
// post-receive hook calls `keel notify`, so a push over ssh is tested within
// a second with polling off; the observer pushes its git notes back over ssh,
// and they are read from a fresh clone; `keel land` pushes its merge under
// refs/keel/ and moves main over ssh. gitolite lets the `keel` user write
// refs/notes/, refs/keel/ and main (fast-forwards only), as the README's
// recipe says, and no other branch. Needs root and the packages
// scripts/ci-install.sh installs; says so and does not run without them.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { world, type World } from '../helpers/e2e.js';
import type { Dispatcher } from '../helpers/e2e-dispatcher.js';
import { gitoliteUnavailable, startGitolite, type GitServer } from '../helpers/gitolite.js';
import { logWithNotes, noteOf } from '../helpers/notes.js';
import { tempDir } from '../helpers/temp.js';

const skip = gitoliteUnavailable();
if (skip) console.log(`# gitolite tests not run: ${skip}`);
const KEEL_CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface OnGitolite {
  server: GitServer;
  url: string;
  w: World;
  /** The test's own git as the developer, and as Keel. */
  dev(cwd: string, ...args: string[]): string;
  asKeel(cwd: string, ...args: string[]): string;
  /** The developer's clone over ssh. */
  work: string;
  commit(name: string): string;
  /** The observer's clone, fetched as Keel. */
  clone: string;
  d: Dispatcher;
  keelEnv: NodeJS.ProcessEnv;
}

/** gitolite with a project whose main has one commit (`first`), and a dispatcher and runner reaching it as `keel`. */
async function keelOnGitolite(t: TestContext): Promise<OnGitolite & { first: string }> {
  const server = await startGitolite(t, 'project');
  const url = server.url('project');
  const w = world(t);
  const git = (env: NodeJS.ProcessEnv, cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const dev = (cwd: string, ...args: string[]) => git(server.devEnv, cwd, ...args);
  const keelEnv = { HOME: server.keelHome };
  const asKeel = (cwd: string, ...args: string[]) => git({ ...process.env, ...keelEnv }, cwd, ...args);

  // A developer's clone over ssh, and a first commit before Keel starts.
  const work = join(tempDir(t, 'keel-dev-'), 'work');
  dev(join(work, '..'), 'clone', '-q', url, work);
  dev(work, 'checkout', '-q', '-b', 'main');
  const started = join(w.control, 'started-at');
  // The time the test starts, in milliseconds (GNU date).
  const script = `#!/bin/sh\ndate +%s%3N > '${started}-'"$KEEL_COMMIT"\necho ok\n`;
  const commit = (name: string) => {
    writeFileSync(join(work, name), `${name}\n`);
    dev(work, 'add', '-A');
    dev(work, 'commit', '-q', '-m', name);
    return dev(work, 'rev-parse', 'HEAD');
  };
  writeFileSync(join(work, 'run.sh'), script, { mode: 0o755 });
  writeFileSync(join(work, 'keel.json'), JSON.stringify({ jobs: { tests: { run: './run.sh' } } }));
  const first = commit('first');
  dev(work, 'push', '-q', 'origin', 'main');

  // Keel's side reaches the server as `keel`: the clone, the dispatcher's mirror, the runner.
  const clone = join(tempDir(t, 'keel-observer-clone-'), 'clone');
  asKeel(join(clone, '..'), 'clone', '-q', url, clone);
  const d = await w.dispatcher({ env: keelEnv });
  await w.runner('r1', d, { env: keelEnv });
  return { server, url, w, dev, asKeel, work, commit, clone, d, keelEnv, first };
}

test('over ssh to gitolite: a push is tested within a second through post-receive and keel notify, and its note comes back to a fresh clone', { skip: skip ?? false }, async (t) => {
  const { server, url, w, asKeel, work, dev, commit, clone, d, keelEnv, first } = await keelOnGitolite(t);
  const started = join(w.control, 'started-at');
  // Polling off: only the hook's `keel notify` can make the observer look.
  const observer = w.observer(d, { clone, interval: '3600', env: keelEnv, extra: ['--notes', '--public-url', 'https://ci.example'] });
  assert.equal((await w.result(first)).status, 'passed', w.logs());
  await observer.delivered(first);

  const address = join(server.keelHome, 'dispatcher-address');
  writeFileSync(address, d.address);
  server.setPostReceive([
    '#!/bin/sh',
    '# Tell Keel to look now; polling still catches the push if this fails.',
    `"${process.execPath}" "${KEEL_CLI}" notify --dispatcher "$(cat '${address}')" >/dev/null 2>&1 || true`,
    '',
  ].join('\n'));

  // Polling is off, so every push below is seen through the hook. The best of three pushes
  // counts: a machine busy with other work can hold up any one of them.
  const latencies: number[] = [];
  let second = '';
  for (let i = 0; i < 3 && !latencies.some((ms) => ms < 1000); i++) {
    second = commit(`second-${i}`);
    dev(work, 'push', '-q', 'origin', 'main');
    const landed = statSync(join(server.path('project'), 'refs', 'heads', 'main')).mtimeMs;
    const record = await w.result(second);
    assert.equal(record.status, 'passed', w.logs());
    latencies.push(Number(readFileSync(`${started}-${second}`, 'utf8')) - landed);
  }
  console.log(`# push over ssh -> test started: ${latencies.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
  assert.ok(Math.min(...latencies) < 1000, `the test started ${latencies.map(Math.round).join(', ')} ms after the push landed\n${w.logs()}`);

  // The notes went back over ssh: on the server, and in a fresh clone.
  for (const sha of [first, second]) await w.until(() => noteOf(server.path('project'), sha), `the note of ${sha} on the server`);
  const shown = logWithNotes(t, url, second, server.devEnv);
  assert.match(shown, /Notes \(keel\):\n {4}keel: passed 1\/1 job/, shown);
  assert.match(shown, new RegExp(`https://ci\\.example/builds/${second}`));
  // gitolite gave `keel` refs/notes/, refs/keel/ and main to write, and no other branch.
  assert.throws(() => asKeel(clone, 'push', '-q', 'origin', `${second}:refs/heads/keel-was-here`), /DENIED|denied/);
});

test('over ssh to gitolite: keel land pushes its merge under refs/keel/ and moves main to exactly that commit', { skip: skip ?? false }, async (t) => {
  const { server, w, dev, work, commit, clone, d, keelEnv, first } = await keelOnGitolite(t);
  w.observer(d, { clone, interval: '0.2', env: keelEnv });
  assert.equal((await w.result(first)).status, 'passed', w.logs());
  dev(work, 'checkout', '-q', '-b', 'feature-x');
  const head = commit('feature');
  dev(work, 'push', '-q', 'origin', 'feature-x');
  dev(work, 'checkout', '-q', 'main');
  // main moves on meanwhile, so the land is a real merge and not a fast-forward.
  const moved = commit('on-main');
  dev(work, 'push', '-q', 'origin', 'main');
  assert.equal((await w.result(moved)).status, 'passed', w.logs());

  const landed = await d.keel('land', 'feature-x', '--into', 'main', '--wait');
  assert.equal(landed.code, 0, `${landed.stdout}${landed.stderr}\n${w.logs()}`);
  const merge = /landed on refs\/heads\/main as ([0-9a-f]{40})/.exec(landed.stdout)?.[1] ?? assert.fail(landed.stdout);
  const central = server.path('project');
  const onServer = (ref: string) => execFileSync('git', ['rev-parse', ref], { cwd: central, encoding: 'utf8' }).trim();
  assert.equal(onServer('refs/heads/main'), merge, 'main on the server is the tested merge');
  assert.equal(onServer('refs/keel/land/B-1'), merge, 'pushed under refs/keel/ (its batch) to be tested');
  assert.deepEqual([onServer(`${merge}^1`), onServer(`${merge}^2`)], [moved, head]);
  assert.equal(onServer('refs/heads/feature-x'), head, 'the branch is never changed');
  assert.equal((await w.result(merge)).status, 'passed');
});
