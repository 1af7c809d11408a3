import { resolve } from 'node:path';
import { ConfigError } from '../common/errors.js';
import { parseDays, parseFlags, parseInteger, parseSeconds } from '../common/flags.js';
import { createGitContext, type GitContext } from '../common/git/run.js';
import { loadSecurity, SECURITY_FLAGS, securityUsage, type Security } from '../common/security.js';
import { LIMITS } from '../protocol/limits.js';
import { OUTPUT_FLAGS, OUTPUT_USAGE, parseOutputsConfig, type OutputsConfig } from './outputs-config.js';
import { HTTP_FLAGS, HTTP_USAGE, parseHttpConfig, type HttpConfig } from './http/config.js';
import { parseScalingFlags, SCALING_FLAGS, SCALING_USAGE, type ScalingConfig } from './autoscale-config.js';
import { parseSecretFlags, SECRET_FLAGS, SECRET_USAGE, type SecretStore } from './secrets.js';

export interface DispatcherConfig {
  readonly host: string;
  readonly port: number;
  readonly results: string;
  readonly state: string;
  readonly heartbeatMs: number;
  readonly deadlineMs: number;
  readonly helloTimeoutMs: number;
  readonly maxAttempts: number;
  readonly security: Security;
  /** Where the list of admin names lives. */
  readonly admins: string;
  readonly maxPending: number;
  readonly maxPendingPerSource: number;
  readonly maxLineBytes: number;
  /** Unfinished lines of all peers together. */
  readonly maxBufferedBytes: number;
  readonly clientIdleMs: number;
  /** Start past a damaged journal record, keeping what comes before it. */
  readonly recover: boolean;
  /** Land requests merged and tested together at most (1: no batching). */
  readonly batch: number;
  /** Merges again after the target moved before a land request gives up. */
  readonly maxRemerge: number;
  /** How long refs/keel/land/* of finished requests stay in origin. */
  readonly keepRefsMs: number;
  /** The largest patch series `keel patch` may send. */
  readonly maxPatchBytes: number;
  /** Patch retests (and narrowing steps) under way at once. */
  readonly maxRetests: number;
  readonly maxLogBytes: number;
  readonly maxErrors: number;
  readonly maxUnwritten: number;
  /** Infrastructure failures in a row that make a runner unhealthy, and its first back-off. */
  readonly unhealthyAfter: number;
  readonly unhealthyForMs: number;
  /** What the artifacts of one build may hold, and for how long they are kept (0: for ever). */
  readonly maxArtifactBytes: number;
  readonly keepArtifactsDays: number;
  /** The environment git runs with (reading keel.json), from the env given at start. */
  readonly git: GitContext;
  /** Statuses to a forge, the --on-result hook, and the page they link to. */
  readonly outputs: OutputsConfig;
  /** The status page; null with --http-port off. */
  readonly http: HttpConfig | null;
  /** Trust everyone who can connect: listen beyond loopback without a secret, send secrets over plain TCP. */
  readonly insecure: boolean;
  /** --secrets and --protected; null without --secrets. */
  readonly secrets: SecretStore | null;
  /** Runners started on demand (--runner-start); null without. */
  readonly scaling: ScalingConfig | null;
}

const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];
const MIB = 1024 * 1024;

