// The flags of what the dispatcher sends out when builds run and finish:
// where people read a build (--public-url), the forge's commit statuses
// (--forge-*) and the operator's hook (--on-result*). Read with the
// dispatcher's other flags, once, and frozen.

import { readFileSync } from 'node:fs';
import { parsePublicUrl } from '../common/build-url.js';
import { ConfigError } from '../common/errors.js';
import { parseInteger, parseSeconds } from '../common/flags.js';
import { isName } from '../protocol/validate.js';

export const FORGE_KINDS = ['gitea', 'forgejo', 'github'] as const;
export type ForgeKind = (typeof FORGE_KINDS)[number];

export interface ForgeConfig {
  readonly kind: ForgeKind;
  /** The API's root: https://gitea.example/api/v1, https://api.github.com. */
  readonly api: string;
  readonly token: string;
  /** OWNER/REPO by project name, `*` for every other project (the default one too); else taken from the repository's URL. */
  readonly repos: ReadonlyMap<string, string>;
  readonly timeoutMs: number;
}

export interface HookConfig {
  /** argv: a string of --on-result runs as `sh -c`, a JSON list as it is. */
  readonly argv: readonly string[];
  readonly jobs: number;
  readonly timeoutMs: number;
  /** The environment the hook starts from: the dispatcher's, without KEEL_* (its secret is one). */
  readonly env: Readonly<Record<string, string>>;
}

export interface OutputsConfig {
  readonly publicUrl: string | null;
  readonly forge: ForgeConfig | null;
  readonly hook: HookConfig | null;
}

export const OUTPUT_FLAGS = {
  'public-url': { type: 'string' },
  'forge-status': { type: 'string' },
  'forge-type': { type: 'string' },
  'forge-token-file': { type: 'string' },
  'forge-repo': { type: 'string', multiple: true },
  'forge-timeout': { type: 'string', default: '10' },
  'on-result': { type: 'string' },
  'on-result-jobs': { type: 'string', default: '4' },
  'on-result-timeout': { type: 'string', default: '60' },
} as const;

export const OUTPUT_USAGE = `  --public-url URL     where people reach the status page (a proxy's address); statuses, hooks link to URL/builds/<sha>
  --forge-status URL   post each job's state to this forge's commit-status API (https://gitea.example, https://api.github.com)
  --forge-type KIND    gitea, forgejo or github (default github for api.github.com or a URL ending in /api/v3, else gitea)
  --forge-token-file FILE  the forge token the statuses are posted with (needed with --forge-status)
  --forge-repo [PROJECT=]OWNER/REPO  the forge repository of a project (default: from its repository URL); repeatable
  --forge-timeout SECONDS  how long one post may take before it is tried again (default 10)
  --on-result CMD      run CMD for every finished build (sh -c CMD, or a JSON list as argv), with KEEL_* variables
  --on-result-jobs N   hooks running at once (default 4)
  --on-result-timeout SECONDS  a hook still running after this is killed (default 60)`;

export interface OutputValues {
  'public-url'?: string;
  'forge-status'?: string;
  'forge-type'?: string;
  'forge-token-file'?: string;
  'forge-repo'?: string[];
  'forge-timeout': string;
  'on-result'?: string;
  'on-result-jobs': string;
  'on-result-timeout': string;
}

const LOOPBACK_HOSTS = ['127.0.0.1', '[::1]', 'localhost'];
const OWNER_REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

export function parseOutputsConfig(values: OutputValues, env: NodeJS.ProcessEnv, insecure: boolean): OutputsConfig {
  return Object.freeze({
    publicUrl: parsePublicUrl(values['public-url']),
    forge: parseForge(values, insecure),
    hook: parseHook(values, env),
  });
}

