// keel demo (npm start): a sample repository, the three processes wired
// together, one passing and one failing commit, and their reports printed,
// with the status page's address (--stay keeps it all running, page and
// all, until Ctrl-C). With --repo PATH it instead watches that clone until
// Ctrl-C. Everything it writes is under ./.keel-demo/ — the repositories,
// the dispatcher's state and results, the runner's workdir, the observer's
// cursor — so a demo run beside a real dispatcher started from the same
// folder (./.keel-state, ./test_results) leaves it alone.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { createGitContext, git, type GitContext, type Identity } from '../common/git/run.js';
import { DemoProcesses } from './demo-processes.js';

const DEMO_DIR = resolve('.keel-demo');
const RESULTS = join(DEMO_DIR, 'test_results');
const DISPATCHER_STATE = join(DEMO_DIR, 'dispatcher-state');
const WAIT_MS = 60_000;
/** Who the sample repository's commits are by. */
const DEMO_AUTHOR: Identity = { name: 'Keel demo', email: 'demo@keel.invalid' };

export const DEMO_USAGE = `usage: keel demo [--stay | --repo CLONE]   (npm start, npm start -- --repo CLONE)

Runs a dispatcher, a runner and an observer together, everything under
./.keel-demo/ (repositories, state, results), so it never touches a real
dispatcher's ./.keel-state or ./test_results.

  (no flags)              make a sample repository, commit a passing and then a
                          failing test, print both reports, stop
  --stay                  then keep all three and the status page running until Ctrl-C
  --repo CLONE            watch this git clone instead, until Ctrl-C; its results
                          go to .keel-demo/test_results/`;

const PASSING_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';

test('adds', () => assert.equal(1 + 1, 2));
`;
const FAILING_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';

test('adds', () => assert.equal(1 + 1, 2));
test('multiplies', () => assert.equal(2 * 2, 5));
`;

/** Starts a dispatcher (and its status page) on free ports; resolves with its port once both listen, printing the page's address. */
function startDispatcher(processes: DemoProcesses): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let port = 0;
    processes.failed.catch(reject);
    processes.start('dispatcher', ['--port', '0', '--http-port', '0', '--results', RESULTS, '--state', DISPATCHER_STATE], (line) => {
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

async function watchRepo(repo: string, processes: DemoProcesses): Promise<number> {
  // Checked before anything starts: the observer would refuse it, but only after the dispatcher and runner were up.
  if (!existsSync(repo)) throw new ConfigError(`--repo must be a git clone, got "${repo}" (no such folder)`);
  const port = await startDispatcher(processes);
  const address = `127.0.0.1:${port}`;
  processes.start('runner', ['--dispatcher', address, '--workdir', join(DEMO_DIR, 'runner'), '--name', 'demo-runner']);
  processes.start('observer', ['--dispatcher', address, '--interval', '1', '--state', join(DEMO_DIR, 'state'), repo]);
  console.log(`\nwatching ${repo}; results in ${RESULTS}; dispatcher at ${address}. Ctrl-C stops all three.\n`);
  await Promise.race([new Promise<void>((done) => process.once('SIGINT', done)), processes.failed]);
  return 0;
}

async function sample(context: GitContext, processes: DemoProcesses, stay: boolean): Promise<number> {
  rmSync(DEMO_DIR, { recursive: true, force: true });
  mkdirSync(join(DEMO_DIR, 'work', 'tests'), { recursive: true });
  const central = join(DEMO_DIR, 'central.git');
  const work = join(DEMO_DIR, 'work');
  await git(context, ['init', '--quiet', '--bare', '-b', 'main', central], { cwd: DEMO_DIR });
  await git(context, ['init', '--quiet', '-b', 'main'], { cwd: work });
  await git(context, ['remote', 'add', 'origin', central], { cwd: work });
  const passing = await commitTest(context, work, PASSING_TEST, 'Add a passing test');
  await git(context, ['clone', '--quiet', central, join(DEMO_DIR, 'clone')], { cwd: DEMO_DIR });

  const port = await startDispatcher(processes);
  const address = `127.0.0.1:${port}`;
  processes.start('runner', ['--dispatcher', address, '--workdir', join(DEMO_DIR, 'runner'), '--name', 'demo-runner']);
  processes.start('observer', ['--dispatcher', address, '--interval', '0.5', '--state', join(DEMO_DIR, 'state'), join(DEMO_DIR, 'clone')]);

  await Promise.race([waitForFile(join(RESULTS, passing)), processes.failed]);
  const failing = await commitTest(context, work, FAILING_TEST, 'Add a failing test');
  await Promise.race([waitForFile(join(RESULTS, failing)), processes.failed]);
  if (stay) {
    console.log('\nboth results are in; the page stays up until Ctrl-C.');
    await Promise.race([new Promise<void>((done) => process.once('SIGINT', done)), processes.failed]);
  }
  await processes.stop();

  for (const sha of [passing, failing]) {
    console.log(`\n===== ${RESULTS}/${sha} =====`);
    console.log(readFileSync(join(RESULTS, sha), 'utf8').split('--- output ---')[0]!.trimEnd());
  }
  console.log(`\nFull reports, JSON and logs: ls ${RESULTS}/`);
  console.log('Try it on your own clone: npm start -- --repo /path/to/clone');
  return 0;
}

export async function demo(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const { values } = parseFlags({ args: argv, strict: true, options: { repo: { type: 'string' }, stay: { type: 'boolean', default: false } } });
  const processes = new DemoProcesses();
  try {
    return values.repo ? await watchRepo(resolve(values.repo), processes) : await sample(createGitContext(env), processes, values.stay);
  } finally {
    await processes.stop();
  }
}
