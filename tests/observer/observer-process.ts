// Runs src/observer/main.ts as a real child process (through tsx, so no build
// is needed), collects its stderr lines, and kills it when the test ends.
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tsxStarter, type Proc } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/observer/main.ts', import.meta.url));

export type ObserverProcess = Proc;

export type StartObserver = (args: string[]) => Proc;

/** Starts observers that are all killed when the test ends; see tsxStarter. */
export function observers(t: TestContext): StartObserver {
  return tsxStarter(t, MAIN, ROOT);
}
