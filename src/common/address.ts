import { ConfigError } from './errors.js';

export interface Address {
  host: string;
  port: number;
}

/** Parses `host:port` (or `[v6]:port`) as given to --dispatcher. */
export function parseAddress(value: string, flag: string): Address {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new ConfigError(`${flag} must be host:port with a port from 1 to 65535, got "${value}"`);
  }
  return { host: match[1] ?? match[2]!, port };
}

export function formatAddress({ host, port }: Address): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
