// The gate's git work, done by the observer (the one process that writes to
// the repository): look at refs, merge a batch of branches onto a target as
// one commit (its message records every request, so a request can be
// finished from git alone; the target's history gains exactly the tested
// commit), push it to refs/keel/land/<batch>, move the target to a tested
// merge by compare-and-swap, and delete old refs.
//
// Every command may come twice (it is sent again after a reconnect until
// answered): a merge already made for a batch's attempt is pushed again as
// it was, not made anew, and a target that already points at (or past) the
// commit to land counts as landed, never landed twice.

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { GitError } from '../common/git/run.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { BranchHead, ObserverCommand } from '../protocol/messages.js';
import { isCommitId } from '../protocol/validate.js';
import type { CommandReply } from './commands.js';
import type { ScratchRepo } from './scratch-repo.js';

type Merge = Extract<ObserverCommand, { op: 'merge' }>;
type Land = Extract<ObserverCommand, { op: 'land' }>;

interface MergeMemo {
  commit: string;
  base: string;
  heads: BranchHead[];
}

/** The first lines of git's own complaint: the cause, not only "git push failed". */
export function gitReason(error: unknown): string {
  if (error instanceof GitError) {
    const lines = error.stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('hint:'));
    if (lines.length > 0) return lines.slice(0, 3).join(' / ');
  }
  return (error as Error).message;
}

const failure = (code: ErrorCode, message: string): CommandReply => ({ ok: false, code, message, commit: null, answer: null });

