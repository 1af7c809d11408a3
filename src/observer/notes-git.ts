// The git commands of writing notes, each a thin wrapper, in a bare
// repository of the observer's own under its scratch folder (never the
// clone): read origin's notes ref, fetch it, read and write one note, and
// push the ref back as a compare-and-swap (--force-with-lease on the tip it
// started from), so a note written elsewhere meanwhile is never lost: the
// push is refused and the round starts again from the new tip. A note's
// object need not be in this repository; git notes takes a full id.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git, GitError, type GitContext, type Identity } from '../common/git/run.js';
import { isCommitId, isRefName } from '../protocol/validate.js';

export interface NotesRepo {
  /** The scratch repository's folder. */
  readonly dir: string;
  /** Where notes are pushed: origin's push URL, or the clone itself when it has no origin. */
  readonly remote: string;
  /** refs/notes/keel or refs/notes/devtools/ci. */
  readonly ref: string;
  /** `sha1` or `sha256`, as the clone's. */
  readonly objectFormat: string;
  /** The clone's core.sshCommand, so notes reach origin the way its fetches do; null when it has none. */
  readonly sshCommand: string | null;
  readonly git: GitContext;
  readonly identity: Identity;
}

export type PushOutcome = 'pushed' | 'raced';

const run = (repo: NotesRepo, args: string[], allowFailure = false) => git(repo.git, args, { cwd: repo.dir, allowFailure, identity: repo.identity });

/** Makes the scratch repository the first time. */
export async function prepareNotesRepo(repo: NotesRepo): Promise<void> {
  if (!isRefName(repo.ref) || !repo.ref.startsWith('refs/notes/')) throw new Error(`refusing ${JSON.stringify(repo.ref)} as a notes ref`);
  if (existsSync(join(repo.dir, 'HEAD'))) return;
  await mkdir(repo.dir, { recursive: true });
  await run(repo, ['init', '--quiet', '--bare', `--object-format=${repo.objectFormat}`]);
  if (repo.sshCommand !== null) await run(repo, ['config', 'core.sshCommand', repo.sshCommand]);
}

/** The tip of origin's notes ref, or null when origin has none yet. */
export async function remoteTip(repo: NotesRepo): Promise<string | null> {
  // --exit-code: 2 says the ref is not there, anything else non-zero is a failure to ask.
  const { stdout, stderr, code } = await run(repo, ['ls-remote', '--exit-code', '--end-of-options', repo.remote, repo.ref], true);
  if (code === 2) return null;
  if (code !== 0) throw new GitError(`git ls-remote failed: ${stderr.trim().split('\n').pop() ?? ''}`, stderr);
  const line = stdout.split('\n').find((entry) => entry.endsWith(`\t${repo.ref}`));
  const tip = line?.split('\t')[0];
  if (tip === undefined || !isCommitId(tip)) return null;
  return tip;
}

/** Sets the local notes ref to origin's tip (fetching it), or removes it when origin has none. */
export async function startFrom(repo: NotesRepo, tip: string | null): Promise<void> {
  if (tip === null) {
    await run(repo, ['update-ref', '-d', repo.ref]);
    return;
  }
  const have = await run(repo, ['cat-file', '-e', `${tip}^{commit}`], true);
  if (have.code !== 0) await run(repo, ['fetch', '--quiet', '--no-tags', '--end-of-options', repo.remote, repo.ref]);
  await run(repo, ['update-ref', repo.ref, tip]);
}

/** The note of `commit` on the local notes ref, or null when it has none. */
export async function readNote(repo: NotesRepo, commit: string): Promise<string | null> {
  if (!isCommitId(commit)) throw new Error(`refusing ${JSON.stringify(commit)} as a commit id`);
  const { stdout, code } = await run(repo, ['notes', `--ref=${repo.ref}`, 'show', commit], true);
  return code === 0 ? stdout : null;
}

/** Sets the note of `commit`, replacing what it said; a commit on the local ref, made as the observer's identity. */
export async function writeNote(repo: NotesRepo, commit: string, text: string): Promise<void> {
  if (!isCommitId(commit)) throw new Error(`refusing ${JSON.stringify(commit)} as a commit id`);
  const file = join(repo.dir, 'KEEL_NOTE');
  await writeFile(file, text);
  await run(repo, ['notes', `--ref=${repo.ref}`, 'add', '--force', '--file', file, commit]);
}

/**
 * Pushes the local notes ref to origin if origin's is still at `from` (null:
 * absent). `raced` when origin moved meanwhile; a GitError for anything
 * else (origin unreachable, or refusing the ref).
 */
export async function pushNotes(repo: NotesRepo, from: string | null): Promise<PushOutcome> {
  const lease = `--force-with-lease=${repo.ref}:${from ?? ''}`;
  const { stdout, stderr, code } = await run(repo, ['push', '--porcelain', lease, '--end-of-options', repo.remote, `${repo.ref}:${repo.ref}`], true);
  if (code === 0) return 'pushed';
  // Porcelain lines are `<flag>\t<from>:<to>\t<summary>`; `!` with `[rejected]` is a lease (or fast-forward) lost to another writer.
  const line = stdout.split('\n').find((entry) => entry.split('\t')[1] === `${repo.ref}:${repo.ref}`);
  const [flag, , summary] = line?.split('\t') ?? [];
  if (flag === '!' && summary?.startsWith('[rejected]')) return 'raced';
  const reason = summary ?? stderr.trim().split('\n').pop() ?? `exit code ${code}`;
  throw new GitError(`git push of ${repo.ref} failed: ${reason}`, stderr);
}
