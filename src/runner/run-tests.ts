// Runs a TestPlan's steps in a worktree and sums them up as one RunOutcome.
//
// Each step is spawned detached, so it leads its own process group and can be
// killed with everything it started. Output is streamed to the sink as it
// comes (see pipe-output.ts); only a bounded tail is kept, for the counts.
//
// Steps run in order and all of them run even when one fails (like
// `make -k`). A timeout (for the whole plan) or a cancel stops the plan at
// the running step; a step that cannot be started stops it too, since the
// plan itself is then broken. Whose fault that is decides `infra`: a command
// that does not exist or may not be executed is the repository's; running
// out of processes, memory or file descriptors is the runner's.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Stream } from '../protocol/messages.js';
import type { RunOutcome } from '../protocol/records.js';
import { parseCounts } from './counts.js';
import { pipeOutput, Tail } from './pipe-output.js';
import { terminateGroup } from './process-group.js';
import type { TestPlan } from './test-command.js';
import { UnittestFailures } from './unittest-failures.js';

/** A tail that also hands every piece to the failure reader. */
class WatchedTail extends Tail {
  constructor(private readonly failures: UnittestFailures) {
    super();
  }

  override push(piece: string): void {
    super.push(piece);
    this.failures.push(piece);
  }
}

export interface OutputSink {
  /** False means the receiver is behind: the child's pipes pause until onDrain. */
  write(stream: Stream, data: string): boolean;
  /** `listener` is called once, when it is OK to write again. */
  onDrain(listener: () => void): void;
}

export interface RunOptions {
  cwd: string;
  plan: TestPlan;
  env: NodeJS.ProcessEnv;
  /** For the whole plan, all steps together. */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL; default 5000. */
  killGraceMs?: number;
  /** How long a step's pipes may stay open after it exits; default PIPE_GRACE_MS. */
  pipeGraceMs?: number;
  output: OutputSink;
  /** Aborting cancels: the running step's group is killed and the outcome is an error with `cancelled: true`. */
  signal?: AbortSignal;
}

const DEFAULT_KILL_GRACE_MS = 5_000;
/**
 * How long a step's pipes may stay open after its process has exited and its
 * group has been killed. Whatever holds them then is outside the group (a
 * daemon that called setsid), and waiting for it would end the job only at
 * its timeout, as an error. Output the step wrote before exiting is read
 * well within this (the clock stops while the receiver is behind), and a
 * passing run is not made noticeably longer.
 */
