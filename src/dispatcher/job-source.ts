// The jobs a commit asks for, read from keel.json in the commit itself: the
// file's blob is looked up in a bare mirror and read with `git cat-file`, so
// nothing from the repository is checked out, followed or run. Every way this
// can fail becomes an error string, because the build then ends as `error`
// with that message and the committer has nothing else to go on.
//
// Thousands of commits may arrive at once, so each repository read keeps two
// long-running `git cat-file` readers instead of starting git per commit.

import { existsSync } from 'node:fs';
import { CatFile } from '../common/git/cat-file.js';
import { Mirrors } from '../common/git/mirror.js';
import { git, GitError, type GitContext } from '../common/git/run.js';
import { LIMITS } from '../protocol/limits.js';
import { DEFAULT_JOB, KeelJsonError, parseKeelJson, type JobSpec } from './keel-json.js';

export type JobsFound = { jobs: JobSpec[]; error: null } | { jobs: []; error: string };

const FILE = 'keel.json';
const MAX_BYTES = LIMITS.keelJsonBytes;

interface Readers {
  content: CatFile;
  check: CatFile;
}

/** An entry of a git tree object: `<mode> <name>\0<binary object id>`. */
function findEntry(tree: Buffer, name: string, idBytes: number): { mode: string; object: string } | null {
  let at = 0;
  while (at < tree.length) {
    const space = tree.indexOf(0x20, at);
    const nul = tree.indexOf(0, space);
    if (space < 0 || nul < 0) return null;
    const mode = tree.subarray(at, space).toString('latin1');
    const entry = tree.subarray(space + 1, nul).toString('utf8');
    const object = tree.subarray(nul + 1, nul + 1 + idBytes).toString('hex');
    if (entry === name) return { mode, object };
    at = nul + 1 + idBytes;
  }
  return null;
}

function fail(problem: string): never {
  throw new KeelJsonError('', problem);
}

export class JobSource {
  private readonly mirrors: Mirrors;
  private readonly readers = new Map<string, Readers>();

  /** Mirrors live under <stateDir>/mirrors. */
  constructor(stateDir: string, private readonly git: GitContext) {
    this.mirrors = new Mirrors(stateDir, git);
  }

  /** The commit's jobs: keel.json's, or [DEFAULT_JOB] when the commit has none. */
  async jobsFor(repo: string, commit: string): Promise<JobsFound> {
    let text: string | null;
    try {
      text = await this.readKeelJson(repo, commit);
    } catch (error) {
      if (error instanceof KeelJsonError) return { jobs: [], error: error.message };
      return { jobs: [], error: `could not read keel.json: ${describeFailure(error)}` };
    }
    if (text === null) return { jobs: [DEFAULT_JOB], error: null };
    try {
      return { jobs: parseKeelJson(text), error: null };
    } catch (error) {
      if (error instanceof KeelJsonError) return { jobs: [], error: error.message };
      throw error;
    }
  }

  /**
   * The commit object as git stores it (headers, a blank line, the message),
   * read where keel.json was read (the repository in place, or its mirror),
   * never fetched; null when neither has it. For the status page.
   */
  async readCommit(repo: string, commit: string): Promise<Buffer | null> {
    const places = [...(repo.startsWith('/') ? [repo] : []), this.mirrors.mirrorPath(repo)].filter((dir) => existsSync(dir));
    for (const dir of places) {
      const found = await this.readersOf(dir).content.read(commit).catch(() => null);
      if (found?.type === 'commit' && found.content) return found.content;
    }
    return null;
  }

  /**
   * The files `commit` changes against `base`, or against its first parent
   * when `base` is null; null for a first commit (everything is new).
   */
  async changedPaths(repo: string, commit: string, base: string | null): Promise<string[] | null> {
    const { gitDir } = await this.findTree(repo, commit);
    let from = base;
    if (from === null) {
      const parent = await git(this.git, ['rev-parse', '--verify', '--quiet', `${commit}^1`], { cwd: gitDir, allowFailure: true });
      if (parent.code !== 0) return null;
      from = parent.stdout.trim();
    } else if (gitDir !== repo) {
      await this.mirrors.ensureCommit(repo, from);
    }
    const diff = await git(this.git, ['diff-tree', '-r', '-z', '--name-only', '--no-commit-id', from, commit], { cwd: gitDir });
    return diff.stdout.split('\0').filter((path) => path !== '');
  }

  close(): void {
    for (const { content, check } of this.readers.values()) {
      content.close();
      check.close();
    }
    this.readers.clear();
  }

  /** keel.json's text at the commit's root; null when there is none. */
  private async readKeelJson(repo: string, commit: string): Promise<string | null> {
    const { gitDir, tree } = await this.findTree(repo, commit);
    const { content, check } = this.readersOf(gitDir);
    const entry = findEntry(tree, FILE, commit.length / 2);
    if (entry === null) return null;
    // A link's target would be read as the file's text, and might point outside the repository.
    if (entry.mode === '120000') fail('is a symbolic link; it must be a regular file');
    if (entry.mode === '40000') fail('is a directory; it must be a regular file');
    if (entry.mode === '160000') fail('is a submodule; it must be a regular file');
    if (entry.mode !== '100644' && entry.mode !== '100755') fail(`has git mode ${entry.mode}; it must be a regular file`);
    // Checked before reading, so a huge file never reaches memory.
    const size = (await check.read(entry.object))?.size ?? 0;
    if (size > MAX_BYTES) fail(`is ${size} bytes; at most ${MAX_BYTES} (${MAX_BYTES / 1024} KiB) are allowed`);
    const blob = await content.read(entry.object);
    return blob?.content?.toString('utf8') ?? null;
  }

  /**
   * The commit's root tree. A repository on this machine is read in place,
   * which saves a fetch per commit; anything else (or a local one that will
   * not answer) goes through the mirror, fetching only what it lacks.
   */
  private async findTree(repo: string, commit: string): Promise<{ gitDir: string; tree: Buffer }> {
    if (repo.startsWith('/') && existsSync(repo)) {
      const tree = await this.readersOf(repo).content.read(`${commit}^{tree}`).catch(() => null);
      if (tree?.content) return { gitDir: repo, tree: tree.content };
    }
    const mirror = this.mirrors.mirrorPath(repo);
    let tree = existsSync(mirror) ? await this.readersOf(mirror).content.read(`${commit}^{tree}`) : null;
    if (tree === null) {
      await this.mirrors.ensureCommit(repo, commit);
      tree = await this.readersOf(mirror).content.read(`${commit}^{tree}`);
    }
    if (!tree?.content) throw new Error(`commit ${commit} has no tree`);
    return { gitDir: mirror, tree: tree.content };
  }

  private readersOf(mirror: string): Readers {
    let readers = this.readers.get(mirror);
    if (!readers) {
      readers = { content: new CatFile(this.git, mirror, '--batch'), check: new CatFile(this.git, mirror, '--batch-check') };
      this.readers.set(mirror, readers);
    }
    return readers;
  }
}

/** git's own `fatal:` line says why; the last line of its output often does not. */
function describeFailure(error: unknown): string {
  if (error instanceof GitError) {
    const fatal = error.stderr.split('\n').find((line) => line.startsWith('fatal: '));
    if (fatal) return fatal.slice('fatal: '.length);
  }
  return (error as Error).message;
}
