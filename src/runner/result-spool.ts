// Results the dispatcher has not yet acknowledged, one file each under
// <workdir>/results/<lease>.json, so a result survives both a dispatcher
// outage and a runner restart. A result is written before it is first sent
// and its file deleted when the dispatcher answers `recorded`, accepted or
// not: either way the dispatcher has decided and will not want it again.
// The job's artifacts wait beside it in <lease>.artifacts/, copied there
// before the result is written, and go with it.

import { mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import type { Log } from '../common/log.js';
import { decode, LEASE } from '../protocol/codec.js';
import type { Result } from '../protocol/messages.js';

const SUFFIX = '.json';
const ARTIFACTS = '.artifacts';

/** The protocol's lease rule, checked again here because a lease becomes a file name. */
export function isLease(value: string): boolean {
  return LEASE.test(value);
}

export class ResultSpool {
  readonly dir: string;
  private readonly results = new Map<string, Result>();
  /** The file operation last started for each lease, so a delete never overtakes its write. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly emptied = new Set<() => void>();

  constructor(workdir: string, private readonly log: Log) {
    this.dir = join(workdir, 'results');
  }

  get size(): number {
    return this.results.size;
  }

  leases(): string[] {
    return [...this.results.keys()];
  }

  values(): Result[] {
    return [...this.results.values()];
  }

  /** Where the artifacts of the attempt holding `lease` wait with its result. */
  artifactsDir(lease: string): string {
    if (!isLease(lease)) throw new Error(`refusing an artifacts folder for lease ${JSON.stringify(lease)}: not a lease id`);
    return join(this.dir, `${lease}${ARTIFACTS}`);
  }

  /**
   * Reads what an earlier run left behind. A file that cannot be read or is
   * not a valid result for the lease in its name is logged and skipped (left
   * in place for a human to look at), never fatal.
   */
  async load(): Promise<Result[]> {
    await mkdir(this.dir, { recursive: true });
    const loaded: Result[] = [];
    const names = (await readdir(this.dir)).sort();
    for (const name of names) {
      // Leftovers of a write cut short by a crash; the result itself was never spooled.
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        await unlink(join(this.dir, name)).catch(() => {});
        continue;
      }
      if (name.endsWith(ARTIFACTS)) {
        // Artifacts whose result was never written (a crash in between) will never be sent.
        if (!names.includes(`${name.slice(0, -ARTIFACTS.length)}${SUFFIX}`)) await rm(join(this.dir, name), { recursive: true, force: true });
        continue;
      }
      const result = await this.read(name);
      if (result === null) continue;
      this.results.set(result.lease, result);
      loaded.push(result);
    }
    return loaded;
  }

  /** Keeps `result` on disk and in memory; resolves once the file is written (or writing failed and was logged). */
  async add(result: Result): Promise<void> {
    if (!isLease(result.lease)) throw new Error(`refusing to spool a result for lease ${JSON.stringify(result.lease)}: not a lease id`);
    await this.queue(result.lease, async () => {
      try {
        await writeFileAtomic(this.path(result.lease), JSON.stringify(result));
      } catch (error) {
        // Still held in memory and still sent; only a restart would lose it.
        this.log(`cannot spool the result of lease ${result.lease}: ${(error as Error).message}`);
      }
    });
    // Held only once written, so a reconnect meanwhile does not send it twice (the caller sends it next).
    this.results.set(result.lease, result);
  }

  /** Forgets the result for `lease` and deletes its file; a lease not held is a no-op. */
  async remove(lease: string): Promise<void> {
    if (!isLease(lease) || !this.results.delete(lease)) return;
    if (this.results.size === 0) for (const wake of this.emptied) wake();
    await this.queue(lease, async () => {
      try {
        await unlink(this.path(lease));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.log(`cannot delete spooled result ${this.path(lease)}: ${(error as Error).message}`);
        }
      }
      await rm(this.artifactsDir(lease), { recursive: true, force: true }).catch((error: Error) => {
        this.log(`cannot delete the spooled artifacts of lease ${lease}: ${error.message}`);
      });
    });
  }

  /** Resolves true once nothing is held, or false after `timeoutMs`. */
  whenEmpty(timeoutMs: number): Promise<boolean> {
    if (this.results.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (empty: boolean) => {
        clearTimeout(timer);
        this.emptied.delete(wake);
        resolve(empty);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.emptied.add(wake);
    });
  }

  /** Waits for every file write and delete started so far. */
  async settled(): Promise<void> {
    await Promise.all(this.pending.values());
  }

  private path(lease: string): string {
    return join(this.dir, `${lease}${SUFFIX}`);
  }

  private queue(lease: string, work: () => Promise<void>): Promise<void> {
    const next = (this.pending.get(lease) ?? Promise.resolve()).then(work);
    this.pending.set(lease, next);
    void next.then(() => {
      if (this.pending.get(lease) === next) this.pending.delete(lease);
    });
    return next;
  }

  private async read(name: string): Promise<Result | null> {
    const path = join(this.dir, name);
    const lease = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : '';
    const skip = (why: string) => {
      this.log(`skipping spooled result ${path}: ${why}`);
      return null;
    };
    if (!isLease(lease)) return skip(`not named <lease>${SUFFIX}`);
    let message;
    try {
      // The codec checks every field, exactly as the dispatcher will.
      message = decode(await readFile(path));
    } catch (error) {
      return skip((error as Error).message);
    }
    if (message.type !== 'result') return skip(`holds a ${message.type} message, not a result`);
    if (message.lease !== lease) return skip(`holds the result of lease ${message.lease}`);
    return message;
  }
}