export const DISPATCHER_USAGE = `usage: keel dispatcher [--host ADDR] [--port N] [--results DIR] [--state DIR]
       [--heartbeat SECONDS] [--deadline SECONDS] [--max-attempts N] [--token-file FILE]
       [--tls-cert FILE --tls-key FILE [--tls-ca FILE]] [--insecure] [--recover] [limits]
       [--public-url URL] [--forge-status URL --forge-token-file FILE] [--on-result CMD]
       [--http-port N|off] [--http-host ADDR] [--http-auth FILE] [--http-max-clients N]
       [--secrets FILE --protected BRANCHES] [--runner-start CMD [--runner-stop CMD] ...]

  --host ADDR          address to listen on (default 127.0.0.1)
  --port N             TCP port; 0 picks a free one and prints it (default 8888)
  --results DIR        where result files go (default ./test_results)
  --state DIR          the journal of queued and running work (default ./.keel-state)
  --heartbeat SECONDS  how often each runner is pinged (default 5)
  --deadline SECONDS   silence after which a runner is lost (default 15)
  --max-attempts N     runner losses before a commit ends as error (default 3)
  --hello-timeout SECONDS  how long a new connection may take to say hello (default 10)
  --max-pending N      connections allowed before they finish hello; past it the oldest is closed (default 64)
  --max-pending-per-source N  the same, per remote address (default 16)
  --max-line-mib N     longest protocol line accepted (default 1)
  --max-buffered-mib N unfinished lines of all peers together; past it the peer holding most is closed (default 64)
  --client-idle SECONDS  a client that asks nothing for this long is closed (default 60)
  --max-errors N       bad messages an admitted peer may send before it is disconnected (default 100)
  --max-log-mib N      log kept per job; beyond it the head and the last MiB are kept (default 128)
  --max-unwritten N    finished builds waiting for their result files before no new job starts (default 256)
  --unhealthy-after N  infrastructure failures in a row (fetch, checkout, lost) after which a
                       runner gets no jobs for a while (default 3)
  --unhealthy-for SECONDS  that while, doubled each time it fails again right after (default 60)
  --max-artifact-mib N what the artifacts (keel.json "artifacts") of one build may hold (default 256)
  --keep-artifacts DAYS  artifacts are deleted this long after they arrive; 0 keeps them (default 30)
  --admins FILE        names allowed to act as admin (default STATE/admins)
  --insecure           allow listening beyond loopback without a secret, and secrets sent over plain TCP
  --recover            start past a damaged journal record: keep the records before it, move the rest aside
  --batch N            land requests for one target merged and tested together at most; 1 turns batching off (default 8)
  --max-remerge N      merges again after the target moved, before a land request gives up (default 5)
  --keep-refs DAYS     how long refs/keel/land/* of finished requests stay in origin (default 7)
  --max-patch-mib N    the largest patch series keel patch may send (default 16)
  --max-retests N      patch retests on a newer trunk under way at once (default 8)
${OUTPUT_USAGE}
${HTTP_USAGE}
${SECRET_USAGE}
${SCALING_USAGE}
${securityUsage('the master secret, from which every other token is derived')}`;

