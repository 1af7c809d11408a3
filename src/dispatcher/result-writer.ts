// Writes each finished build's result files, a few builds at a time, in the
// order builds finish, and retries with backoff what cannot be written (disk
// full, permissions): the build stays in the journal and `keel status` lists
// it meanwhile. A build retried before its files were written is not written
// for its old run: its new run writes its own.
//
// A few at a time, because creating files in one folder from many threads at
// once only makes them wait on the folder's lock (measured: a fifth of the
// dispatcher's CPU spent spinning on it when every finished build wrote at
// once), and the journal no longer shares the threadpool with a burst.

import { backoffDelay } from '../common/backoff.js';
import type { Log } from '../common/log.js';
import { Slots } from '../common/slots.js';
import type { BuildRecord } from '../protocol/records.js';
import { keyOf } from './records.js';
import type { ResultStore } from './result-store.js';

const WRITE_RETRY = { baseMs: 500, capMs: 5_000 };
/** The libuv threadpool has four threads. */
const RESULT_WRITERS = 4;

export interface WriterParts {
  results: ResultStore;
  log: Log;
  /** The build's current run, or null when it is gone (written, or never known). */
  currentRun(build: BuildRecord): number | null;
  /** The files of run `run` are on disk; resolves once that is journaled. */
  written(build: BuildRecord, run: number): Promise<void>;
}

export class ResultWriter {
  private readonly slots = new Slots(RESULT_WRITERS);
  private readonly writing = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closing = false;

  constructor(private readonly parts: WriterParts) {}

  write(build: BuildRecord, failures = 0): void {
    // Stopping: the build is in the journal, and the next start writes it.
    if (this.closing) return;
    const { results, log } = this.parts;
    const run = build.run;
    const stillCurrent = () => this.parts.currentRun(build) === run;
    const attempt = this.slots
      .run(async () => {
        if (!stillCurrent()) return false;
        await results.writeResult(build);
        return true;
      })
      .then(async (wrote) => {
        if (!wrote) return;
        log(`wrote ${results.describe(build)}`);
        await this.parts.written(build, run);
      })
      .catch((error: Error) => {
        if (this.closing || !stillCurrent()) return;
        const delay = backoffDelay(failures, WRITE_RETRY);
        log(`could not write the result of ${keyOf(build)}: ${error.message}; retrying in ${delay} ms`);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.write(build, failures + 1);
        }, delay);
        this.timers.add(timer);
      })
      .finally(() => this.writing.delete(attempt));
    this.writing.add(attempt);
  }

  /** Stops retrying and waits for the writes in progress. */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all(this.writing);
  }
}
