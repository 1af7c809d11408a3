// The status page's flags, read with the dispatcher's: where it listens,
// whether every request needs a credential, how many live streams it
// serves. Logs of private code are not for everyone: without --http-auth
// the page listens on loopback only (as the TCP port does without a
// secret), unless --insecure says otherwise.

import { readFileSync } from 'node:fs';
import { formatToken, parseSecret, TokenError } from '../../common/auth.js';
import { ConfigError } from '../../common/errors.js';
import { parseInteger } from '../../common/flags.js';

export interface HttpConfig {
  readonly host: string;
  readonly port: number;
  /** The `keel token client` secret every request must carry; null when none is needed. */
  readonly token: string | null;
  /** Live streams (log followers and page events) served at once. */
  readonly maxClients: number;
}

export const HTTP_FLAGS = {
  'http-host': { type: 'string' },
  'http-port': { type: 'string' },
  'http-auth': { type: 'string' },
  'http-max-clients': { type: 'string', default: '200' },
} as const;

export const HTTP_USAGE = `  --http-port N|off    the status page's port (default 8080; 0 when --port is 0: any free port, printed); off: no page
  --http-host ADDR     the status page's address (default --host with --http-auth, else 127.0.0.1)
  --http-auth FILE     every page request needs the client token (keel token client) derived from the secret in FILE
                       (the master secret or that client token), as HTTP Basic password or "Authorization: Bearer"
  --http-max-clients N live streams (followed logs, self-updating pages) served at once (default 200)`;

const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

export interface HttpValues {
  'http-host'?: string;
  'http-port'?: string;
  'http-auth'?: string;
  'http-max-clients': string;
}

/** The page's config; null with --http-port off. `dispatcher` is what --host, --port and --insecure said. */
export function parseHttpConfig(values: HttpValues, dispatcher: { host: string; port: number; insecure: boolean }): HttpConfig | null {
  const portText = values['http-port'] ?? (dispatcher.port === 0 ? '0' : '8080');
  if (portText === 'off') return null;
  const port = parseInteger(portText, '--http-port', 0, 65535);
  const token = values['http-auth'] === undefined ? null : readToken(values['http-auth']);
  const given = values['http-host'];
  if (given !== undefined && !/^[A-Za-z0-9.:-]+$/.test(given)) {
    throw new ConfigError(`--http-host must be an IP address or host name, got "${given}"`);
  }
  const host = given ?? (token !== null || LOOPBACK.includes(dispatcher.host) ? dispatcher.host : '127.0.0.1');
  if (token === null && !LOOPBACK.includes(host) && !dispatcher.insecure) {
    throw new ConfigError(`--http-host ${host} would show every log to anyone who can connect: give --http-auth FILE, or pass --insecure to accept anyone`);
  }
  return Object.freeze({
    host, port, token,
    maxClients: parseInteger(values['http-max-clients'], '--http-max-clients', 1, 100_000),
  });
}

/** The client token a request must show, from a file holding the master secret or that token. */
function readToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--http-auth must be a readable file, got "${path}" (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    const secret = parseSecret(text);
    if (secret.kind === 'master') return formatToken(secret.key, 'client');
    if (secret.role === 'client') return text.trim();
    throw new ConfigError(`--http-auth needs the master secret or a client token, got a ${secret.role} token`);
  } catch (error) {
    if (error instanceof TokenError) throw new ConfigError(`--http-auth: ${error.message}`);
    throw error;
  }
}
