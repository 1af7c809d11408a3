// An entry point for entry.test.ts: started through runAsEntry, it does what
// its one argument says, so each way an entry point can fail is seen from
// outside, as a user would see it.
import { setTimeout as sleep } from 'node:timers/promises';
import { runAsEntry } from '../../src/common/entry.js';
import { ConfigError } from '../../src/common/errors.js';

const BEHAVIOURS: Record<string, () => Promise<number | void>> = {
  /** A failure of start-up itself, its message over two lines. */
  'start-fails': async () => {
    throw new Error('cannot listen\n  on port 1');
  },
  'bad-flag': async () => {
    throw new ConfigError('--slots must be a whole number, got "x"');
  },
  /** A throw from a callback while start-up is still under way. */
  'throws-while-starting': async () => {
    setImmediate(() => {
      throw new Error('socket blew up');
    });
    await sleep(60_000);
  },
  /** Started, and later a throw nobody catches; an interval keeps the process up until then. */
  crash: async () => {
    const keepAlive = setInterval(() => {}, 1000);
    setTimeout(() => {
      clearInterval(keepAlive);
      throw new TypeError('cannot read x of undefined');
    }, 10);
  },
  /** Started, and later a promise nobody awaits rejects. */
  'rejects-later': async () => {
    setTimeout(() => void Promise.reject(new Error('write failed')), 10);
  },
  /** A command that is done, with its answer as exit code. */
  answers: async () => 3,
};

runAsEntry(import.meta.url, async ([behaviour]) => BEHAVIOURS[behaviour!]!());