export function parseDispatcherConfig(argv: string[], env: NodeJS.ProcessEnv): DispatcherConfig {
  const { values } = parseFlags({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8888' },
      results: { type: 'string', default: 'test_results' },
      state: { type: 'string', default: '.keel-state' },
      heartbeat: { type: 'string', default: '5' },
      deadline: { type: 'string', default: '15' },
      'max-attempts': { type: 'string', default: '3' },
      'max-unwritten': { type: 'string', default: '256' },
      'unhealthy-after': { type: 'string', default: '3' },
      'unhealthy-for': { type: 'string', default: '60' },
      'max-artifact-mib': { type: 'string', default: '256' },
      'keep-artifacts': { type: 'string', default: '30' },
      'hello-timeout': { type: 'string', default: '10' },
      'max-pending': { type: 'string', default: '64' },
      'max-pending-per-source': { type: 'string', default: '16' },
      'max-line-mib': { type: 'string', default: '1' },
      'max-buffered-mib': { type: 'string', default: '64' },
      'client-idle': { type: 'string', default: '60' },
      recover: { type: 'boolean', default: false },
      batch: { type: 'string', default: '8' },
      'max-remerge': { type: 'string', default: '5' },
      'keep-refs': { type: 'string', default: '7' },
      'max-patch-mib': { type: 'string', default: '16' },
      'max-retests': { type: 'string', default: '8' },
      'max-errors': { type: 'string', default: '100' },
      'max-log-mib': { type: 'string', default: '128' },
      admins: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      ...OUTPUT_FLAGS,
      ...HTTP_FLAGS,
      ...SECRET_FLAGS,
      ...SCALING_FLAGS,
      ...SECURITY_FLAGS,
    },
  });
  if (!/^[A-Za-z0-9.:-]+$/.test(values.host)) {
    throw new ConfigError(`--host must be an IP address or host name, got "${values.host}"`);
  }
  const heartbeatMs = parseSeconds(values.heartbeat, '--heartbeat', 0.05, 3600);
  const deadlineMs = parseSeconds(values.deadline, '--deadline', 0.1, 86_400);
  if (deadlineMs < 2 * heartbeatMs) {
    throw new ConfigError(`--deadline must be at least twice --heartbeat (${heartbeatMs / 500} s), got "${values.deadline}"`);
  }
  const security = loadSecurity(values, env.KEEL_TOKEN);
  if (!security.secret && !LOOPBACK.includes(values.host) && !values.insecure) {
    throw new ConfigError(`--host ${values.host} is reachable from other machines: set a secret (KEEL_TOKEN or --token-file), or pass --insecure to accept anyone`);
  }
  if (security.secret?.kind === 'role') {
    throw new ConfigError(`the dispatcher needs the master secret, not a ${security.secret.role} token`);
  }
  if (security.tls && !security.tls.cert) throw new ConfigError('--tls-ca on the dispatcher needs --tls-cert and --tls-key');
  const state = resolve(values.state);
  if (Number(values['max-buffered-mib']) < Number(values['max-line-mib'])) {
    throw new ConfigError(`--max-buffered-mib must be at least --max-line-mib (${values['max-line-mib']}), got "${values['max-buffered-mib']}"`);
  }
  const port = parseInteger(values.port, '--port', 0, 65535);
  return Object.freeze({
    host: values.host,
    port,
    results: resolve(values.results),
    state,
    heartbeatMs,
    deadlineMs,
    helloTimeoutMs: parseSeconds(values['hello-timeout'], '--hello-timeout', 0.1, 3600),
    maxAttempts: parseInteger(values['max-attempts'], '--max-attempts', 1, 100),
    maxUnwritten: parseInteger(values['max-unwritten'], '--max-unwritten', 1, 1_000_000),
    unhealthyAfter: parseInteger(values['unhealthy-after'], '--unhealthy-after', 1, 1000),
    unhealthyForMs: parseSeconds(values['unhealthy-for'], '--unhealthy-for', 0, 86_400),
    maxArtifactBytes: parseInteger(values['max-artifact-mib'], '--max-artifact-mib', 0, 1_000_000) * MIB,
    keepArtifactsDays: parseInteger(values['keep-artifacts'], '--keep-artifacts', 0, 100_000),
    security,
    admins: resolve(values.admins ?? `${state}/admins`),
    maxPending: parseInteger(values['max-pending'], '--max-pending', 1, 100_000),
    maxPendingPerSource: parseInteger(values['max-pending-per-source'], '--max-pending-per-source', 1, 100_000),
    maxLineBytes: parseInteger(values['max-line-mib'], '--max-line-mib', 1, 64) * MIB,
    maxBufferedBytes: parseInteger(values['max-buffered-mib'], '--max-buffered-mib', 1, 1_000_000) * MIB,
    clientIdleMs: parseSeconds(values['client-idle'], '--client-idle', 0.1, 86_400),
    recover: values.recover,
    batch: parseInteger(values.batch, '--batch', 1, LIMITS.batchRequests),
    maxRemerge: parseInteger(values['max-remerge'], '--max-remerge', 0, 100),
    keepRefsMs: parseDays(values['keep-refs'], '--keep-refs', 0, 3650),
    maxPatchBytes: parseInteger(values['max-patch-mib'], '--max-patch-mib', 1, LIMITS.patchBytes / MIB) * MIB,
    maxRetests: parseInteger(values['max-retests'], '--max-retests', 1, 10_000),
    maxLogBytes: parseInteger(values['max-log-mib'], '--max-log-mib', 2, 1_000_000) * MIB,
    maxErrors: parseInteger(values['max-errors'], '--max-errors', 0, 1_000_000),
    git: createGitContext(env),
    outputs: parseOutputsConfig(values, env, values.insecure),
    http: parseHttpConfig(values, { host: values.host, port, insecure: values.insecure }),
    insecure: values.insecure,
    secrets: parseSecretFlags(values),
    scaling: parseScalingFlags(values, env),
  });
}
