// Chooses what to run in a checked-out worktree. Everything lives in
// `<worktree>/tests`; the first rule that finds something wins:
//
// 1. Node: files under tests/ (recursively) named like Node's own test
//    patterns — test.js, test-*.js, *.test.js, *-test.js, *_test.js, and the
//    same for .mjs/.cjs. If none match but tests/ itself holds .js/.mjs/.cjs
//    files, those are the tests. Runs `<this node> --test <paths>`, so tests
//    get the same Node as the runner, with two reporters: TAP on stdout (for
//    people, and for counts) and JUnit into JUNIT_FILE (for failed names).
// 2. Python: any test*.py under tests/ → `python3 -m unittest discover -s tests -v`.
// 3. Executables: every executable regular file directly in tests/, sorted by
//    name, one step each, as `./tests/<name>` (the `./` keeps execvp from
//    searching PATH for it).
// 4. Otherwise NoTestsError, saying what was there.
//
// File names come from the repository under test, so they are only ever argv
// entries, never shell text. Symlinks are skipped entirely, files and folders
// alike, so nothing outside the worktree is listed or run; so are
// node_modules and dot-folders.

import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';

export interface TestPlan {
  /** Each step is an argv, run in order with cwd = the worktree. */
  steps: string[][];
  description: string;
  /** Where the plan itself has the tests write JUnit XML, relative to the worktree. */
  junit?: string;
}

export class NoTestsError extends KeelError {
  override readonly name = 'NoTestsError';

  constructor(message: string) {
    super(ErrorCode.noTests, message);
  }
}

const TESTS_DIR = 'tests';
/** A dot-file, so no test pattern picks it up; the worktree is removed after the job. */
export const JUNIT_FILE = '.keel-junit.xml';
/** Giving any reporter replaces Node's default, so TAP to stdout is asked for explicitly. */
const NODE_REPORTERS = [
  '--test-reporter=tap', '--test-reporter-destination=stdout',
  '--test-reporter=junit', `--test-reporter-destination=${JUNIT_FILE}`,
];
/** Deep enough for any sane layout; a bound so a hostile tree cannot make us walk forever. */
const MAX_DEPTH = 16;

const JS_FILE = /\.[cm]?js$/;
const NODE_TEST_FILE = /^(?:test|test-.+|.+[.\-_]test)\.[cm]?js$/;
const PYTHON_TEST_FILE = /^test.*\.py$/;

interface Entry {
  /** Path relative to the worktree, e.g. `tests/unit/a.test.js`. */
  path: string;
  name: string;
  /** Directly in tests/, not in a subfolder. */
  top: boolean;
  mode: number;
}

/** Picks the test steps for `worktree`, or throws NoTestsError explaining why there are none. */
export async function chooseTestCommand(worktree: string): Promise<TestPlan> {
  const info = await lstat(join(worktree, TESTS_DIR)).catch(() => null);
  if (info?.isSymbolicLink()) throw new NoTestsError('no tests/ directory (tests is a symlink, which Keel does not follow)');
  if (info === null || !info.isDirectory()) throw new NoTestsError('no tests/ directory');
  const files = await listFiles(worktree, TESTS_DIR, 0);
  if (files.length === 0) throw new NoTestsError('nothing to run in tests/');

  const js = files.filter((file) => JS_FILE.test(file.name));
  const named = js.filter((file) => NODE_TEST_FILE.test(file.name));
  const nodeFiles = named.length > 0 ? named : js.filter((file) => file.top);
  if (nodeFiles.length > 0) {
    const paths = nodeFiles.map((file) => file.path).sort();
    return {
      steps: [[process.execPath, '--test', ...NODE_REPORTERS, ...paths]],
      description: `node --test (${plural(paths.length, 'file')})`,
      junit: JUNIT_FILE,
    };
  }

  if (files.some((file) => PYTHON_TEST_FILE.test(file.name))) {
    return {
      steps: [['python3', '-m', 'unittest', 'discover', '-s', TESTS_DIR, '-v']],
      description: 'python3 -m unittest discover',
    };
  }

  const executables = files
    .filter((file) => file.top && (file.mode & 0o111) !== 0)
    .map((file) => file.name)
    .sort();
  if (executables.length > 0) {
    return {
      steps: executables.map((name) => [`./${TESTS_DIR}/${name}`]),
      description: `${plural(executables.length, 'executable')} in tests/`,
    };
  }

  throw new NoTestsError(
    `nothing to run in tests/: found ${plural(files.length, 'file')} (${sample(files)}) ` +
      'but no Node test files, no test*.py and no executable files',
  );
}

/** Regular files under `dir` (relative to `root`), skipping symlinks, node_modules and dot-folders. */
async function listFiles(root: string, dir: string, depth: number): Promise<Entry[]> {
  if (depth > MAX_DEPTH) return [];
  const entries = await readdir(join(root, dir), { withFileTypes: true });
  const found: Entry[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      found.push(...(await listFiles(root, path, depth + 1)));
    } else if (entry.isFile()) {
      // readdir's types come from lstat, so symlinks are neither files nor folders here.
      const { mode } = await lstat(join(root, path));
      found.push({ path, name: entry.name, top: depth === 0, mode });
    }
  }
  return found;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A few file names for an error message; a repo may hold thousands. */
function sample(files: Entry[]): string {
  const names = files.map((file) => file.path).sort();
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown}, …` : shown;
}
