import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseAddress, type Address } from '../common/address.js';
import { ConfigError } from '../common/errors.js';
import { parseFlags, parseInteger, parseSeconds } from '../common/flags.js';
import { createGitContext, type GitContext } from '../common/git/run.js';
import { loadSecurity, SECURITY_FLAGS, securityUsage, type Security } from '../common/security.js';
import { LIMITS } from '../protocol/limits.js';
import { isName } from '../protocol/validate.js';
import { inheritedEnv } from './test-env.js';

export interface RunnerConfig {
  readonly dispatcher: Address;
  readonly security: Security;
  readonly name: string;
  readonly slots: number;
  readonly labels: readonly string[];
  readonly workdir: string;
  readonly timeoutMs: number;
  readonly killGraceMs: number;
  /** After the first SIGTERM/SIGINT, how long running jobs may take before they are cancelled and handed back. */
  readonly drainGraceMs: number;
  /** The environment git runs with, from the env given at start. */
  readonly git: GitContext;
  /** What tests inherit of that env (the allow-list of test-env.ts). */
  readonly testEnv: Readonly<Record<string, string>>;
  /** Take one job, then exit once its result is recorded. */
  readonly once: boolean;
}

export const RUNNER_USAGE = `usage: keel runner [--dispatcher HOST:PORT] [--name NAME] [--slots N]
       [--labels a,b] [--workdir DIR] [--timeout SECONDS]
       [--kill-grace SECONDS] [--drain-grace SECONDS] [--once]
       [--token-file FILE] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]

  --dispatcher HOST:PORT  where the dispatcher listens (default 127.0.0.1:8888)
  --name NAME             how this runner is known (default <hostname>-<pid>)
  --slots N               jobs run at once (default 1)
  --labels a,b            capabilities this runner offers (default none)
  --workdir DIR           mirrors and worktrees live here (default ./.keel-runner)
  --timeout SECONDS       a test run's limit before its process group is killed (default 1800)
  --kill-grace SECONDS    between SIGTERM and SIGKILL (default 5)
  --drain-grace SECONDS   on SIGTERM/SIGINT, take no new jobs and let running ones
                          finish for this long; then cancel them and hand them
                          back to the dispatcher (default 60). A second signal
                          exits at once
  --once                  take one job, and exit once its result is recorded
${securityUsage('a runner token (keel token runner), or the master')}`;

function defaultName(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 50) || 'runner';
  return `${host}-${process.pid}`;
}

export function parseRunnerConfig(argv: string[], env: NodeJS.ProcessEnv = {}): RunnerConfig {
  const { values } = parseFlags({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      dispatcher: { type: 'string', default: '127.0.0.1:8888' },
      name: { type: 'string' },
      slots: { type: 'string', default: '1' },
      labels: { type: 'string', default: '' },
      workdir: { type: 'string', default: '.keel-runner' },
      timeout: { type: 'string', default: '1800' },
      'kill-grace': { type: 'string', default: '5' },
      'drain-grace': { type: 'string', default: '60' },
      once: { type: 'boolean', default: false },
      ...SECURITY_FLAGS,
    },
  });
  const name = values.name ?? defaultName();
  if (!isName(name)) {
    throw new ConfigError(`--name must be 1-64 letters, digits, ".", "_" or "-" starting with a letter or digit, got "${name}"`);
  }
  const labels = values.labels === '' ? [] : values.labels.split(',');
  const badLabel = labels.find((label) => !isName(label));
  if (badLabel !== undefined) {
    throw new ConfigError(`--labels must be a comma-separated list of names (letters, digits, ".", "_", "-"), got "${badLabel}"`);
  }
  // The dispatcher refuses a `register` with more.
  if (labels.length > LIMITS.labels) throw new ConfigError(`--labels takes at most ${LIMITS.labels} labels, got ${labels.length}`);
  const security = loadSecurity(values, env.KEEL_TOKEN);
  if (security.secret?.kind === 'role' && security.secret.role !== 'runner') {
    throw new ConfigError(`the secret given is a ${security.secret.role} token; a runner needs a runner token (keel token runner)`);
  }
  const slots = parseInteger(values.slots, '--slots', 1, LIMITS.slots);
  if (values.once && slots !== 1) throw new ConfigError(`--once takes one job: --slots must be 1, got "${values.slots}"`);
  return Object.freeze({
    dispatcher: parseAddress(values.dispatcher, '--dispatcher'),
    security,
    name,
    slots,
    labels: Object.freeze(labels),
    workdir: resolve(values.workdir),
    timeoutMs: parseSeconds(values.timeout, '--timeout', 0.1, 7 * 86_400),
    killGraceMs: parseSeconds(values['kill-grace'], '--kill-grace', 0, 600),
    drainGraceMs: parseSeconds(values['drain-grace'], '--drain-grace', 0, 7 * 86_400),
    git: createGitContext(env),
    testEnv: inheritedEnv(env),
    once: values.once,
  });
}
