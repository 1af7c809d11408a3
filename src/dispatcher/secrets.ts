// The dispatcher's secrets: named values in a file of its own (--secrets
// FILE, one NAME=value per line), refused when anyone but its owner may read
// it. Which builds may have them is decided here, purely: push and land
// builds of a protected branch (--protected main,release/*), never a try or a
// patch (code from an emailed patch must not read the deploy token) and
// never an unprotected branch. Only names are ever recorded; values go into
// the `job` message of the attempt that was given them, and nowhere else.

import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';
import { LIMITS } from '../protocol/limits.js';
import type { JobSpec, SecretGrant, SubjectKind } from '../protocol/records.js';
import { ENV_NAME } from './keel-json-check.js';
import { matchesGlob } from './job-conditions.js';

export interface SecretStore {
  /** Name → value. */
  readonly values: ReadonlyMap<string, string>;
  /** Branch globs whose push and land builds get secrets. */
  readonly protectedBranches: readonly string[];
}

const SUBJECTS_WITH_SECRETS: readonly SubjectKind[] = ['push', 'land'];

/** Reads --secrets FILE: refused (ConfigError) when group or others may read or write it, or a line is not NAME=value. */
export function loadSecrets(file: string): Map<string, string> {
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--secrets must be a readable file, got "${file}" (${(error as NodeJS.ErrnoException).code})`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`--secrets ${file} may be read by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): make it the dispatcher's alone (chmod 600)`);
  }
  const values = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const where = `--secrets ${file} line ${i + 1}`;
    const equals = line.indexOf('=');
    const name = equals < 0 ? '' : line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (!ENV_NAME.test(name) || name.startsWith('KEEL_') || name === 'PATH' || name === 'HOME') {
      throw new ConfigError(`${where}: must be NAME=value with NAME a variable name (not KEEL_*, PATH or HOME)`);
    }
    if (value.length < LIMITS.secretMinChars || value.length > LIMITS.text || value.includes('\0')) {
      throw new ConfigError(`${where}: the value of ${name} must be ${LIMITS.secretMinChars} to ${LIMITS.text} characters (a shorter one cannot be masked in output)`);
    }
    if (values.has(name)) throw new ConfigError(`${where}: ${name} is given twice`);
    values.set(name, value);
  });
  if (values.size > LIMITS.secretsInFile) throw new ConfigError(`--secrets ${file} holds ${values.size} secrets; at most ${LIMITS.secretsInFile} are allowed`);
  return values;
}

/** Why a build may have no secrets at all, or null when it may. */
export function withheldFrom(build: { branch: string | null; subject: SubjectKind }, store: SecretStore | null): string | null {
  if (store === null) return 'the dispatcher has no secrets (--secrets)';
  if (!SUBJECTS_WITH_SECRETS.includes(build.subject)) return `${build.subject} builds never get secrets`;
  if (build.branch === null) return 'the build is of no branch, and only protected branches get secrets';
  if (!store.protectedBranches.some((glob) => matchesGlob(build.branch!, glob))) {
    const list = store.protectedBranches.length > 0 ? ` (--protected ${store.protectedBranches.join(',')})` : ' (no branch is: --protected)';
    return `branch ${build.branch} is not protected${list}`;
  }
  return null;
}

/** Which of the secrets a job asks for it is given; undefined when it asks for none. */
export function grantFor(spec: JobSpec, build: { branch: string | null; subject: SubjectKind }, store: SecretStore | null): SecretGrant | undefined {
  const asked = spec.secrets ?? [];
  if (asked.length === 0) return undefined;
  const reason = withheldFrom(build, store);
  if (reason !== null) return { granted: [], withheld: [...asked], reason };
  const unknown = asked.filter((name) => !store!.values.has(name));
  return {
    granted: asked.filter((name) => store!.values.has(name)),
    withheld: unknown,
    reason: unknown.length === 0 ? '' : `the dispatcher has no secret ${unknown.join(', ')}`,
  };
}

/**
 * Whether secrets may be sent to a runner connected from `address`: over
 * TLS, to this machine (loopback), or anywhere when the operator said
 * --insecure; never in the clear over a network.
 */
export function maySendSecrets(address: string, { security, insecure }: { security: { tls: unknown }; insecure: boolean }): boolean {
  return security.tls !== null || insecure || address === '::1' || /^(?:::ffff:)?127\./.test(address);
}

/** The values of the secrets a job was granted, for its `job` message alone. */
export function secretValues(grant: SecretGrant | undefined, store: SecretStore | null): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of grant?.granted ?? []) {
    const value = store?.values.get(name);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

export const SECRET_FLAGS = {
  secrets: { type: 'string' },
  protected: { type: 'string', default: '' },
} as const;

export const SECRET_USAGE = `  --secrets FILE       named secrets for jobs, one NAME=value per line; refused when others may read it
  --protected a,b      branches (globs: release/*) whose push and land builds get the secrets they ask for`;

/** --secrets and --protected, read once at start. */
export function parseSecretFlags(values: { secrets?: string; protected: string }): SecretStore | null {
  const branches = values.protected === '' ? [] : values.protected.split(',');
  const bad = branches.find((glob) => glob === '' || glob.length > LIMITS.whenPatternChars || /[\s\u0000-\u001f]/.test(glob));
  if (bad !== undefined) throw new ConfigError(`--protected must be a comma-separated list of branch names or globs (release/*), got "${values.protected}"`);
  if (values.secrets === undefined) return null;
  return Object.freeze({ values: loadSecrets(values.secrets), protectedBranches: Object.freeze(branches) });
}
