// The demo's three processes: started from this checkout's dist/, their
// stderr passed through, stopped together. Should one exit before the demo
// stops them (a clone it cannot watch, a port it cannot have), the others
// are stopped too and `failed` rejects with its last line, so nothing is
// left running behind a demo that has given up.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export class DemoProcesses {
  private readonly children: ChildProcess[] = [];
  private stopping = false;
  private fail!: (error: Error) => void;
  /** Rejects when a process exits on its own; never resolves. */
  readonly failed: Promise<never> = new Promise<never>((_, reject) => (this.fail = reject));

  constructor() {
    // Nobody may be waiting on it yet; the rejection is still delivered to whoever races it later.
    this.failed.catch(() => {});
  }

  /** Starts dist/<role>/main.js with `args`; `onLine` sees each line of its stderr. */
  start(role: string, args: string[], onLine: (line: string) => void = () => {}): ChildProcess {
    const main = fileURLToPath(new URL(`../${role}/main.js`, import.meta.url));
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
    child.stderr!.pipe(process.stderr);
    let last = '';
    createInterface({ input: child.stderr! }).on('line', (line) => {
      last = line;
      onLine(line);
    });
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      const why = last.replace(/^\[[^\]]*\] \[[^\]]*\] /, '').replace(/^keel: /, '') || `exit ${code ?? signal}`;
      void this.stop().then(() => this.fail(new Error(`the demo's ${role} stopped: ${why}`)));
    });
    this.children.push(child);
    return child;
  }

  /** SIGTERM to every process still running; resolves once all have exited. */
  stop(): Promise<void> {
    this.stopping = true;
    return Promise.all(this.children.map((child) => new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    }))).then(() => {});
  }
}
