// The jobs a commit asks for, read from keel.json in the commit itself: the
// file's blob is looked up in a bare mirror and read with `git cat-file`, so
// nothing from the repository is checked out, followed or run. Every way this
// can fail becomes an error string, because the build then ends as `error`
// with that message and the committer has nothing else to go on.

import { GitError } from '../common/errors.js';
import { git } from '../common/git.js';
import { Mirrors } from '../common/mirrors.js';
import { DEFAULT_JOB, KeelJsonError, parseKeelJson, type JobSpec } from './keel-json.js';

export type JobsFound = { jobs: JobSpec[]; error: null } | { jobs: []; error: string };

const FILE = 'keel.json';
const MAX_BYTES = 64 * 1024;

/** What `git ls-tree -l` says of keel.json at the commit's root. */
interface TreeEntry {
  mode: string;
  object: string;
  size: number | null;
}

export class JobSource {
  private readonly mirrors: Mirrors;

  /** Mirrors live under <stateDir>/mirrors. */
  constructor(stateDir: string) {
    this.mirrors = new Mirrors(stateDir);
  }

  /** The commit's jobs: keel.json's, or [DEFAULT_JOB] when the commit has none. */
  async jobsFor(repo: string, commit: string): Promise<JobsFound> {
    let text: string | null;
    try {
      // Fetches only when the mirror lacks the commit; serialised per mirror.
      const mirror = await this.mirrors.ensureCommit(repo, commit);
      text = await readKeelJson(mirror, commit);
    } catch (error) {
      if (error instanceof KeelJsonError) return failed(error.message);
      return failed(`could not read keel.json: ${describeFailure(error)}`);
    }
    if (text === null) return { jobs: [DEFAULT_JOB], error: null };
    try {
      return { jobs: parseKeelJson(text), error: null };
    } catch (error) {
      if (error instanceof KeelJsonError) return failed(error.message);
      throw error;
    }
  }
}

/** keel.json's text at the commit's root; null when there is none. Throws KeelJsonError when it is not a small regular file. */
async function readKeelJson(mirror: string, commit: string): Promise<string | null> {
  const entry = await findEntry(mirror, commit);
  if (entry === null) return null;
  // A link's target would be read as the file's text, and might point outside the repository.
  if (entry.mode === '120000') fail('is a symbolic link; it must be a regular file');
  if (entry.mode === '040000') fail('is a directory; it must be a regular file');
  if (entry.mode === '160000') fail('is a submodule; it must be a regular file');
  if (entry.mode !== '100644' && entry.mode !== '100755') fail(`has git mode ${entry.mode}; it must be a regular file`);
  if (entry.size === null) throw new Error(`git ls-tree gave no size for ${FILE}`);
  // Checked before reading, so a huge file never reaches memory.
  if (entry.size > MAX_BYTES) fail(`is ${entry.size} bytes; at most ${MAX_BYTES} (64 KiB) are allowed`);
  const { stdout } = await git(['cat-file', 'blob', entry.object], { cwd: mirror });
  return stdout;
}

async function findEntry(mirror: string, commit: string): Promise<TreeEntry | null> {
  // ls-tree matches the path literally (no globbing) and, without -r, reports
  // a directory as one entry rather than listing its contents.
  const { stdout } = await git(['ls-tree', '-l', '-z', commit, '--', FILE], { cwd: mirror });
  for (const record of stdout.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0 || record.slice(tab + 1) !== FILE) continue;
    const [mode, , object, size] = record.slice(0, tab).trim().split(/ +/);
    return { mode, object, size: /^\d+$/.test(size) ? Number(size) : null };
  }
  return null;
}

/** git's own "fatal:" line where there is one: its last line is often the tail of advice ("and the repository exists."). */
function describeFailure(error: unknown): string {
  if (error instanceof GitError) {
    const line = error.stderr.split('\n').find((text) => /^(?:fatal|error): /.test(text));
    if (line !== undefined) return line.replace(/^(?:fatal|error): /, '').trim();
  }
  return (error as Error).message;
}

function fail(problem: string): never {
  throw new KeelJsonError('', problem);
}

function failed(error: string): JobsFound {
  return { jobs: [], error };
}
