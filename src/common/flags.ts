// Helpers for turning parseArgs strings into checked values. Each failure is
// a ConfigError naming the flag, the value and what was expected.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from './errors.js';
import { suggest } from './suggest.js';

/** A duration given in `unit`s (fractions allowed), in milliseconds. */
function parseDuration(value: string, flag: string, min: number, max: number, unit: 'seconds' | 'days', msPerUnit: number): number {
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new ConfigError(`${flag} must be a number of ${unit} from ${min} to ${max}, got "${value}"`);
  }
  return Math.round(n * msPerUnit);
}

export function parseSeconds(value: string, flag: string, min: number, max: number): number {
  return parseDuration(value, flag, min, max, 'seconds', 1000);
}

export function parseDays(value: string, flag: string, min: number, max: number): number {
  return parseDuration(value, flag, min, max, 'days', 86_400_000);
}

export function parseInteger(value: string, flag: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new ConfigError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/**
 * util.parseArgs, with its errors (unknown flag, missing value) as one-line
 * ConfigErrors; an unknown flag close to a known one gets a suggestion.
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw configErrorFrom(error, Object.keys(config.options ?? {}));
  }
}

/**
 * Wraps util.parseArgs errors (unknown flag, missing value) as ConfigError,
 * keeping only their first sentence so the user sees one line.
 */
function configErrorFrom(error: unknown, options: string[]): ConfigError {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
  const unknown = (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'--([^'=]+)/.exec(message)?.[1] : undefined;
  const near = unknown === undefined ? null : suggest(unknown, options);
  return new ConfigError(near === null ? message : `${message}: did you mean --${near}?`);
}

/** Prints the one-line reason and exits 2, as every entry point does on bad flags. */
export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`keel: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
