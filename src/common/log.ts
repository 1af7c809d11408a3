import { debuglog } from 'node:util';

/** Wire tracing, enabled with NODE_DEBUG=keel. */
export const trace = debuglog('keel');

export type Log = (message: string) => void;

/** One line per event on stderr: `[time] [role] message`. */
export function createLog(role: string): Log {
  return (message) => {
    process.stderr.write(`[${new Date().toISOString()}] [${role}] ${message}\n`);
  };
}
