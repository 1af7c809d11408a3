// Commits arriving from observers: each one's jobs are looked up (keel.json,
// read from the commit), then it is recorded, in arrival order; the lookups
// of the next few run meanwhile. "Already known" is only said of a commit
// whose record is durable: a repeat of one still on its way to disk waits
// for it, so an observer never forgets a commit a crash could still lose.

import type { Log } from '../common/log.js';
import type { BuildRecord, JobSpec, Subject } from '../protocol/records.js';
import type { JobDecisions } from './job-decisions.js';
import { buildKey, type BuildKey, type JournalRecord } from './records.js';

export interface NewCommit {
  commit: string;
  repo: string;
  ref: string;
  project: string | null;
  subject: Subject;
  supersede: boolean;
  /** Queued behind ordinary builds (a patch's retest). */
  background?: boolean;
}

export type JobsFound = { jobs: JobSpec[]; error: null; decisions?: JobDecisions } | { jobs: []; error: string };

export interface IntakeParts {
  builds: ReadonlyMap<BuildKey, BuildRecord>;
  /** Result files on disk: the build was finished by an earlier run. */
  hasResult(build: Pick<BuildRecord, 'project' | 'subject' | 'commit'>): boolean;
  /** A commit Keel tested before it reached a branch (a landed merge): its push is not built again. */
  isLanded(project: string | null, commit: string): boolean;
  /** The jobs a commit declares (keel.json), or why they cannot be known. */
  jobsFor(repo: string, commit: string): Promise<JobsFound>;
  /** What is decided about them before they are queued (`when`, secrets); absent: nothing. */
  decide?(input: NewCommit, jobs: JobSpec[]): Promise<JobDecisions | undefined>;
  /** Applies and journals a record; resolves once it is durable. */
  record(record: JournalRecord): Promise<void>;
  /** Called after each commit is recorded, so its jobs can be placed. */
  recorded(): void;
  log: Log;
}

/** How many commits' keel.json are looked up ahead of the one being recorded. */
const LOOKAHEAD = 128;

interface Arrival {
  input: NewCommit;
  key: BuildKey;
  lookup: Promise<JobsFound> | null;
  durable: Promise<void>;
  settle(durable: Promise<void>): void;
}

export class Intake {
  /** Commits being looked up, and recorded ones whose record is not durable yet. */
  private readonly pending = new Map<BuildKey, Promise<void>>();
  private readonly arriving: Arrival[] = [];
  private taking = false;

  constructor(private readonly parts: IntakeParts) {}

  /** Resolves true once a new commit is durable, false for one already known (and durable). */
  async add(input: NewCommit): Promise<boolean> {
    const key = buildKey(input.project, input.subject, input.commit);
    const pending = this.pending.get(key);
    if (pending) {
      await pending;
      return false;
    }
    if (this.parts.builds.has(key) || this.parts.hasResult(input)) return false;
    if (input.subject.kind === 'push' && this.parts.isLanded(input.project, input.commit)) return false;
    let settle!: (durable: Promise<void>) => void;
    const durable = new Promise<Promise<void>>((resolve) => (settle = resolve)).then((inner) => inner);
    this.pending.set(key, durable);
    void durable.finally(() => this.pending.delete(key)).catch(() => {});
    this.arriving.push({ input, key, lookup: null, durable, settle });
    void this.take();
    await durable;
    return true;
  }

  private async lookup(input: NewCommit): Promise<JobsFound> {
    const found = await this.parts.jobsFor(input.repo, input.commit);
    if (found.error !== null || !this.parts.decide) return found;
    try {
      const decisions = await this.parts.decide(input, found.jobs);
      return decisions ? { ...found, decisions } : found;
    } catch (error) {
      return { jobs: [], error: `could not decide which jobs run: ${(error as Error).message}` };
    }
  }

  private async take(): Promise<void> {
    if (this.taking) return;
    this.taking = true;
    try {
      while (this.arriving.length > 0) {
        for (const next of this.arriving.slice(0, LOOKAHEAD)) {
          next.lookup ??= this.lookup(next.input);
        }
        const head = this.arriving[0]!;
        let found: JobsFound;
        try {
          found = await head.lookup!;
        } catch (error) {
          found = { jobs: [], error: `could not read keel.json: ${(error as Error).message}` };
        }
        this.arriving.shift();
        const { input } = head;
        head.settle(this.parts.record({
          op: 'commit', commit: input.commit, repo: input.repo, ref: input.ref, project: input.project, subject: input.subject,
          supersede: input.supersede, jobs: found.jobs, error: found.error, at: new Date().toISOString(),
          ...(input.background ? { background: true } : {}),
          ...(found.error === null && found.decisions ? { decisions: found.decisions } : {}),
        }));
        this.parts.log(`queued ${head.key} (${input.ref}): ${found.error ?? `${found.jobs.length} job${found.jobs.length === 1 ? '' : 's'}`}`);
        this.parts.recorded();
      }
    } finally {
      this.taking = false;
    }
  }
}
