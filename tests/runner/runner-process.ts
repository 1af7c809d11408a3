// Runs src/runner/main.ts as a real child process (through tsx, so no build
// is needed), collects its stderr lines, and kills it when the test ends.
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tsxStarter, type Proc } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/runner/main.ts', import.meta.url));

export type RunnerProcess = Proc;

export type StartRunner = (args: string[]) => Proc;

/** Starts runners that are all killed when the test ends; see tsxStarter. */
export function runners(t: TestContext): StartRunner {
  return tsxStarter(t, MAIN, ROOT);
}