export const PIPE_GRACE_MS = 2_000;
/** spawn errors that say the command itself cannot be run, which is the repository's problem. */
const COMMAND_ERRORS = new Set(['ENOENT', 'EACCES', 'ENOEXEC', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'E2BIG', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE']);
/** setTimeout fires at once for anything larger. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface StepEnd {
  exitCode: number | null;
  signal: string | null;
  spawnError: NodeJS.ErrnoException | null;
  stoppedBy: 'timeout' | 'cancel' | null;
}

interface StepContext {
  options: RunOptions;
  graceMs: number;
  deadline: number;
  tails: Record<Stream, Tail>;
}

type Ending = Pick<RunOutcome, 'status' | 'exitCode' | 'signal' | 'timedOut' | 'message'> & { infra?: boolean; cancelled?: boolean };

export async function runTests(options: RunOptions): Promise<RunOutcome> {
  const startedAt = new Date();
  const { steps } = options.plan;
  // One reader per stream: their lines interleave, so a partial line of one must not meet the other's.
  const failed = { stdout: new UnittestFailures(), stderr: new UnittestFailures() };
  const tails: Record<Stream, Tail> = { stdout: new WatchedTail(failed.stdout), stderr: new WatchedTail(failed.stderr) };
  const finish = ({ infra = false, cancelled = false, ...ending }: Ending): RunOutcome => ({
    ...ending,
    infra,
    cancelled,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    command: steps.map((argv) => argv.join(' ')),
    counts: parseCounts(`${tails.stdout.text}\n${tails.stderr.text}`),
    failedTests: [...new Set([...failed.stderr.names(), ...failed.stdout.names()])],
    junit: null,
  });
  const stopped = { status: 'error', exitCode: null, signal: null, timedOut: false } as const;
  if (steps.length === 0) return finish({ ...stopped, message: 'the test plan has no steps' });

  const context: StepContext = {
    options,
    graceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    deadline: startedAt.getTime() + options.timeoutMs,
    tails,
  };
  const timedOut = `timed out after ${formatDuration(options.timeoutMs)}`;
  const failures: string[] = [];
  let last: StepEnd | null = null;
  let lastFailed: StepEnd | null = null;
  for (const argv of steps) {
    if (options.signal?.aborted) return finish({ ...stopped, cancelled: true, message: 'cancelled' });
    if (Date.now() >= context.deadline) return finish({ ...stopped, timedOut: true, message: timedOut });
    const end = await runStep(argv, context);
    const { exitCode, signal } = end;
    if (end.spawnError !== null) {
      const { code, message } = end.spawnError;
      const infra = code === undefined || !COMMAND_ERRORS.has(code);
      return finish({ ...stopped, infra, message: `could not start ${argv[0]}: ${code ?? message}` });
    }
    if (end.stoppedBy === 'timeout') return finish({ ...stopped, exitCode, signal, timedOut: true, message: timedOut });
    if (end.stoppedBy === 'cancel') return finish({ ...stopped, exitCode, signal, cancelled: true, message: 'cancelled' });
    last = end;
    if (exitCode !== 0) {
      lastFailed = end;
      failures.push(describeFailure(argv, end, steps.length));
    }
  }
  if (lastFailed === null) {
    return finish({ status: 'passed', exitCode: last!.exitCode, signal: null, timedOut: false, message: '' });
  }
  const message = steps.length === 1 ? failures[0]! : `${failures.length} of ${steps.length} steps failed: ${failures.join('; ')}`;
  return finish({ status: 'failed', exitCode: lastFailed.exitCode, signal: lastFailed.signal, timedOut: false, message });
}

/** Runs one argv to its 'close' (all output delivered) and any stray children killed. */
function runStep(argv: string[], context: StepContext): Promise<StepEnd> {
  const { options, graceMs } = context;
  return new Promise((resolve) => {
    const base = { exitCode: null, signal: null, stoppedBy: null } as const;
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      // Bad arguments (a NUL byte in a file name, say) throw instead of emitting 'error'.
      resolve({ ...base, spawnError: error as NodeJS.ErrnoException });
      return;
    }
    const pipes = pipeOutput(child, options.output, context.tails);
    const killing: Promise<void>[] = [];
    let spawnError: NodeJS.ErrnoException | null = null;
    let stoppedBy: StepEnd['stoppedBy'] = null;
    let exited = false;
    // EPERM (a setuid program in the group) must not leave the step unresolved; nothing more can be done.
    const killGroupOf = (pid: number) => terminateGroup(pid, graceMs).catch(() => {});

    const stop = (reason: 'timeout' | 'cancel') => {
      if (stoppedBy !== null || child.pid === undefined) return;
      stoppedBy = reason;
      // Nobody wants a cancelled run's output; draining it lets 'close' come even if the sink is gone.
      if (reason === 'cancel') pipes.discard();
      // A process outside the group (one that called setsid) may still hold the pipes open.
      killing.push(
        killGroupOf(child.pid).then(() => {
          if (exited) pipes.destroy();
        }),
      );
    };
    // Unref'd, which is fine: the child's pipes hold the process until 'close'.
    const timeout = AbortSignal.timeout(Math.min(Math.max(0, context.deadline - Date.now()), MAX_TIMER_MS));
    const ending = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    // Whichever came first aborted `ending`; the timeout's own flag tells which.
    const onEnd = () => stop(timeout.aborted ? 'timeout' : 'cancel');
    ending.addEventListener('abort', onEnd, { once: true });
    if (ending.aborted) onEnd();

    child.on('error', (error) => {
      if (child.pid === undefined) spawnError = error;
    });
    child.on('exit', () => {
      exited = true;
      if (stoppedBy !== null || child.pid === undefined) return;
      // Background children the step left behind are killed too, so they free the pipes and do not leak.
      killing.push(killGroupOf(child.pid));
      const pipeGraceMs = options.pipeGraceMs ?? PIPE_GRACE_MS;
      pipes.cutAfter(pipeGraceMs, () => {
        options.output.write('stderr', `\n[keel: output closed ${formatDuration(pipeGraceMs)} after the tests exited: a process they left running still held it]\n`);
      });
    });
    child.on('close', (code, signal) => {
      ending.removeEventListener('abort', onEnd);
      void Promise.all(killing).then(() => {
        if (spawnError !== null) resolve({ ...base, spawnError });
        else resolve({ exitCode: code, signal, spawnError: null, stoppedBy });
      });
    });
  });
}

function describeFailure(argv: string[], end: StepEnd, stepCount: number): string {
  const what = end.signal !== null ? `was killed by ${end.signal}` : `exited with code ${end.exitCode}`;
  return stepCount === 1 ? `tests ${what}` : `${argv.join(' ')} ${what}`;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}
