import { debuglog } from 'node:util';

/** Wire tracing, enabled with NODE_DEBUG=keel. */
export const trace = debuglog('keel');

export type Log = (message: string) => void;

/**
 * One line per event on stderr: `[time] [role] message`. A busy dispatcher
 * logs thousands of lines a second and stderr on a pipe is written
 * synchronously, so the lines of one turn of the event loop go out in one
 * write; whatever is still waiting when the process exits is written then.
 * A reader of stderr that goes away (the shell or the start command that
 * launched a runner, gone) costs the lines, not the process: EPIPE is
 * ignored.
 */
export function createLog(role: string): Log {
  process.stderr.on('error', () => {});
  let waiting: string[] = [];
  const flush = () => {
    if (waiting.length === 0) return;
    const text = waiting.join('');
    waiting = [];
    process.stderr.write(text);
  };
  process.once('exit', flush);
  return (message) => {
    if (waiting.length === 0) setImmediate(flush);
    waiting.push(`[${new Date().toISOString()}] [${role}] ${message}\n`);
  };
}
