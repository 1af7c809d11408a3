// Test scripts for the repositories end-to-end tests build, and the files
// they leave in the world's control folder so a test can see them run:
//   pids            one line per run: the script's $$ (its process group is
//                   killed when the test ends, even if its runner was killed)
//   runs-<name>     one line per run of script <name>: the commit it tested
//   started-<name>  written when a blocking script has started
//   release         written by the test; blocking scripts wait for it
// Paths are absolute, so the scripts work from any checkout.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Until = <T>(check: () => T | Promise<T>, what: string) => Promise<NonNullable<T>>;

export class TestScripts {
  constructor(readonly control: string, private readonly until: Until) {}

  /** Lines that record a run of `name`; put them first in a custom script. */
  recordRun(name: string): string[] {
    return [`echo $$ >> '${this.control}/pids'`, `echo "$KEEL_COMMIT" >> '${this.control}/runs-${name}'`];
  }

  /** Records its run, says it started (`started-<name>`), waits for the release file and exits `exitCode`. */
  blocking(name: string, exitCode = 0): string {
    return [
      '#!/bin/sh',
      ...this.recordRun(name),
      `echo $$ > '${this.control}/started-${name}'`,
      `while [ ! -e '${this.control}/release' ]; do sleep 0.05; done`,
      `echo '${name} released'`,
      `exit ${exitCode}`,
      '',
    ].join('\n');
  }

  /** Records its run and passes at once. */
  passing(name = 'passing'): string {
    return ['#!/bin/sh', ...this.recordRun(name), 'echo ok', ''].join('\n');
  }

  async started(name: string): Promise<void> {
    await this.until(() => existsSync(join(this.control, `started-${name}`)), `the test script ${name} to start`);
  }

  /** How many blocking scripts have started so far. */
  startedCount(): number {
    return readdirSync(this.control).filter((f) => f.startsWith('started-')).length;
  }

  release(): void {
    writeFileSync(join(this.control, 'release'), '');
  }

  /** The commits script `name` has run for, one entry per run. */
  runs(name: string): string[] {
    return this.lines(`runs-${name}`);
  }

  /** Every test script process that recorded itself. */
  pids(): number[] {
    return this.lines('pids').map(Number);
  }

  /** Waits until control/<name> has content; returns it trimmed. */
  async file(name: string): Promise<string> {
    const path = join(this.control, name);
    return this.until(() => (existsSync(path) ? readFileSync(path, 'utf8').trim() : ''), `control/${name}`);
  }

  private lines(name: string): string[] {
    const path = join(this.control, name);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
  }
}
