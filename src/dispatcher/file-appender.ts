// Appends to a file in order, one write at a time: what arrives while a
// write is out goes in the next one. Lighter than a WriteStream, which a
// dispatcher finishing a thousand builds a second opened and closed for every
// job's log.
//
// A file that cannot be opened or written (a full disk) keeps what it is
// given and tries again with backoff, so the bytes land once space returns.
// What it keeps while the disk refuses is bounded (per file, and for all
// files together through a shared budget); past that the oldest bytes are
// dropped, the ranges lost are counted, and a note is written into the file
// where they were. A disk that is only slow loses nothing: bytes wait for
// it, as they always did.
//
// Followers of a live log (the status page, `keel logs --follow`) read what
// is already in the file and take the rest as it is appended; `whenFlushed`
// tells them when bytes up to a position have reached the file, and
// `whenOpen` where in the file this appender's first byte lands.

import { backoffDelay } from '../common/backoff.js';
import { closeFile, openFile, statFd, writeSome } from '../common/fs-calls.js';

const RETRY = { baseMs: 100, capMs: 2_000 };

/** Bytes held in memory by every appender of a dispatcher, waiting for a disk that refuses them. */
export class HeldBytes {
  used = 0;

  constructor(readonly limit: number, readonly perFile: number) {}
}

/** Output bytes `from`..`to` (positions in what was appended) that never reached the file. */
export interface LostRange {
  from: number;
  to: number;
  why: string;
}

interface Chunk {
  data: Buffer;
  /** Its position in everything appended. */
  at: number;
}

export class FileAppender {
  private fd: number | null = null;
  private waiting: Chunk[] = [];
  private waitingBytes = 0;
  private appended = 0;
  private writing = false;
  /** Chunks at the head of `waiting` that the write in progress carries. */
  private inFlight = 0;
  private failure: Error | null = null;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Set by stop(): the dispatcher is going away, and tries no more. */
  private stopped = false;
  private readonly idle: Array<() => void> = [];
  private opened: Promise<void> | null = null;
  readonly lost: LostRange[] = [];
  /** Whether the file was there before (known once it is open). */
  existed = false;
  /** The file's size when this appender opened it (0 for a new file); null until it is open. */
  private startSize: number | null = null;
  private readonly openWaiters: Array<(size: number) => void> = [];
  private readonly flushWaiters: Array<{ position: number; resolve: () => void }> = [];

  constructor(private readonly path: string, private readonly budget: HeldBytes) {
    this.open();
  }

  /** Bytes appended so far. */
  get size(): number {
    return this.appended;
  }

  /** Everything before this position has reached the file (or was dropped, see `lost`). */
  get flushedTo(): number {
    return this.waiting.length > 0 ? this.waiting[0]!.at : this.appended;
  }

