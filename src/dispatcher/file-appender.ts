// Appends to a file in order, one write at a time: what arrives while a
// write is out goes in the next one. Lighter than a WriteStream, which a
// dispatcher finishing a thousand builds a second opened and closed for every
// job's log. A file that cannot be opened or written (disk full) drops
// what it is given: the caller's report still carries the outcome.

import { closeFile, openFile, writeAll } from '../common/fs-calls.js';

export class FileAppender {
  private fd: number | null = null;
  private broken = false;
  private waiting: Buffer[] = [];
  private writing = false;
  private readonly idle: Array<() => void> = [];
  private readonly opened: Promise<void>;
  /** Whether the file was there before (known once it is open). */
  existed = false;

  constructor(path: string) {
    // Exclusive first, so whether the file is new is known without a stat.
    this.opened = openFile(path, 'ax', 0o644)
      .catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
        this.existed = true;
        return openFile(path, 'a');
      })
      .then((fd) => {
        this.fd = fd;
      }, () => {
        this.broken = true;
      })
      .finally(() => this.flush());
  }

  append(data: Buffer): void {
    this.waiting.push(data);
    this.flush();
  }

  /** Writes what is waiting, then closes the file. */
  async close(): Promise<void> {
    await this.opened;
    await new Promise<void>((resolve) => {
      this.idle.push(resolve);
      this.flush();
    });
    if (this.fd !== null) await closeFile(this.fd).catch(() => {});
    this.fd = null;
  }

  private flush(): void {
    if (this.writing || (this.fd === null && !this.broken)) return;
    if (this.broken || this.waiting.length === 0) {
      this.waiting = [];
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    const data = this.waiting.length === 1 ? this.waiting[0]! : Buffer.concat(this.waiting);
    this.waiting = [];
    this.writing = true;
    writeAll(this.fd!, data)
      .catch(() => {
        this.broken = true;
      })
      .finally(() => {
        this.writing = false;
        this.flush();
      });
  }
}
