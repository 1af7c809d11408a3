// The observer's settings: flags parsed once, checked, and frozen. The clone
// is inspected here (is it a repository, does it have an origin, where do
// runners fetch from) so that every mistake is reported before a socket opens.

import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseAddress, type Address } from '../common/address.js';
import { ConfigError } from '../common/errors.js';
import { parseFlags, parseSeconds } from '../common/flags.js';
import { createGitContext, type GitContext, type Identity } from '../common/git/run.js';
import { loadSecurity, SECURITY_FLAGS, securityUsage, type Security } from '../common/security.js';
import { isPrintable } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import { isName, isRefName, isRepoUrl } from '../protocol/validate.js';
import { cursorPath } from './cursor.js';
import { inspectClone } from './clone-info.js';
import { NOTES_FLAGS, NOTES_USAGE, parseNotesConfig } from './notes-config.js';
import type { NotesSettings } from './notes.js';

export interface ObserverConfig {
  readonly dispatcher: Address;
  readonly intervalMs: number;
  /** The watched branch names; null watches every branch. */
  readonly branches: readonly string[] | null;
  /** Canonical absolute path of the clone. */
  readonly clone: string;
  /** True when the clone has an `origin` remote to fetch and read from. */
  readonly hasOrigin: boolean;
  /** Origin's git folder when origin is a local path: its refs are watched for instant detection. */
  readonly originGitDir: string | null;
  /** What runners fetch from; sent with every commit. */
  readonly repoUrl: string;
  readonly project: string | null;
  readonly supersede: boolean;
  readonly stateDir: string;
  readonly cursorFile: string;
  /** A folder of the observer's own under --state for the git work it does (merges, patches). */
  readonly scratchDir: string;
  readonly security: Security;
  /** The environment git runs with, from the env given at start. */
  readonly git: GitContext;
  /** Author and committer of the commits the observer makes. */
  readonly identity: Identity;
  /** Git notes for finished builds (--notes); null without. */
  readonly notes: NotesSettings | null;
}

export const OBSERVER_USAGE = `usage: keel observer [--dispatcher HOST:PORT] [--interval SECONDS]
       [--branch NAME]... [--state DIR] [--repo-url URL] [--project NAME] [--supersede]
       [--git-name NAME] [--git-email EMAIL] [--notes [--notes-format keel|appraise]] [--public-url URL]
       [--token-file FILE] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]] <clone>

  <clone>                 the git clone to watch; fetched from its origin when it has one
  --dispatcher HOST:PORT  where the dispatcher listens (default 127.0.0.1:8888)
  --interval SECONDS      time between polls, 0.05 or more (default 5)
  --branch NAME           a branch to watch; repeat for more (default every branch
                          of origin, or of the clone itself when it has no origin)
  --state DIR             where the cursor file is kept (default ./.keel-state)
  --repo-url URL          what runners fetch from (default origin's URL, or the
                          clone's own path when it has no origin)
  --project NAME          keep this repository's results in RESULTS/NAME/ (for a
                          dispatcher serving several repositories)
  --supersede             a new commit skips queued, not yet started builds of
                          older commits on the same branch (recorded as skipped)
  --git-name NAME         author and committer name of the commits the observer
                          makes: merges, applied patches (default Keel)
  --git-email EMAIL       their email (default keel@<this host's name>)
${NOTES_USAGE}
${securityUsage('an observer token (keel token observer), or the master')}`;

const MIN_INTERVAL_S = 0.05;
const MAX_INTERVAL_S = 86_400;