  /** Resolves once the bytes before `position` are in the file (or were dropped past the budget). */
  whenFlushed(position: number): Promise<void> {
    if (this.flushedTo >= position) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ position, resolve }));
  }

  /** Resolves with the file's size when this appender opened it: its first byte's offset in the file. */
  whenOpen(): Promise<number> {
    if (this.startSize !== null) return Promise.resolve(this.startSize);
    return new Promise((resolve) => this.openWaiters.push(resolve));
  }

  append(data: Buffer): void {
    if (data.length === 0) return;
    this.waiting.push({ data, at: this.appended });
    this.appended += data.length;
    this.waitingBytes += data.length;
    this.budget.used += data.length;
    this.dropPastBudget();
    this.flush();
  }

  /** Writes what is waiting and closes the file; rejects (keeping everything) while the disk refuses it. */
  async close(): Promise<void> {
    await this.opened;
    await new Promise<void>((resolve) => {
      this.idle.push(resolve);
      this.flush();
    });
    if (this.failure !== null) throw this.failure;
    if (this.fd !== null) await closeFile(this.fd).catch(() => {});
    this.fd = null;
  }

  private open(): void {
    // Exclusive first, so whether the file is new is known without a stat.
    this.opened = openFile(this.path, 'ax', 0o644)
      .catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
        this.existed = true;
        return openFile(this.path, 'a');
      })
      .then(async (fd) => {
        // Only a continued file (a restart, a retry) costs a stat: a new one starts at 0.
        const size = this.existed ? (await statFd(fd)).size : 0;
        this.fd = fd;
        this.recovered();
        this.learnStart(size);
      }, (error: Error) => this.failed(error))
      .finally(() => {
        this.opened = null;
        this.flush();
      });
  }

  /** Gives up retrying a disk that refuses: what is still waiting stays unwritten (the dispatcher is stopping). */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.wakeIdle();
  }

  private flush(): void {
    if (this.stopped) return this.wakeIdle();
    if (this.writing || this.opened !== null || this.retryTimer !== null) return;
    if (this.fd === null) return this.open();
    if (this.waiting.length === 0) return this.wakeIdle();
    this.inFlight = this.waiting.length;
    const data = this.inFlight === 1 ? this.waiting[0]!.data : Buffer.concat(this.waiting.map((chunk) => chunk.data));
    this.writing = true;
    let written = 0;
    const fd = this.fd;
    const writeRest = async (): Promise<void> => {
      while (written < data.length) written += (await writeSome(fd, data, written, data.length - written, null)).bytesWritten;
    };
    writeRest()
      .then(() => this.recovered(), (error: Error) => this.failed(error))
      .finally(() => {
        // What reached the file leaves the queue, even from a write cut short; the rest is tried again.
        this.settle(written);
        this.writing = false;
        this.inFlight = 0;
        this.flush();
      });
  }

  /** Removes the first `bytes` waiting bytes, which are in the file now. */
  private settle(bytes: number): void {
    this.release(bytes);
    let left = bytes;
    while (left > 0) {
      const head = this.waiting[0]!;
      if (head.data.length <= left) {
        left -= head.data.length;
        this.waiting.shift();
      } else {
        this.waiting[0] = { data: head.data.subarray(left), at: head.at + left };
        left = 0;
      }
    }
    this.wakeFlushed();
  }

  private learnStart(size: number): void {
    if (this.startSize !== null) return;
    this.startSize = size;
    for (const resolve of this.openWaiters.splice(0)) resolve(size);
  }

  private wakeFlushed(): void {
    if (this.flushWaiters.length === 0) return;
    const flushed = this.flushedTo;
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const waiter = this.flushWaiters[i]!;
      if (waiter.position > flushed) continue;
      this.flushWaiters.splice(i, 1);
      waiter.resolve();
    }
  }

  private failed(error: Error): void {
    this.failure = error;
    const delay = backoffDelay(this.failures, RETRY);
    this.failures += 1;
    if (this.stopped) return this.wakeIdle();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.flush();
    }, delay);
    // A close waiting for the disk learns now that it refuses; it tries again later.
    this.wakeIdle();
  }

  private recovered(): void {
    this.failure = null;
    this.failures = 0;
  }

  private release(bytes: number): void {
    this.waitingBytes -= bytes;
    this.budget.used -= bytes;
  }

  /** While the disk refuses, drops the oldest waiting bytes past the budget, keeping count of the ranges lost. */
  private dropPastBudget(): void {
    if (this.failure === null) return;
    // Chunks being written stay: they may be half on disk already. The newest stays too.
    while (this.waiting.length - this.inFlight > 1 && (this.waitingBytes > this.budget.perFile || this.budget.used > this.budget.limit)) {
      const [oldest] = this.waiting.splice(this.inFlight, 1);
      this.release(oldest!.data.length);
      const why = this.failure.message;
      const last = this.lost.at(-1);
      if (last && last.to === oldest!.at) last.to += oldest!.data.length;
      else this.lost.push({ from: oldest!.at, to: oldest!.at + oldest!.data.length, why });
    }
    this.wakeFlushed();
  }

  private wakeIdle(): void {
    for (const resolve of this.idle.splice(0)) resolve();
  }
}
