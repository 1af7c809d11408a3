// The flags every process shares for securing its connections, read once at
// start: the shared secret (--token-file FILE, else KEEL_TOKEN) and the TLS
// files (--tls-cert, --tls-key, --tls-ca). Bad files are ConfigErrors; a
// token file other users can read is a warning for the entry to print.

import { readFileSync, statSync } from 'node:fs';
import { parseSecret, TokenError, type Secret } from './auth.js';
import { ConfigError } from './errors.js';

export interface TlsFiles {
  cert: Buffer | null;
  key: Buffer | null;
  ca: Buffer | null;
}

export interface Security {
  secret: Secret | null;
  tls: TlsFiles | null;
  /** Something about the files to tell the user once at start (a token file others can read). */
  warning?: string;
}

export const SECURITY_FLAGS = {
  'token-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;

/** The security flags' help, with what the secret must be for this process. */
export const securityUsage = (secret: string) => `  --token-file FILE       ${secret} (or set KEEL_TOKEN); see "Running Keel safely"
  --tls-cert FILE         TLS certificate (dispatcher: its own; peers: a client certificate)
  --tls-key FILE          the key of --tls-cert
  --tls-ca FILE           CA to trust (peers: the dispatcher's; dispatcher: required of clients)`;

interface SecurityValues {
  'token-file'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-ca'?: string;
}

function readFile(path: string | undefined, flag: string): Buffer | null {
  if (path === undefined) return null;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${flag} must be a readable file, got "${path}" (${(error as NodeJS.ErrnoException).code})`);
  }
}

/**
 * A secret every user can read is not secret; said, not refused. Readable by
 * its group is left alone: root:keel-runner 0640 is how a service's token is
 * given to its user.
 */
function tokenFileWarning(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o004) === 0) return undefined;
  return `--token-file ${path} can be read by every user (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${path}`;
}

function loadSecret(tokenFile: string | undefined, envToken: string | undefined): Secret | null {
  const fromFile = readFile(tokenFile, '--token-file');
  const text = fromFile?.toString('utf8') ?? envToken;
  if (text === undefined || text === '') return null;
  try {
    return parseSecret(text);
  } catch (error) {
    if (error instanceof TokenError) throw new ConfigError(`${fromFile ? '--token-file' : 'KEEL_TOKEN'}: ${error.message}`);
    throw error;
  }
}

export function loadSecurity(values: SecurityValues, envToken: string | undefined): Security {
  const cert = readFile(values['tls-cert'], '--tls-cert');
  const key = readFile(values['tls-key'], '--tls-key');
  const ca = readFile(values['tls-ca'], '--tls-ca');
  if ((cert === null) !== (key === null)) throw new ConfigError('--tls-cert and --tls-key must be given together');
  const warning = tokenFileWarning(values['token-file']);
  return {
    secret: loadSecret(values['token-file'], envToken),
    tls: cert || ca ? { cert, key, ca } : null,
    ...(warning === undefined ? {} : { warning }),
  };
}
