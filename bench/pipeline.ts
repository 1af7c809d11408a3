// The three real processes (dist/) on a real repository, for the figures that
// follow a commit from `git push` to its result: a bare central repository, a
// working copy that pushes, and the observer's clone.

import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { git, makeRepos, startDispatcher, startKeel, waitUntil } from './support.js';

export interface PipelineOptions {
  name: string;
  /** `instant`: origin is a local path, watched; `poll`: a file:// origin, so only --interval finds pushes. */
  detection: 'instant' | 'poll';
  intervalS: number;
  /** Extra files for the first commit (the repository's bulk). */
  files?: Record<string, string>;
  slots?: number;
}

export interface Timing {
  sha: string;
  /** When the commit landed: the mtime of the central repository's branch ref, which the push writes last. */
  landedAt: number;
  /** When the test script ran (it writes Date.now() in ms into a file). */
  testStartedAt: number;
  /** mtime of test_results/<sha>, the readable report written last. */
  resultAt: number;
  record: { jobs: Array<{ durationMs: number; attempts: Array<{ durationMs: number }> }> };
}

export async function startPipeline(options: PipelineOptions) {
  const { dir, central, work, marks } = makeRepos(options.name);
  const clone = join(dir, 'clone');
  // The test is one `date`: the cheapest process that can say when it started.
  const script = `#!/bin/sh\ndate +%s%3N > '${marks}'/"$KEEL_COMMIT"\n`;
  const files: Record<string, string> = { ...options.files, 'tests/run.sh': script };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(work, path, '..'), { recursive: true });
    writeFileSync(join(work, path), content, { mode: path.endsWith('.sh') ? 0o755 : 0o644 });
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'first');
  git(work, 'push', '-q', 'origin', 'main');
  const first = git(work, 'rev-parse', 'HEAD');
  git(dir, 'clone', '-q', options.detection === 'instant' ? central : pathToFileURL(central).href, clone);

  const dispatcher = await startDispatcher(dir);
  const address = `127.0.0.1:${dispatcher.port}`;
  const runner = startKeel('runner/main.js', ['--dispatcher', address, '--name', 'bench', '--workdir', join(dir, 'runner'), '--slots', String(options.slots ?? 1)]);
  const observer = startKeel('observer/main.js', ['--dispatcher', address, '--interval', String(options.intervalS), '--state', join(dir, 'observer'), clone]);
  // The first build clones the mirror: a one-off cost kept out of the figures.
  await waitForResult(dispatcher.results, marks, first, Date.now());

  let counter = 0;
  /**
   * Commits a one-line change and pushes it. The clock starts when the ref
   * lands in the central repository, not when `git push` starts: a local
   * push takes some 40 ms on a 2-core machine before anything can see it.
   * That time is returned too (`pushMs`), so it can be reported.
   */
  const push = () => {
    counter += 1;
    writeFileSync(join(work, 'change.txt'), `${counter}\n`);
    git(work, 'add', 'change.txt');
    git(work, 'commit', '-q', '-m', `change ${counter}`);
    const sha = git(work, 'rev-parse', 'HEAD');
    const started = Date.now();
    git(work, 'push', '-q', 'origin', 'main');
    const landedAt = statSync(join(central, 'refs', 'heads', 'main')).mtimeMs;
    return { sha, landedAt, pushMs: landedAt - started };
  };
  const result = (sha: string, landedAt: number) => waitForResult(dispatcher.results, marks, sha, landedAt);
  return { dispatcher, runner, observer, push, result };
}

async function waitForResult(results: string, marks: string, sha: string, landedAt: number): Promise<Timing> {
  const report = join(results, sha);
  await waitUntil(() => existsSync(report), `the result of ${sha}`, 60_000);
  const record = JSON.parse(readFileSync(join(results, `${sha}.json`), 'utf8'));
  if (record.status !== 'passed') throw new Error(`build ${sha} ended ${record.status}: ${record.message}`);
  return {
    sha,
    landedAt,
    testStartedAt: Number(readFileSync(join(marks, sha), 'utf8').trim()),
    resultAt: statSync(report).mtimeMs,
    record,
  };
}
