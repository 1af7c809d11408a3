// Git notes for finished builds (--notes): each `finished` event becomes an
// entry of the notes queue (saved before the dispatcher hears of it), and a
// round — read origin's notes ref, merge each entry's part into its commit's
// note, push the ref back with a compare-and-swap — writes them out. A round
// that loses the race to another writer starts again from the new tip
// (soon, with jitter); a round that fails (origin away, or refusing) is
// tried again with backoff, logged once per outage. Nothing waits for it:
// builds, scans and commands go on whatever origin does with notes.

import { backoffDelay } from '../common/backoff.js';
import type { Log } from '../common/log.js';
import { mergeNote, type NoteInput, type NotesFormat } from './notes-format.js';
import { prepareNotesRepo, pushNotes, readNote, remoteTip, startFrom, writeNote, type NotesRepo } from './notes-git.js';
import { NotesQueue } from './notes-queue.js';

export interface NotesSettings {
  readonly repo: NotesRepo;
  readonly format: NotesFormat;
  /** The status page's address, for the link in each note; null for none. */
  readonly publicUrl: string | null;
  readonly queueFile: string;
}

const RACE_RETRY = { baseMs: 20, capMs: 2_000 };
const FAILURE_RETRY = { baseMs: 500, capMs: 60_000 };
/** Notes written in one round at most: a long backlog goes out in several pushes. */
const ROUND_SIZE = 100;

export class NotesWriter {
  private working: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private prepared = false;
  private failures = 0;
  private races = 0;
  private stopped = false;
  private reportedDrops = 0;

  private constructor(private readonly settings: NotesSettings, private readonly queue: NotesQueue, private readonly log: Log) {}

  /** Opens the saved queue; throws (naming the file) when it cannot be read. */
  static async open(settings: NotesSettings, log: Log): Promise<NotesWriter> {
    return new NotesWriter(settings, await NotesQueue.open(settings.queueFile), log);
  }

  /** Writes what the last run left, then what comes. */
  start(): void {
    if (this.queue.size > 0) this.log(`notes: ${this.queue.size} note(s) from the last run still to push`);
    this.kick();
  }

  /** Queues a build's note; resolves once the queue is on disk (then the dispatcher may forget the event). */
  async add(input: NoteInput): Promise<void> {
    if (!this.queue.add(input)) return;
    if (this.queue.dropped > this.reportedDrops) {
      this.log(`notes: the queue is full; ${this.queue.dropped - this.reportedDrops} of the oldest notes were dropped unpushed`);
      this.reportedDrops = this.queue.dropped;
    }
    await this.queue.save();
    this.kick();
  }

  get pending(): number {
    return this.queue.size;
  }

  /** Lets a round in progress end; what is not pushed stays in the queue file. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.working;
  }

  private kick(): void {
    if (this.stopped || this.timer !== null) return;
    if (this.working) {
      this.again = true;
      return;
    }
    this.working = this.rounds().finally(() => (this.working = null));
  }

  private async rounds(): Promise<void> {
    do {
      this.again = false;
      const wait = await this.round();
      if (wait !== null) {
        if (!this.stopped) this.timer = setTimeout(() => {
          this.timer = null;
          this.kick();
        }, wait);
        return;
      }
    } while (!this.stopped && (this.again || this.queue.size > 0));
  }

  /** One read-merge-push; resolves with how long to wait before the next, or null to go on at once. */
  private async round(): Promise<number | null> {
    const batch = this.queue.all().slice(0, ROUND_SIZE);
    if (batch.length === 0) return null;
    const { repo, format, publicUrl } = this.settings;
    try {
      if (!this.prepared) await prepareNotesRepo(repo);
      this.prepared = true;
      const tip = await remoteTip(repo);
      await startFrom(repo, tip);
      let changed = false;
      for (const input of batch) {
        const existing = await readNote(repo, input.build.commit);
        const text = mergeNote(format, existing, input, publicUrl);
        if (text === existing) continue;
        await writeNote(repo, input.build.commit, text);
        changed = true;
      }
      if (changed && await pushNotes(repo, tip) === 'raced') {
        this.races += 1;
        return backoffDelay(this.races - 1, RACE_RETRY);
      }
    } catch (error) {
      if (this.failures === 0) this.log(`notes: cannot push ${repo.ref} to ${repo.remote}: ${(error as Error).message}; trying again with backoff`);
      this.failures += 1;
      return backoffDelay(this.failures - 1, FAILURE_RETRY);
    }
    if (this.failures > 0) this.log(`notes: pushing ${repo.ref} to ${repo.remote} works again`);
    this.failures = 0;
    this.races = 0;
    for (const { build } of batch) this.log(`noted ${build.commit} (${build.subject.kind}, run ${build.run}): ${build.status} on ${repo.ref}`);
    this.queue.remove(batch);
    try {
      await this.queue.save();
    } catch (error) {
      // Pushed all the same; a restart would only write the same notes again.
      this.log(`notes: cannot save the notes queue ${this.settings.queueFile}: ${(error as Error).message}`);
    }
    return null;
  }
}
