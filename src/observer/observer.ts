// The observer's loop: every interval (or on scanNow), fetch, find the new
// commits, add them to the pending list and advance the cursor, persist, and
// only then send. A `queued` removes a commit from the pending list. Because
// the file is written before anything is sent, a restart at any moment
// neither loses a commit nor resends one the dispatcher has acknowledged.

import { join } from 'node:path';
import type { Log } from '../common/log.js';
import type { Finished, ObserverCommand, Queued } from '../protocol/messages.js';
import { runCommand, type CommandReply, type Workers } from './commands.js';
import { GitWork, type GitWorkSettings } from './git-work.js';
import { LandWork } from './land-work.js';
import type { PatchReader } from './link.js';
import { PatchWork } from './patch-work.js';
import { ScratchRepo } from './scratch-repo.js';
import { isCommitId, isRefName } from '../protocol/validate.js';
import type { ObserverConfig } from './config.js';
import { writeCursor, type Cursor, type PendingCommit } from './cursor.js';
import { fetchOrigin, listNewCommits, readBranchHeads, type BranchHeads, type RepoView } from './git-refs.js';
import type { DispatcherLink, LinkSource } from './link.js';
import type { NotesWriter } from './notes.js';
import { findNewCommits, MAX_COMMITS_PER_BRANCH } from './scan.js';

type Failure = 'fetch' | 'origin' | 'scan' | 'save';

export type ObserverSettings = Pick<ObserverConfig, 'clone' | 'hasOrigin' | 'originGitDir' | 'branches' | 'intervalMs' | 'cursorFile' | 'git'> & GitWorkSettings;

export class Observer implements LinkSource {
  private readonly cursor: Cursor;
  private firstRun: boolean;
  private link: DispatcherLink | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private saving: Promise<void> | null = null;
  private dirty = false;
  /**
   * Pending commits whose write to the cursor file has been done, the only
   * ones the link may send: the link can connect mid-scan, and a commit sent
   * before it is on disk could be acknowledged and then found again.
   */
  private readonly released = new Set<string>();
  /** The last failure of each kind, so a lasting problem is logged once. */
  private readonly lastFailure = new Map<Failure, string>();
  private readonly rejectedRefs = new Set<string>();

  private readonly workers: Workers;

  constructor(
    private readonly settings: ObserverSettings,
    saved: Cursor | null,
    private readonly log: Log,
    /** Writes git notes of finished builds (--notes); null without. */
    private readonly notes: NotesWriter | null = null,
  ) {
    const scratch = new ScratchRepo(settings);
    this.workers = {
      work: new GitWork(settings),
      land: new LandWork(scratch, join(settings.scratchDir, 'merges')),
      patches: new PatchWork(scratch, join(settings.scratchDir, 'patches')),
    };
    this.firstRun = saved === null;
    this.cursor = saved ?? { branches: new Map(), pending: [] };
    for (const { commit } of this.cursor.pending) this.released.add(commit);
  }

  /** Connects the link (which reads pending commits from here) and starts polling. */
  start(link: DispatcherLink): void {
    this.link = link;
    link.start();
    this.notes?.start();
    void this.scanNow();
  }

  pending(): readonly PendingCommit[] {
    return this.cursor.pending.filter(({ commit }) => this.released.has(commit));
  }

  acknowledged(queued: Queued): void {
    const index = this.cursor.pending.findIndex((entry) => entry.commit === queued.commit);
    if (index === -1) return;
    this.cursor.pending.splice(index, 1);
    this.released.delete(queued.commit);
    this.log(`dispatcher queued ${queued.commit}${queued.duplicate ? ' (already known)' : ''}`);
    void this.save();
  }

  command(command: ObserverCommand, read: PatchReader): Promise<CommandReply> {
    return runCommand(this.workers, command, read);
  }

  async finished({ build, jobs }: Omit<Finished, 'type'>): Promise<void> {
    this.log(`build of ${build.commit} (${build.ref}) ${build.status}${build.note ? `: ${build.note}` : ''}`);
    await this.notes?.add({ build, jobs });
  }