export async function parseObserverConfig(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<ObserverConfig> {
  const { values, positionals } = parseFlags({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      dispatcher: { type: 'string', default: '127.0.0.1:8888' },
      interval: { type: 'string', default: '5' },
      branch: { type: 'string', multiple: true },
      state: { type: 'string', default: '.keel-state' },
      'repo-url': { type: 'string' },
      project: { type: 'string' },
      supersede: { type: 'boolean', default: false },
      'git-name': { type: 'string', default: 'Keel' },
      'git-email': { type: 'string' },
      help: { type: 'boolean' },
      ...NOTES_FLAGS,
      ...SECURITY_FLAGS,
    },
  });
  const dispatcher = parseAddress(values.dispatcher, '--dispatcher');
  const intervalMs = parseSeconds(values.interval, '--interval', MIN_INTERVAL_S, MAX_INTERVAL_S);
  const branches = values.branch ? Object.freeze([...new Set(values.branch.map(checkBranch))]) : null;
  if (values.state === '') throw new ConfigError('--state must be a folder path, got ""');
  const stateDir = resolve(values.state);
  const identity = checkIdentity(values['git-name'], values['git-email'] ?? `keel@${hostname()}`);
  const security = loadSecurity(values, env.KEEL_TOKEN);
  if (security.secret?.kind === 'role' && security.secret.role !== 'observer') {
    throw new ConfigError(`the secret given is a ${security.secret.role} token; an observer needs an observer token (keel token observer)`);
  }

  if (positionals.length === 0) throw new ConfigError('<clone> is missing: give the path of the git clone to watch');
  if (positionals.length > 1) {
    throw new ConfigError(`<clone> must be one path, got ${positionals.length}: ${positionals.map((p) => `"${p}"`).join(' ')}`);
  }
  const git = createGitContext(env);
  const clone = await inspectClone(git, positionals[0]!);

  const repoUrl = values['repo-url'] ?? clone.defaultRepoUrl;
  if (!isRepoUrl(repoUrl)) {
    const source = values['repo-url'] !== undefined ? '--repo-url' : `--repo-url (default from origin's URL)`;
    throw new ConfigError(
      `${source} must be an absolute path or a file://, ssh://, git://, http(s):// or user@host:path URL, got "${repoUrl}"`,
    );
  }

  const scratchDir = scratchPath(stateDir, clone.path);
  const notes = await parseNotesConfig(values, { clone: clone.path, hasOrigin: clone.hasOrigin, stateDir, scratchDir, git, identity });
  return Object.freeze({
    dispatcher,
    intervalMs,
    branches,
    clone: clone.path,
    hasOrigin: clone.hasOrigin,
    originGitDir: clone.originGitDir,
    repoUrl,
    project: checkProject(values.project),
    supersede: values.supersede,
    stateDir,
    cursorFile: cursorPath(stateDir, clone.path),
    scratchDir,
    security,
    git,
    identity,
    notes,
  });
}

/** Beside the cursor file and keyed the same way, so observers sharing --state keep apart. */
function scratchPath(stateDir: string, clone: string): string {
  return join(stateDir, `${basename(cursorPath(stateDir, clone), '.json')}-work`);
}

/**
 * git takes any text for a name and email but quietly drops `<` and `>` and
 * refuses a blank name; a line break would forge a header line of the commit.
 */
function checkIdentity(name: string, email: string): Identity {
  if (name.trim() === '' || !isPrintable(name) || /[<>]/.test(name)) {
    throw new ConfigError(`--git-name must be a name of printable characters without "<" or ">" (at most ${LIMITS.printable}), got ${JSON.stringify(name)}`);
  }
  if (email === '' || !isPrintable(email) || /[\s<>]/.test(email)) {
    throw new ConfigError(`--git-email must be an address without spaces, "<" or ">" (at most ${LIMITS.printable} characters), got ${JSON.stringify(email)}`);
  }
  return Object.freeze({ name, email });
}

function checkProject(name: string | undefined): string | null {
  if (name === undefined) return null;
  if (!isName(name)) throw new ConfigError(`--project must be a plain name (letters, digits, ".", "_", "-"), got "${name}"`);
  return name;
}

function checkBranch(name: string): string {
  if (name.startsWith('-') || !isRefName(`refs/heads/${name}`)) {
    throw new ConfigError(`--branch must be a branch name that passes git check-ref-format, got "${name}"`);
  }
  return name;
}
