// A long-running `git cat-file --batch` (or --batch-check) per repository: looking up an
// object costs a line written and read, not a process started, which matters
// when thousands of commits arrive at once.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Socket } from 'node:net';
import type { GitContext } from './run.js';

/** `content` is null from a `--batch-check` reader, which reports only type and size. */
export type CatResult = { type: string; size: number; content: Buffer | null } | null;

interface Pending {
  resolve(result: CatResult): void;
  reject(error: Error): void;
}

/** A child's stdio pipes are sockets, which can stop holding the event loop open. */
const pipe = (stream: unknown) => stream as Socket;

export class CatFile {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly waiting: Pending[] = [];
  private buffer = Buffer.alloc(0);

  constructor(
    private readonly context: GitContext,
    private readonly gitDir: string,
    private readonly mode: '--batch' | '--batch-check' = '--batch',
  ) {}

  /**
   * The object named by `spec` (e.g. `<sha>` or `<sha>:keel.json`), or null
   * when it does not exist. `spec` must not contain a newline; callers pass
   * validated commit ids and fixed paths only.
   */
  read(spec: string): Promise<CatResult> {
    if (spec.includes('\n')) return Promise.reject(new Error('object names cannot contain a newline'));
    const child = this.child ?? this.start();
    // Keeps the process alive only while an answer is awaited.
    pipe(child.stdout).ref();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin.write(`${spec}\n`);
    });
  }

  close(): void {
    this.child?.stdin.end();
    this.child = null;
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn('git', ['cat-file', this.mode], { cwd: this.gitDir, env: this.context.env });
    child.unref();
    pipe(child.stdin).unref();
    pipe(child.stderr).unref();
    child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    child.stderr.resume();
    const fail = (error: Error) => {
      if (this.child === child) this.child = null;
      this.buffer = Buffer.alloc(0);
      for (const pending of this.waiting.splice(0)) pending.reject(error);
    };
    child.on('error', fail);
    child.on('close', (code) => fail(new Error(`git cat-file exited with ${code}`)));
    this.child = child;
    return child;
  }

  /** Answers are `<oid> <type> <size>\n<content>\n`, or `<name> missing\n`. */
  private parse(): void {
    this.parseAnswers();
    if (this.waiting.length === 0 && this.child) pipe(this.child.stdout).unref();
  }

  private parseAnswers(): void {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline === -1) return;
      const header = this.buffer.subarray(0, newline).toString('utf8');
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.buffer = this.buffer.subarray(newline + 1);
        this.waiting.shift()?.resolve(null);
        continue;
      }
      const [, type, size] = header.split(' ');
      const length = Number(size);
      if (this.mode === '--batch-check') {
        this.buffer = this.buffer.subarray(newline + 1);
        this.waiting.shift()?.resolve({ type: type!, size: length, content: null });
        continue;
      }
      if (this.buffer.length < newline + 1 + length + 1) return;
      const content = Buffer.from(this.buffer.subarray(newline + 1, newline + 1 + length));
      this.buffer = this.buffer.subarray(newline + 1 + length + 1);
      this.waiting.shift()?.resolve({ type: type!, size: length, content });
    }
  }
}
