// keel demo (npm start): a sample repository, the three processes wired
// together, one passing and one failing commit, and their reports printed,
// with the status page's address (--stay keeps it all running, page and
// all, until Ctrl-C). With --repo PATH it instead watches that clone until
// Ctrl-C.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseFlags } from '../common/flags.js';
import { createGitContext, git, type GitContext, type Identity } from '../common/git/run.js';

const DEMO_DIR = resolve('.keel-demo');
const RESULTS = resolve('test_results');
const WAIT_MS = 60_000;
/** Who the sample repository's commits are by. */
const DEMO_AUTHOR: Identity = { name: 'Keel demo', email: 'demo@keel.invalid' };

const PASSING_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';

test('adds', () => assert.equal(1 + 1, 2));
`;
const FAILING_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';

test('adds', () => assert.equal(1 + 1, 2));
test('multiplies', () => assert.equal(2 * 2, 5));
`;

function role(name: string): string {
  return fileURLToPath(new URL(`../${name}/main.js`, import.meta.url));
}

function start(name: string, args: string[], children: ChildProcess[]): ChildProcess {
  const child = spawn(process.execPath, [role(name), ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
  child.stderr!.pipe(process.stderr);
  children.push(child);
  return child;
}

/** Starts a dispatcher (and its status page) on free ports; resolves with its port once both listen, printing the page's address. */
function startDispatcher(children: ChildProcess[]): Promise<number> {
  const child = start('dispatcher', ['--port', '0', '--http-port', '0', '--results', RESULTS], children);
  return new Promise((resolvePort, reject) => {
    let port = 0;
    child.once('exit', (code) => reject(new Error(`dispatcher exited with ${code}`)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const match = / listening on [^ ]*:(\d+);/.exec(line);
      if (match) port = Number(match[1]);
      const page = / status page at (\S+)/.exec(line);
      if (page) {
        console.log(`\nstatus page: ${page[1]}\n`);
        resolvePort(port);
      }
    });
  });
}

async function waitForFile(path: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`no result in ${path} after ${WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function commitTest(context: GitContext, work: string, content: string, message: string): Promise<string> {
  writeFileSync(join(work, 'tests', 'math.test.js'), content);
  await git(context, ['add', '-A'], { cwd: work });
  await git(context, ['commit', '--quiet', '-m', message], { cwd: work, identity: DEMO_AUTHOR });
  await git(context, ['push', '--quiet', 'origin', 'main'], { cwd: work });
  return (await git(context, ['rev-parse', 'HEAD'], { cwd: work })).stdout.trim();
}

function stopAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(children.map((child) => new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  }))).then(() => {});
}

async function watchRepo(repo: string, children: ChildProcess[]): Promise<number> {
  const port = await startDispatcher(children);
  const address = `127.0.0.1:${port}`;
  start('runner', ['--dispatcher', address, '--workdir', join(DEMO_DIR, 'runner'), '--name', 'demo-runner'], children);
  start('observer', ['--dispatcher', address, '--interval', '1', '--state', join(DEMO_DIR, 'state'), repo], children);
  console.log(`\nwatching ${repo}; results in ${RESULTS}; dispatcher at ${address}. Ctrl-C stops all three.\n`);
  await new Promise<void>((done) => process.once('SIGINT', done));
  await stopAll(children);
  return 0;
}

async function sample(context: GitContext, children: ChildProcess[], stay: boolean): Promise<number> {
  rmSync(DEMO_DIR, { recursive: true, force: true });
  mkdirSync(join(DEMO_DIR, 'work', 'tests'), { recursive: true });
  const central = join(DEMO_DIR, 'central.git');
  const work = join(DEMO_DIR, 'work');
  await git(context, ['init', '--quiet', '--bare', '-b', 'main', central], { cwd: DEMO_DIR });
  await git(context, ['init', '--quiet', '-b', 'main'], { cwd: work });
  await git(context, ['remote', 'add', 'origin', central], { cwd: work });
  const passing = await commitTest(context, work, PASSING_TEST, 'Add a passing test');
  await git(context, ['clone', '--quiet', central, join(DEMO_DIR, 'clone')], { cwd: DEMO_DIR });

  const port = await startDispatcher(children);
  const address = `127.0.0.1:${port}`;
  start('runner', ['--dispatcher', address, '--workdir', join(DEMO_DIR, 'runner'), '--name', 'demo-runner'], children);
  start('observer', ['--dispatcher', address, '--interval', '0.5', '--state', join(DEMO_DIR, 'state'), join(DEMO_DIR, 'clone')], children);

  await waitForFile(join(RESULTS, passing));
  const failing = await commitTest(context, work, FAILING_TEST, 'Add a failing test');
  await waitForFile(join(RESULTS, failing));
  if (stay) {
    console.log('\nboth results are in; the page stays up until Ctrl-C.');
    await new Promise<void>((done) => process.once('SIGINT', done));
  }
  await stopAll(children);

  for (const sha of [passing, failing]) {
    console.log(`\n===== ${RESULTS}/${sha} =====`);
    console.log(readFileSync(join(RESULTS, sha), 'utf8').split('--- output ---')[0]!.trimEnd());
  }
  console.log(`\nFull reports, JSON and logs: ls ${RESULTS}/`);
  console.log('Try it on your own clone: npm start -- --repo /path/to/clone');
  return 0;
}

export async function demo(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseFlags({ args: argv, strict: true, options: { repo: { type: 'string' }, stay: { type: 'boolean', default: false } } });
  const children: ChildProcess[] = [];
  try {
    return values.repo ? await watchRepo(resolve(values.repo), children) : await sample(createGitContext(env), children, values.stay);
  } finally {
    await stopAll(children);
  }
}
