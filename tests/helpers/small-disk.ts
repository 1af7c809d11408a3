// A real full disk for tests: a size-limited tmpfs mounted on a folder (root
// only), a filler file that takes every byte left, and freeing it again.
// Unmounted lazily when the test ends, so a process still inside it does
// not keep the mount busy.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stopAtEnd } from './temp.js';

export interface SmallDisk {
  /** Writes a filler until the disk refuses a byte more. */
  fill(): void;
  /** Removes the filler: the space is back. */
  free(): void;
}

/** Why a small disk cannot be made here, or null when it can. */
export function smallDiskUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  return null;
}

export function mountSmallDisk(t: TestContext, folder: string, size: string): SmallDisk {
  mkdirSync(folder, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', folder]);
  stopAtEnd(t, () => execFileSync('umount', ['-l', folder]));
  const filler = join(folder, '.filler');
  return {
    fill() {
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(64 * 1024, 0x78);
      try {
        for (;;) writeSync(fd, block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
      // The last few bytes a full block did not fit.
      try {
        for (;;) writeSync(fd, block, 0, 512);
      } catch {
        // full
      } finally {
        closeSync(fd);
      }
    },
    free() {
      unlinkSync(filler);
    },
  };
}