function parseForge(values: OutputValues, insecure: boolean): ForgeConfig | null {
  const given = values['forge-status'];
  if (given === undefined) {
    for (const flag of ['forge-type', 'forge-token-file', 'forge-repo'] as const) {
      if (values[flag] !== undefined) throw new ConfigError(`--${flag} needs --forge-status URL`);
    }
    return null;
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new ConfigError(`--forge-status must be the forge's http(s) address, got "${given}"`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new ConfigError(`--forge-status must be the forge's http(s) address without a user, query or fragment, got "${given}"`);
  }
  // The token would cross the network readable by anyone on the way.
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.includes(url.hostname) && !insecure) {
    throw new ConfigError(`--forge-status ${given} would send the token unencrypted: use https://, or pass --insecure`);
  }
  const base = url.href.replace(/\/+$/, '');
  const kind = forgeKind(values['forge-type'], url);
  const api = kind === 'github' || base.endsWith('/api/v1') ? base : `${base}/api/v1`;
  if (values['forge-token-file'] === undefined) throw new ConfigError('--forge-status needs --forge-token-file FILE (the token to post statuses with)');
  return Object.freeze({
    kind, api,
    token: readToken(values['forge-token-file']),
    repos: parseRepos(values['forge-repo'] ?? []),
    timeoutMs: parseSeconds(values['forge-timeout'], '--forge-timeout', 0.1, 3600),
  });
}

function forgeKind(given: string | undefined, url: URL): ForgeKind {
  if (given === undefined) return url.hostname === 'api.github.com' || url.pathname.replace(/\/+$/, '').endsWith('/api/v3') ? 'github' : 'gitea';
  if (!(FORGE_KINDS as readonly string[]).includes(given)) throw new ConfigError(`--forge-type must be one of ${FORGE_KINDS.join(', ')}, got "${given}"`);
  return given as ForgeKind;
}

function readToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`--forge-token-file must be a readable file, got "${path}" (${(error as NodeJS.ErrnoException).code})`);
  }
  // It goes in an HTTP header, where a line break would add one of its own.
  if (text === '' || /[\s\u0000-\u001f\u007f]/.test(text)) {
    throw new ConfigError(`--forge-token-file ${path} must hold one token on one line`);
  }
  return text;
}

function parseRepos(given: string[]): ReadonlyMap<string, string> {
  const repos = new Map<string, string>();
  for (const value of given) {
    const eq = value.indexOf('=');
    const project = eq === -1 ? '*' : value.slice(0, eq);
    const repo = eq === -1 ? value : value.slice(eq + 1);
    if ((project !== '*' && !isName(project)) || !OWNER_REPO.test(repo) || repo.split('/').some((part) => part === '.' || part === '..')) {
      throw new ConfigError(`--forge-repo must be OWNER/REPO or PROJECT=OWNER/REPO, got "${value}"`);
    }
    repos.set(project, repo);
  }
  return repos;
}

function parseHook(values: OutputValues, env: NodeJS.ProcessEnv): HookConfig | null {
  const given = values['on-result'];
  if (given === undefined) return null;
  return Object.freeze({
    argv: Object.freeze(parseCommand(given)),
    jobs: parseInteger(values['on-result-jobs'], '--on-result-jobs', 1, 256),
    timeoutMs: parseSeconds(values['on-result-timeout'], '--on-result-timeout', 0.1, 86_400),
    env: Object.freeze(Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => (
      !entry[0].startsWith('KEEL_') && entry[1] !== undefined)))),
  });
}

/** As keel.json's `run`: a command for `sh -c`, or (written as a JSON list) the argv itself. */
function parseCommand(given: string): string[] {
  if (given.trim() === '') throw new ConfigError('--on-result must be a command, got ""');
  if (!given.trimStart().startsWith('[')) return ['sh', '-c', given];
  let argv: unknown;
  try {
    argv = JSON.parse(given);
  } catch {
    throw new ConfigError(`--on-result starting with "[" must be a JSON list of strings, got ${given}`);
  }
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((arg) => typeof arg !== 'string' || arg === '' || arg.includes('\0'))) {
    throw new ConfigError(`--on-result as a JSON list must hold one or more non-empty strings, got ${given}`);
  }
  return argv as string[];
}
