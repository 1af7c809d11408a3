// keel logs SHA [--job ID] [--follow]: a build's log in the terminal, over
// the protocol (so it works with --http-port off, with tokens and TLS).
// Every job's log, each line prefixed with its job when there are several,
// or one job's with --job; with --follow it goes on until the jobs end. On
// a terminal, stderr shows one progress line. Exit status as `keel status
// SHA`: 0 for a build that passed or is still going, 1 otherwise, 2 when
// the question could not be asked.

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { FOLLOW_KEEPALIVE_MS } from '../protocol/messages.js';
import type { BuildSummary } from '../protocol/records.js';
import { isName } from '../protocol/validate.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { converse, RefusedError } from './client.js';
import { commitOrSay, parseCommitArg } from './commit-arg.js';
import { formatProgress, JobLines } from './progress.js';
import { parseProject, parseTarget, TARGET_FLAGS, TARGET_USAGE } from './target.js';

export const LOGS_USAGE = `usage: keel logs SHA [--job ID] [--follow] [--project NAME] [--dispatcher HOST:PORT]

  SHA                     the build's commit id, or its first 7 or more hex digits
  --job ID                one job's log (default: every job's, each line prefixed with its job when there are several)
  --follow                keep printing output as it comes until the jobs end
  --project NAME          the observer's --project the commit belongs to
${TARGET_USAGE}`;

interface Output {
  out: (text: string) => void;
  /** A line for people on stderr: how the build ended when it did not pass. */
  err: (line: string) => void;
  /** The progress line, rewritten in place; null when stderr is not a terminal. */
  status: ((line: string) => void) | null;
}

function parseLogsArgs(argv: string[], env: NodeJS.ProcessEnv) {
  const { values, positionals } = parseFlags({
    args: argv, strict: true, allowPositionals: true,
    options: { ...TARGET_FLAGS, job: { type: 'string' }, follow: { type: 'boolean', default: false }, project: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new ConfigError(`keel logs takes one commit id, got ${positionals.length}`);
  const commit = parseCommitArg(positionals[0]);
  if (values.job !== undefined && !isName(values.job)) throw new ConfigError(`--job must be a job id (letters, digits, ".", "_", "-"), got "${values.job}"`);
  return { target: parseTarget(values, env), commit, job: values.job ?? null, follow: values.follow, project: parseProject(values.project) };
}

function terminalOutput(): Output {
  const tty = process.stderr.isTTY === true;
  let shown = '';
  return {
    err: (line) => process.stderr.write(`${line}\n`),
    out: (text) => {
      if (tty && shown) process.stderr.write('\r\x1b[K');
      process.stdout.write(text);
      if (tty && shown) process.stderr.write(shown);
    },
    status: tty ? (line) => {
      shown = line;
      process.stderr.write(`\r\x1b[K${line}`);
    } : null,
  };
}

export async function logs(argv: string[], env: NodeJS.ProcessEnv, output: Output = terminalOutput()): Promise<number> {
  if (argv.includes('--help')) {
    console.log(LOGS_USAGE);
    return 0;
  }
  const { target, commit: given, job, follow, project } = parseLogsArgs(argv, env);
  const commit = await commitOrSay(target, given, project, {}, console.log);
  if (commit === null) return 1;
  let build: BuildSummary | null = null;
  let lines: JobLines | null = null;
  let first: string | null = null;
  const redraw = () => {
    if (build && output.status) output.status(formatProgress(build, Date.now()));
  };
  const ticker = output.status ? setInterval(redraw, 1000) : null;
  try {
    await converse(target.address, { type: 'logs', commit, project, job, follow }, (reply) => {
      switch (reply.type) {
        case 'log-progress': {
          build = reply.build;
          const jobs = Object.values(build.jobs).reduce((sum, n) => sum + (n ?? 0), 0);
          lines ??= new JobLines(job === null && jobs > 1);
          redraw();
          return false;
        }
        case 'log':
          // A second job's output (a generator's printed jobs joined the build): prefix every line from now on.
          first ??= reply.job;
          if (job === null && reply.job !== first) lines!.several();
          output.out(lines!.push(reply.job, reply.data));
          return false;
        case 'log-end':
          build = reply.build;
          output.out(lines?.flush() ?? '');
          redraw();
          return true;
        default:
          return false;
      }
    }, { security: target.security, timeoutMs: 4 * FOLLOW_KEEPALIVE_MS });
  } catch (error) {
    // As `keel status SHA` answers for a build it does not know: exit 1.
    if (!(error instanceof RefusedError) || error.reason !== ErrorCode.unknownBuild) throw error;
    console.log(`no build of ${commit} is known to the dispatcher`);
    return 1;
  } finally {
    if (ticker) clearInterval(ticker);
    if (output.status) process.stderr.write('\n');
  }
  const ended = build as BuildSummary | null;
  const going = ended?.status === 'passed' || ended?.status === 'queued' || ended?.status === 'running';
  if (ended && !going) output.err(`keel: ${ended.commit} ${ended.status}${ended.note ? `: ${ended.note}` : ''}`);
  return going ? 0 : 1;
}
