import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../common/errors.js';
import { configErrorFrom, parseInteger, parseSeconds } from '../common/flags.js';

export interface DispatcherConfig {
  readonly host: string;
  readonly port: number;
  readonly results: string;
  readonly state: string;
  readonly heartbeatMs: number;
  readonly deadlineMs: number;
  readonly helloTimeoutMs: number;
  readonly maxAttempts: number;
}

export const DISPATCHER_USAGE = `usage: keel dispatcher [--host ADDR] [--port N] [--results DIR] [--state DIR]
       [--heartbeat SECONDS] [--deadline SECONDS] [--max-attempts N]

  --host ADDR          address to listen on (default 127.0.0.1)
  --port N             TCP port; 0 picks a free one and prints it (default 8888)
  --results DIR        where result files go (default ./test_results)
  --state DIR          the journal of queued and running work (default ./.keel-state)
  --heartbeat SECONDS  how often each runner is pinged (default 5)
  --deadline SECONDS   silence after which a runner is lost (default 15)
  --max-attempts N     runner losses before a commit ends as error (default 3)
  --hello-timeout SECONDS  how long a new connection may take to say hello (default 10)`;

export function parseDispatcherConfig(argv: string[]): DispatcherConfig {
  let values;
  try {
    ({ values } = parseArgs({
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
        'hello-timeout': { type: 'string', default: '10' },
      },
    }));
  } catch (error) {
    throw configErrorFrom(error);
  }
  if (!/^[A-Za-z0-9.:-]+$/.test(values.host)) {
    throw new ConfigError(`--host must be an IP address or host name, got "${values.host}"`);
  }
  const heartbeatMs = parseSeconds(values.heartbeat, '--heartbeat', 0.05, 3600);
  const deadlineMs = parseSeconds(values.deadline, '--deadline', 0.1, 86_400);
  if (deadlineMs < 2 * heartbeatMs) {
    throw new ConfigError(`--deadline must be at least twice --heartbeat (${heartbeatMs / 500} s), got "${values.deadline}"`);
  }
  return Object.freeze({
    host: values.host,
    port: parseInteger(values.port, '--port', 0, 65535),
    results: resolve(values.results),
    state: resolve(values.state),
    heartbeatMs,
    deadlineMs,
    helloTimeoutMs: parseSeconds(values['hello-timeout'], '--hello-timeout', 0.1, 3600),
    maxAttempts: parseInteger(values['max-attempts'], '--max-attempts', 1, 100),
  });
}