  /**
   * Scans now rather than at the next tick (the hook for push notifications).
   * Scans never overlap: during one, another is run right after it.
   */
  scanNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.scanWhileAsked().finally(() => {
      this.running = null;
      if (!this.stopped) this.timer = setTimeout(() => void this.scanNow(), this.settings.intervalMs);
    });
    return this.running;
  }

  /** Stops polling, lets a running scan (and a round of notes) finish, writes the cursor, closes the link. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.save();
    await this.link?.stop();
    await this.notes?.stop();
  }

  private async scanWhileAsked(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.scanOnce();
        this.recovered('scan', 'scanning works again');
      } catch (error) {
        this.failed('scan', `scan failed: ${(error as Error).message}`);
      }
    } while (this.again && !this.stopped);
  }

  private async scanOnce(): Promise<void> {
    const { clone, branches } = this.settings;
    const { view, heads, rejected } = await this.readHeads();
    for (const ref of rejected) {
      if (!this.rejectedRefs.has(ref)) this.log(`ignoring ref ${JSON.stringify(ref)}: not a valid branch`);
      this.rejectedRefs.add(ref);
    }
    if (branches) {
      for (const branch of heads.keys()) if (!branches.includes(branch)) heads.delete(branch);
    }

    const result = await findNewCommits({
      previous: this.firstRun ? null : this.cursor.branches,
      heads,
      list: (head, exclude, limit) => listNewCommits(this.settings.git, view.clone, head, exclude, limit),
    });
    for (const branch of result.capped) this.log(`branch ${branch} has more than ${MAX_COMMITS_PER_BRANCH} new commits; reporting only the newest ${MAX_COMMITS_PER_BRANCH}`);
    for (const { branch, head, skipped, more } of result.fresh) {
      if (skipped === 0) continue;
      this.log(`branch ${branch} is new: reporting only its head ${head}, not the ${skipped}${more ? '+' : ''} commit(s) before it (a new branch's history is not built; every commit it gains from now on is)`);
    }
    for (const branch of result.deleted) this.log(`branch ${branch} is gone; forgetting its cursor`);

    let changed = this.firstRun || !sameBranches(this.cursor.branches, result.branches);
    for (const { commit, branch } of result.found) {
      const ref = `refs/heads/${branch}`;
      if (!isCommitId(commit) || !isRefName(ref)) continue;
      if (this.cursor.pending.some((entry) => entry.commit === commit)) continue;
      this.log(`new commit ${commit} on ${branch}`);
      this.cursor.pending.push({ commit, ref });
      changed = true;
    }
    this.cursor.branches = result.branches;
    this.firstRun = false;
    if (changed) await this.save();
    this.link?.flush();
    if (view.clone !== clone) await this.fetch();
  }

  /**
   * The branch heads, and the repository to list commits in. A local origin
   * is read in place: its refs and commits are right there, and fetching
   * first (some 25 ms of git processes) would only delay the report; the
   * clone is fetched after it. Otherwise, or when origin cannot be read,
   * the clone is fetched and read.
   */
  private async readHeads(): Promise<BranchHeads & { view: RepoView }> {
    const { clone, hasOrigin, originGitDir } = this.settings;
    if (originGitDir !== null) {
      const view = { clone: originGitDir, hasOrigin: false };
      try {
        const found = await readBranchHeads(this.settings.git, view);
        this.recovered('origin', `reading origin ${originGitDir} works again`);
        return { view, ...found };
      } catch (error) {
        this.failed('origin', `cannot read origin ${originGitDir} in place, using the clone: ${(error as Error).message}`);
      }
    }
    if (hasOrigin) await this.fetch();
    const view = { clone, hasOrigin };
    return { view, ...(await readBranchHeads(this.settings.git, view)) };
  }

  private async fetch(): Promise<void> {
    try {
      await fetchOrigin(this.settings.git, this.settings.clone);
      this.recovered('fetch', 'fetch from origin works again');
    } catch (error) {
      // Not fatal: origin's last known refs are still worth scanning.
      this.failed('fetch', `fetch from origin failed: ${(error as Error).message}`);
    }
  }

  /** Writes the cursor; calls during a write are folded into one more write after it. */
  private save(): Promise<void> {
    this.dirty = true;
    this.saving ??= this.writeWhileDirty();
    return this.saving;
  }

  private async writeWhileDirty(): Promise<void> {
    // `saving` is cleared in the same step as the last look at `dirty`, so no
    // save() can slip in between and be left unwritten.
    try {
      while (this.dirty) {
        this.dirty = false;
        const written = this.cursor.pending.map(({ commit }) => commit);
        try {
          await writeCursor(this.settings.cursorFile, this.cursor);
          this.recovered('save', 'cursor file written again');
        } catch (error) {
          // Sent all the same: the worst a restart can then do is find them
          // again, and the dispatcher drops repeats; holding them could stall forever.
          this.failed('save', `cannot write cursor file ${this.settings.cursorFile}: ${(error as Error).message}`);
        }
        const stillPending = new Set(this.cursor.pending.map(({ commit }) => commit));
        for (const commit of written) if (stillPending.has(commit)) this.released.add(commit);
      }
    } finally {
      this.saving = null;
    }
  }

  private failed(kind: Failure, message: string): void {
    if (this.lastFailure.get(kind) !== message) this.log(message);
    this.lastFailure.set(kind, message);
  }

  private recovered(kind: Failure, message: string): void {
    if (this.lastFailure.delete(kind)) this.log(message);
  }
}

function sameBranches(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [branch, sha] of a) if (b.get(branch) !== sha) return false;
  return true;
}
