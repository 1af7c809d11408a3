// The notes the observer has yet to push, kept in a file under --state so a
// restart (or an origin that refuses for a while) loses none: written whole
// and atomically before the dispatcher is told `heard`, and again after each
// push. One entry per commit and subject; a later run replaces an earlier.
//
//   { "version": 1, "notes": [ { "build": BuildSummary, "jobs": [JobSummary] }, … ] }

import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { int, list, object } from '../protocol/fields.js';
import { LIMITS } from '../protocol/limits.js';
import { buildSummary, jobSummary } from '../protocol/record-fields.js';
import { agentOf, type NoteInput } from './notes-format.js';

const QUEUE_VERSION = 1;

/** Which note an entry is: one per commit and subject. */
export const noteKey = ({ build }: NoteInput) => `${build.commit} ${agentOf(build.subject)}`;

export class NotesQueue {
  private readonly entries = new Map<string, NoteInput>();
  /** Entries dropped past LIMITS.pendingNotes, since start. */
  dropped = 0;
  /** Saves run one after the other, each writing the queue as it is when it starts. */
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  /** The queue saved in `file`; an unreadable or damaged file is named in the error. */
  static async open(file: string): Promise<NotesQueue> {
    const queue = new NotesQueue(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return queue;
      throw new Error(`cannot read the notes queue ${file}: ${(error as Error).message}`);
    }
    try {
      const data = object({ file: JSON.parse(text) as unknown }, 'file');
      int(data, 'version', QUEUE_VERSION, QUEUE_VERSION);
      for (const entry of list(data, 'notes', LIMITS.pendingNotes, (o, f) => {
        const e = object(o, f);
        return { build: buildSummary(e, 'build'), jobs: list(e, 'jobs', LIMITS.jobsPerBuild, jobSummary) };
      })) queue.entries.set(noteKey(entry), entry);
    } catch (error) {
      throw new Error(`the notes queue ${file} is damaged (${(error as Error).message}); move it away to drop the notes it holds`);
    }
    return queue;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Oldest first. */
  all(): NoteInput[] {
    return [...this.entries.values()];
  }

  /** Adds a note; false when the queue has it already, or a later run of it. */
  add(input: NoteInput): boolean {
    const key = noteKey(input);
    const held = this.entries.get(key);
    if (held && held.build.run >= input.build.run) return false;
    this.entries.delete(key);
    this.entries.set(key, input);
    if (this.entries.size > LIMITS.pendingNotes) {
      this.entries.delete(this.entries.keys().next().value as string);
      this.dropped += 1;
    }
    return true;
  }

  /** Removes the entries pushed, unless a later run came meanwhile. */
  remove(pushed: readonly NoteInput[]): void {
    for (const input of pushed) {
      const key = noteKey(input);
      if (this.entries.get(key) === input) this.entries.delete(key);
    }
  }

  /** Resolves once the queue as it is now (or later) is on disk. */
  save(): Promise<void> {
    const write = this.saving.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, `${JSON.stringify({ version: QUEUE_VERSION, notes: this.all() })}\n`);
    });
    this.saving = write.catch(() => {});
    return write;
  }
}
