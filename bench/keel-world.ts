// A Keel of real processes on a real repository, for the figures of the
// gate and of patches: a bare central repository with a working copy, the
// observer's clone, a dispatcher, runners of one slot, and a client that
// asks the dispatcher over the protocol.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAddress, type Address } from '../src/common/address.js';
import { delay, git, startDispatcher, startKeel, tempDir } from './support.js';

export interface WorldSetup {
  name: string;
  runners: number;
  /** The repository's test: tests/run.sh. */
  test: string;
  /** Files of main's first commit besides the test (the repository's bulk). */
  bulk?: number;
  dispatcherFlags?: string[];
}

export async function startWorld(setup: WorldSetup) {
  const dir = tempDir(setup.name);
  const central = join(dir, 'central.git');
  const work = join(dir, 'work');
  git(dir, 'init', '-q', '--bare', '-b', 'main', central);
  git(dir, 'init', '-q', '-b', 'main', work);
  git(work, 'remote', 'add', 'origin', central);
  mkdirSync(join(work, 'tests'));
  writeFileSync(join(work, 'tests', 'run.sh'), setup.test, { mode: 0o755 });
  for (let i = 0; i < (setup.bulk ?? 0); i++) {
    if (i % 100 === 0) mkdirSync(join(work, 'src', String(i / 100)), { recursive: true });
    writeFileSync(join(work, 'src', String(Math.floor(i / 100)), `file-${i}.txt`), `file ${i}\n`.repeat(20));
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'first');
  git(work, 'push', '-q', 'origin', 'main');
  git(dir, 'clone', '-q', central, join(dir, 'clone'));

  const dispatcher = await startDispatcher(dir, setup.dispatcherFlags ?? []);
  const address = `127.0.0.1:${dispatcher.port}`;
  for (let i = 1; i <= setup.runners; i++) {
    startKeel('runner/main.js', ['--dispatcher', address, '--name', `bench-${i}`, '--workdir', join(dir, `runner-${i}`)]);
  }
  const observer = startKeel('observer/main.js', ['--dispatcher', address, '--interval', '1', '--state', join(dir, 'observer'), join(dir, 'clone')]);
  await observer.waitForLine(/observing/);
  const target: Address = parseAddress(address, '--dispatcher');
  /** Waits until the dispatcher has written the result of every one of `commits`. */
  const built = (commits: string[]) => until(async () => commits.every((c) => existsSync(join(dispatcher.results, c))), 'their builds', 10 * 60_000, 50);
  return { dir, central, work, dispatcher, observer, target, built };
}

/** Polls `check` (async: a question to the dispatcher) until it is truthy; the figures never depend on this resolution. */
export async function until<T>(check: () => Promise<T>, what: string, timeoutMs = 60_000, everyMs = 5): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}
