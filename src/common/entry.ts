// How every entry point (the three roles and the keel CLI) is started and
// how it fails. Start-up is `main` until its promise settles: any failure
// then (a bad flag, a folder that cannot be made, a port in use) is the
// user's to fix, so it is one line, `keel: <reason>`, and exit 2. Once
// started, a throw nobody caught is Keel's bug: one line and exit 1, with the
// stack only under NODE_DEBUG=keel, since it means nothing to most users.

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { trace } from './log.js';

/** Exit codes of an entry point that fails; a query's own answer (0 or 1) is returned by its main. */
export const EXIT = { crashed: 1, startFailed: 2 } as const;

/**
 * True when the module is the program node was started with. The path is
 * resolved first, because `npx keel` starts it through a symlink in .bin.
 */
export function isEntry(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

/** `main` resolves once started: with an exit code for a command that is done, or nothing for a process that runs on. */
export type Main = (argv: string[]) => Promise<number | null | void>;

/** Runs `main` with the process's arguments when `moduleUrl` is the program node was started with. */
export function runAsEntry(moduleUrl: string, main: Main): void {
  if (!isEntry(moduleUrl)) return;
  let started = false;
  process.on('uncaughtException', (error) => fail(error, started ? EXIT.crashed : EXIT.startFailed));
  main(process.argv.slice(2)).then(
    (code) => {
      started = true;
      if (typeof code === 'number') process.exitCode = code;
    },
    (error: unknown) => fail(error, EXIT.startFailed),
  );
}

function fail(error: unknown, code: number): never {
  const line = code === EXIT.crashed ? `crashed: ${reasonOf(error)} (NODE_DEBUG=keel shows where)` : reasonOf(error);
  process.stderr.write(`keel: ${line}\n`);
  if (trace.enabled && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(code);
}

/** The error's message on one line: a reason spread over lines would read as several events. */
function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ').trim() || (error instanceof Error ? error.name : 'unknown error');
}
