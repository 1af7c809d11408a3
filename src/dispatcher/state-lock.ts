// One dispatcher per state folder: STATE/dispatcher.lock names the process
// that holds it (pid, host, the boot and the process's start time). A second
// dispatcher on the same folder would append to the same journal and compact
// it under the first one's feet (a demo beside a real dispatcher once cut a
// journal from 2,466 lines to 8), so it refuses to start, naming the holder.
// A lock whose process is gone — it crashed, the machine rebooted, or its pid
// now belongs to another process — is stale and taken over. Two dispatchers
// taking over the same stale lock in the same instant could both win; that
// is not guarded against.

import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, KeelError } from '../protocol/error-codes.js';

export const LOCK_FILE = 'dispatcher.lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id, where there is one: a reboot makes every lock stale. */
  boot: string | null;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), to tell a reused pid. */
  start: string | null;
  since: string;
}

export class StateLockedError extends KeelError {
  override readonly name = 'StateLockedError';

  constructor(message: string) {
    super(ErrorCode.stateLocked, message);
  }
}

/** Lock files this process holds, so a second dispatcher in the same process is refused too. */
const heldHere = new Set<string>();

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function startTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  // Field 22, counted after the command name, which may hold spaces and parentheses.
  return stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

export function currentHolder(now: Date): LockHolder {
  return { pid: process.pid, host: hostname(), boot: readText('/proc/sys/kernel/random/boot_id'), start: startTime(process.pid), since: now.toISOString() };
}

function parseHolder(text: string | null): LockHolder | null {
  try {
    const value = JSON.parse(text ?? '') as LockHolder;
    return Number.isInteger(value.pid) && typeof value.host === 'string' ? value : null;
  } catch {
    return null;
  }
}

/** Whether the process a lock names still runs. Another host's lock cannot be checked, so it counts as live. */
export function isLive(holder: LockHolder, path: string): boolean {
  if (holder.host !== hostname()) return true;
  const me = currentHolder(new Date());
  if (holder.boot !== null && me.boot !== null && holder.boot !== me.boot) return false;
  if (holder.pid === process.pid) return heldHere.has(path);
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it runs, as another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = startTime(holder.pid);
  return holder.start === null || start === null || start === holder.start;
}

export interface StateLock {
  /** What a stale lock taken over said (null: it could not be read); undefined when there was none. */
  tookOver: LockHolder | null | undefined;
  /** Removes the lock file (if it is still this process's). */
  release(): void;
}

/** Takes the state folder's lock, or throws StateLockedError naming who holds it. */
export function lockState(stateDir: string): StateLock {
  const path = join(stateDir, LOCK_FILE);
  const mine = JSON.stringify(currentHolder(new Date()));
  let tookOver: LockHolder | null | undefined;
  for (;;) {
    try {
      writeFileSync(path, `${mine}\n`, { flag: 'wx', mode: 0o644 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = parseHolder(readText(path));
    if (holder !== null && isLive(holder, path)) {
      const where = holder.host === hostname() ? '' : ` on ${holder.host}`;
      throw new StateLockedError(`${stateDir} is in use by another dispatcher (pid ${holder.pid}${where}, since ${holder.since}); stop it, or give this one its own --state (if that dispatcher is gone, remove ${path})`);
    }
    tookOver = holder;
    unlinkSync(path);
  }
  heldHere.add(path);
  return {
    tookOver,
    release() {
      if (!heldHere.delete(path)) return;
      if (readText(path) === mine) unlinkSync(path);
    },
  };
}
