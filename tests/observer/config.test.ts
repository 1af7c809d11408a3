import assert from 'node:assert/strict';
import { mkdirSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/common/errors.js';
import { createGitContext } from '../../src/common/git/run.js';
import { fetchableUrl } from '../../src/observer/clone-info.js';
import { OBSERVER_USAGE, parseObserverConfig } from '../../src/observer/config.js';
import { cursorPath } from '../../src/observer/cursor.js';
import { commitFiles, git, makeCentralAndClone, makeRepo } from '../helpers/git-repo.js';
import { tempDir } from '../helpers/temp.js';

function cloneOfCentral(t: Parameters<typeof makeCentralAndClone>[0]) {
  const { central, clone, work } = makeCentralAndClone(t);
  commitFiles(work, { 'a.txt': '1' });
  git(work, 'push', '-q', 'origin', 'main');
  git(dirname(clone), 'clone', '-q', central, clone);
  return { central, clone };
}

test('defaults: local dispatcher, 5 s, every branch, ./.keel-state, origin as the repo URL, commits by Keel', async (t) => {
  const { central, clone } = cloneOfCentral(t);
  const config = await parseObserverConfig([clone]);
  const path = realpathSync(clone);
  assert.deepEqual({ ...config }, {
    dispatcher: { host: '127.0.0.1', port: 8888 },
    intervalMs: 5000,
    branches: null,
    clone: path,
    hasOrigin: true,
    originGitDir: realpathSync(central),
    repoUrl: central,
    stateDir: resolve('.keel-state'),
    security: { secret: null, tls: null },
    project: null,
    supersede: false,
    cursorFile: cursorPath(resolve('.keel-state'), path),
    scratchDir: join(resolve('.keel-state'), `${basename(cursorPath(resolve('.keel-state'), path), '.json')}-work`),
    git: createGitContext({}),
    identity: { name: 'Keel', email: `keel@${hostname()}` },
    notes: null,
  });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.identity));
});