export class LandWork {
  /** The end of the work under way: merges, landings and prunes go one at a time. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly scratch: ScratchRepo, private readonly memoDir: string) {}

  /**
   * Runs git work that writes after the work before it. A command sent again
   * after a reconnect while its first run still pushes then finds that push
   * done, instead of racing it for the same ref.
   */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => {});
    return run;
  }

  /** Where `refs` point in origin now, and the branch origin's HEAD names. */
  async inspect(refs: string[]): Promise<CommandReply> {
    const { origin } = await this.scratch.open();
    const found = await this.lsRemote(origin, refs);
    const symref = await this.scratch.run(['ls-remote', '--symref', '--', origin, 'HEAD'], { allowFailure: true });
    const head = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(symref.stdout)?.[1] ?? null;
    return {
      ok: true, code: null, message: `read ${refs.length} ref(s) of origin`, commit: null,
      answer: { op: 'inspect', refs: refs.map((ref) => ({ ref, commit: found.get(ref) ?? null })), defaultBranch: head },
    };
  }

  merge(command: Merge): Promise<CommandReply> {
    return this.inTurn(() => this.mergeNow(command));
  }

  private async mergeNow(command: Merge): Promise<CommandReply> {
    const memoPath = join(this.memoDir, `${command.batch}.${command.attempt}.json`);
    let memo: MergeMemo | null = existsSync(memoPath) ? JSON.parse(await readFile(memoPath, 'utf8')) : null;
    if (memo === null) {
      const made = await this.makeMerge(command);
      if ('ok' in made) return made;
      memo = made;
      await mkdir(this.memoDir, { recursive: true });
      await writeFileAtomic(memoPath, JSON.stringify(memo));
    }
    const { origin } = await this.scratch.open();
    const ref = `refs/keel/land/${command.batch}`;
    try {
      await this.scratch.run(['push', '--quiet', '--', origin, `+${memo.commit}:${ref}`]);
    } catch (error) {
      // Someone (an earlier run of this observer) may have pushed it meanwhile.
      if ((await this.lsRemote(origin, [ref])).get(ref) !== memo.commit) {
        return failure(ErrorCode.gitFailed, `cannot push the merge to origin: ${gitReason(error)}`);
      }
    }
    return {
      ok: true, code: null, message: `merged ${command.steps.length} branch(es) onto ${command.target} as ${memo.commit}`,
      commit: memo.commit, answer: { op: 'merge', base: memo.base, heads: memo.heads, conflict: null },
    };
  }

  /** Merges (or squashes) every branch in turn onto the target's tip or `onto`, fetching what is not here yet; a reply when it cannot. */
  private async makeMerge(command: Merge): Promise<MergeMemo | CommandReply> {
    const { origin } = await this.scratch.open();
    const refs = [command.target, ...command.steps.map((step) => step.branch)];
    const found = await this.lsRemote(origin, refs);
    const missing = refs.filter((ref) => !found.has(ref));
    if (missing.length > 0) return failure(ErrorCode.unknownRef, `origin has no ${missing.join(', ')}`);
    const wanted = [...refs.map((ref) => found.get(ref)!), ...(command.onto === null ? [] : [command.onto])];
    // A local origin's objects, and merges made here, are here already: no fetch.
    if (!(await this.hasCommits(wanted))) {
      const fetched = await this.fetch(origin, command, refs, found);
      if (fetched !== null) return fetched;
    }
    const base = command.onto ?? found.get(command.target)!;
    // Each branch is merged in turn; the steps between are commits of this
    // repository only (the next merge needs one), and the batch becomes one
    // commit: the tested tip, all its branches as parents after the base.
    let current = base;
    let tree = '';
    const heads: BranchHead[] = [];
    for (const [i, step] of command.steps.entries()) {
      const head = found.get(refs[i + 1]!)!;
      if (i > 0) current = await this.commit(tree, [current, heads.at(-1)!.commit], `keel: step ${i} of ${command.batch}`);
      const merged = await this.scratch.run(['merge-tree', '--write-tree', '--name-only', '--end-of-options', current, head], { allowFailure: true });
      const lines = merged.stdout.split('\n');
      if (merged.code === 1) {
        const end = lines.indexOf('', 1);
        const files = lines.slice(1, end === -1 ? undefined : end).filter((line) => line !== '');
        return {
          ok: false, code: ErrorCode.conflict, message: `${step.branch} does not merge into ${command.target}: conflict in ${files.join(', ')}`,
          commit: null, answer: { op: 'merge', base, heads, conflict: { request: step.request, files } },
        };
      }
      if (merged.code !== 0) return failure(ErrorCode.gitFailed, `git merge-tree failed: ${merged.stderr.trim().split('\n')[0]}`);
      tree = lines[0]!.trim();
      heads.push({ request: step.request, branch: step.branch, commit: head });
    }
    const parents = command.squash ? [base] : [base, ...heads.map((h) => h.commit)];
    return { commit: await this.commit(tree, parents, mergeMessage(command, heads, base)), base, heads };
  }

  private async commit(tree: string, parents: string[], message: string): Promise<string> {
    const args = ['commit-tree', ...parents.flatMap((parent) => ['-p', parent]), '-m', message, '--', tree];
    return (await this.scratch.run(args, { identity: true })).stdout.trim();
  }

  /** True when every one of `commits` is in the scratch repository (or the repositories it borrows from). */
  private async hasCommits(commits: string[]): Promise<boolean> {
    const { code } = await this.scratch.run(['rev-list', '--no-walk', '--quiet', '--end-of-options', ...commits], { allowFailure: true });
    return code === 0;
  }

  /** Fetches the target, the branches and the merges of batches ahead; a reply when it cannot. */
  private async fetch(origin: string, command: Merge, refs: string[], found: Map<string, string>): Promise<CommandReply | null> {
    const keep = (i: number) => `refs/scratch/${command.batch}/${i}`;
    const lands = command.onto === null ? [] : ['+refs/keel/land/*:refs/scratch/land/*'];
    try {
      await this.scratch.run(['fetch', '--quiet', '--no-tags', '--', origin, ...refs.map((ref, i) => `+${found.get(ref)}:${keep(i)}`), ...lands]);
    } catch (error) {
      // Fetching by id needs the server's consent; by name works everywhere.
      try {
        await this.scratch.run(['fetch', '--quiet', '--no-tags', '--', origin, ...refs.map((ref, i) => `+${ref}:${keep(i)}`), ...lands]);
      } catch {
        return failure(ErrorCode.gitFailed, `cannot fetch from origin: ${gitReason(error)}`);
      }
    }
    return null;
  }

  /** Moves the target to `commit` if it still points at `expect` and every branch is where it was merged from. */
  land(command: Land): Promise<CommandReply> {
    return this.inTurn(() => this.landNow(command));
  }

  private async landNow(command: Land): Promise<CommandReply> {
    const { origin } = await this.scratch.open();
    const found = await this.lsRemote(origin, [command.target, ...command.heads.map((head) => head.branch)]);
    const now = found.get(command.target);
    const landedMessage = `${command.target} is at ${command.commit}`;
    if (now === command.commit || (now !== undefined && await this.contains(origin, command.target, now, command.commit))) {
      return { ok: true, code: null, message: landedMessage, commit: command.commit, answer: { op: 'land', moved: [] } };
    }
    if (now !== command.expect) return failure(ErrorCode.targetMoved, `${command.target} moved from ${command.expect} to ${now ?? 'nothing'}`);
    const moved = command.heads.filter((head) => found.get(head.branch) !== head.commit).map((head) => head.request);
    if (moved.length > 0) {
      return { ok: false, code: ErrorCode.branchMoved, message: `branches moved after they were merged: ${moved.join(', ')}`, commit: null, answer: { op: 'land', moved } };
    }
    try {
      // Not forced: the commit descends from the target's tip, and the lease makes the swap exact.
      await this.scratch.run(['push', '--quiet', `--force-with-lease=${command.target}:${command.expect}`, '--', origin, `${command.commit}:${command.target}`]);
    } catch (error) {
      const after = (await this.lsRemote(origin, [command.target])).get(command.target);
      if (after === command.commit) return { ok: true, code: null, message: landedMessage, commit: command.commit, answer: { op: 'land', moved: [] } };
      if (after !== command.expect) return failure(ErrorCode.targetMoved, `${command.target} moved to ${after ?? 'nothing'} while landing`);
      return failure(ErrorCode.gitFailed, `cannot push ${command.target}: ${gitReason(error)}`);
    }
    return { ok: true, code: null, message: landedMessage, commit: command.commit, answer: { op: 'land', moved: [] } };
  }

  /** Deletes refs of origin that are no longer wanted; ones already gone count as deleted. */
  prune(refs: string[]): Promise<CommandReply> {
    return this.inTurn(() => this.pruneNow(refs));
  }

  private async pruneNow(refs: string[]): Promise<CommandReply> {
    const { origin } = await this.scratch.open();
    const present = await this.lsRemote(origin, refs);
    const doomed = refs.filter((ref) => present.has(ref));
    if (doomed.length > 0) {
      try {
        await this.scratch.run(['push', '--quiet', '--', origin, ...doomed.map((ref) => `:${ref}`)]);
      } catch (error) {
        return failure(ErrorCode.gitFailed, `cannot delete refs in origin: ${gitReason(error)}`);
      }
    }
    return { ok: true, code: null, message: `deleted ${doomed.length} ref(s) from origin`, commit: null, answer: null };
  }

  /** Where each of `refs` points in origin; refs it does not have are left out. */
  private async lsRemote(origin: string, refs: string[]): Promise<Map<string, string>> {
    const { stdout } = await this.scratch.run(['ls-remote', '--', origin, ...refs]);
    const found = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref && isCommitId(sha) && refs.includes(ref)) found.set(ref, sha);
    }
    return found;
  }

  /** True when `tip` of `ref` already contains `commit` (someone built on a landing we did not hear of). */
  private async contains(origin: string, ref: string, tip: string, commit: string): Promise<boolean> {
    await this.scratch.run(['fetch', '--quiet', '--no-tags', '--', origin, `+${ref}:refs/scratch/contains`], { allowFailure: true });
    const { code } = await this.scratch.run(['merge-base', '--is-ancestor', '--', commit, tip], { allowFailure: true });
    return code === 0;
  }
}

/** The merge commit's message: the batch in words, and in trailers that git alone can finish its requests from. */
function mergeMessage(command: Merge, heads: BranchHead[], onto: string): string {
  const short = (ref: string) => ref.replace(/^refs\/heads\//, '');
  const verb = command.kind === 'land' ? 'Land' : 'Try';
  const byRequest = new Map(command.steps.map((step) => [step.request, step.by]));
  return [
    `${verb} ${heads.map((h) => short(h.branch)).join(', ')} into ${short(command.target)} (${heads.map((h) => h.request).join(', ')})`,
    '',
    ...heads.flatMap((h) => [`Keel-Request: ${h.request}`, `Keel-Branch: ${h.branch} ${h.commit}`, `Keel-By: ${byRequest.get(h.request)}`]),
    `Keel-Kind: ${command.kind}`,
    `Keel-Target: ${command.target} ${onto}`,
    `Keel-Batch: ${command.batch}`,
    ...(command.squash ? ['Keel-Squash: yes'] : []),
    '',
  ].join('\n');
}