test('--git-name and --git-email set who the observer commits as, and are documented', async (t) => {
  const { clone } = cloneOfCentral(t);
  const config = await parseObserverConfig(['--git-name', 'CI Bot (Keel)', '--git-email', 'ci+keel@example.org', clone]);
  assert.deepEqual(config.identity, { name: 'CI Bot (Keel)', email: 'ci+keel@example.org' });
  assert.match(OBSERVER_USAGE, /--git-name NAME .*\(default Keel\)/s);
  assert.match(OBSERVER_USAGE, /--git-email EMAIL .*\(default keel@<this host's name>\)/s);
  const cases: Array<[string[], RegExp]> = [
    [['--git-name', ''], /^--git-name must be .* got ""$/],
    [['--git-name', '  '], /^--git-name must be .* got "  "$/],
    [['--git-name', 'Evil\nSigned-off-by: x'], /^--git-name must be .* got "Evil\\nSigned-off-by: x"$/],
    [['--git-name', 'a <b@c>'], /^--git-name must be .*"<" or ">"/],
    [['--git-name', 'n'.repeat(257)], /^--git-name must be .*at most 256/],
    [['--git-email', ''], /^--git-email must be /],
    [['--git-email', 'a b@c'], /^--git-email must be .* got "a b@c"$/],
    [['--git-email', '<a@b>'], /^--git-email must be /],
    [['--git-email', 'a@b\r'], /^--git-email must be .* got "a@b\\r"$/],
  ];
  for (const [flags, pattern] of cases) {
    await assert.rejects(parseObserverConfig([...flags, clone]), (error: Error) => {
      assert.ok(error instanceof ConfigError, `${flags.join(' ')}: ${error}`);
      assert.match(error.message, pattern, flags.join(' '));
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  }
});

test('observers sharing a --state folder get scratch folders of their own, inside it', async (t) => {
  const state = tempDir(t);
  const one = await parseObserverConfig(['--state', state, cloneOfCentral(t).clone]);
  const two = await parseObserverConfig(['--state', state, cloneOfCentral(t).clone]);
  assert.notEqual(one.scratchDir, two.scratchDir);
  for (const { scratchDir } of [one, two]) assert.equal(dirname(scratchDir), state);
});

test('flags are read and checked', async (t) => {
  const { clone } = cloneOfCentral(t);
  const state = tempDir(t);
  const config = await parseObserverConfig([
    '--dispatcher', 'ci.example:9000', '--interval', '0.05', '--branch', 'main', '--branch', 'release/1.x',
    '--branch', 'main', '--state', state, '--repo-url', 'https://git.example/repo.git', clone,
  ]);
  assert.deepEqual(config.dispatcher, { host: 'ci.example', port: 9000 });
  assert.equal(config.intervalMs, 50);
  assert.deepEqual(config.branches, ['main', 'release/1.x']);
  assert.equal(config.repoUrl, 'https://git.example/repo.git');
  assert.equal(config.cursorFile, cursorPath(state, realpathSync(clone)));
});

test('a relative origin URL is made absolute against the clone; no origin means the clone itself', async (t) => {
  const { central, clone } = cloneOfCentral(t);
  git(clone, 'remote', 'set-url', 'origin', '../central.git');
  assert.equal((await parseObserverConfig([clone])).repoUrl, central);

  const repo = makeRepo(t);
  const config = await parseObserverConfig([repo]);
  assert.equal(config.hasOrigin, false);
  assert.equal(config.repoUrl, realpathSync(repo));
});

test('a bare repository can be watched directly', async (t) => {
  const { central } = cloneOfCentral(t);
  const config = await parseObserverConfig([central]);
  assert.equal(config.clone, realpathSync(central));
  assert.equal(config.hasOrigin, false);
});

test('each mistake is a one-line ConfigError naming the flag and the value', async (t) => {
  const { clone } = cloneOfCentral(t);
  const plain = tempDir(t);
  const inside = join(clone, 'sub');
  mkdirSync(inside);
  const cases: Array<[string[], RegExp]> = [
    [['--interval', 'abc', clone], /^--interval must be .* got "abc"$/],
    [['--interval', '0.04', clone], /^--interval must be .*0\.05.* got "0\.04"$/],
    [['--interval', '-1', clone], /--interval/],
    [['--dispatcher', 'localhost', clone], /^--dispatcher must be host:port.*"localhost"$/],
    [['--branch', 'a b', clone], /^--branch must be .* got "a b"$/],
    [['--branch', '-x', clone], /--branch/],
    [['--state', '', clone], /^--state/],
    [['--repo-url', 'ext::sh -c evil', clone], /^--repo-url must be .*"ext::sh -c evil"$/],
    [['--repo-url', 'relative/path', clone], /^--repo-url/],
    [['--what', clone], /--what/],
    [[], /^<clone> is missing/],
    [[clone, clone], /^<clone> must be one path, got 2/],
    [[join(plain, 'nope')], /^<clone> must be a git repository, got ".*nope" \(no such folder\)$/],
    [[plain], /^<clone> must be a git repository.*git does not recognise it/],
    [[inside], /^<clone> must be a git repository.*inside the repository at /],
    [[join(clone, '.git')], /^<clone> must be a git repository.*not a work tree/],
  ];
  for (const [argv, pattern] of cases) {
    await assert.rejects(parseObserverConfig(argv), (error: Error) => {
      assert.ok(error instanceof ConfigError, `${argv.join(' ')}: ${error}`);
      assert.match(error.message, pattern, argv.join(' '));
      assert.doesNotMatch(error.message, /\n/, argv.join(' '));
      return true;
    });
  }
});

test('fetchableUrl keeps URLs and absolute paths, and anchors relative paths at the clone', () => {
  assert.equal(fetchableUrl('/srv/repo.git', '/c'), '/srv/repo.git');
  assert.equal(fetchableUrl('https://host/repo.git', '/c'), 'https://host/repo.git');
  assert.equal(fetchableUrl('git@host:repo.git', '/c'), 'git@host:repo.git');
  assert.equal(fetchableUrl('../central.git', '/work/clone'), '/work/central.git');
  assert.equal(fetchableUrl('central.git', '/work/clone'), '/work/clone/central.git');
});
