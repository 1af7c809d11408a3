// The flags of runners started on demand, read once at start: the
// operator's start and stop commands (run with `sh -c`, given the runner's
// name and labels in their environment), and when to start and stop.

import { ConfigError } from '../common/errors.js';
import { parseInteger, parseSeconds } from '../common/flags.js';

export interface ScalingConfig {
  readonly startCommand: string;
  readonly stopCommand: string | null;
  /** Jobs wait this long for a runner with their labels before one is started. */
  readonly scaleAfterMs: number;
  /** A runner started on demand that has run nothing for this long is drained and stopped. */
  readonly idleStopMs: number;
  readonly maxStarted: number;
  /** A started runner that has not registered by then counts as a failed start. */
  readonly startDeadlineMs: number;
  /** What the commands run with: the dispatcher's environment without KEEL_* (its secret stays its own). */
  readonly env: Readonly<NodeJS.ProcessEnv>;
}

export const SCALING_FLAGS = {
  'runner-start': { type: 'string' },
  'runner-stop': { type: 'string' },
  'scale-after': { type: 'string', default: '10' },
  'idle-stop': { type: 'string', default: '300' },
  'max-started': { type: 'string', default: '4' },
  'start-deadline': { type: 'string', default: '120' },
} as const;

export const SCALING_USAGE = `  --runner-start CMD   run (sh -c CMD, with KEEL_RUNNER_NAME and KEEL_LABELS) to start a runner when jobs wait
  --runner-stop CMD    run (with KEEL_RUNNER_NAME) to stop a runner it started that stayed idle
  --scale-after SECONDS  how long jobs wait for a runner with their labels before one is started (default 10)
  --idle-stop SECONDS  a started runner idle this long is drained and stopped (default 300)
  --max-started N      runners started on demand at once, at most (default 4)
  --start-deadline SECONDS  a started runner that has not registered by then is a failed start (default 120)`;

interface ScalingValues {
  'runner-start'?: string;
  'runner-stop'?: string;
  'scale-after': string;
  'idle-stop': string;
  'max-started': string;
  'start-deadline': string;
}

export function parseScalingFlags(values: ScalingValues, env: NodeJS.ProcessEnv): ScalingConfig | null {
  const command = (flag: 'runner-start' | 'runner-stop') => {
    const value = values[flag];
    if (value !== undefined && (value.trim() === '' || value.includes('\0'))) throw new ConfigError(`--${flag} must be a command, got "${value}"`);
    return value ?? null;
  };
  const start = command('runner-start');
  const stop = command('runner-stop');
  if (start === null) {
    if (stop !== null) throw new ConfigError('--runner-stop needs --runner-start: the dispatcher stops only runners it started');
    return null;
  }
  return Object.freeze({
    startCommand: start,
    stopCommand: stop,
    scaleAfterMs: parseSeconds(values['scale-after'], '--scale-after', 0, 86_400),
    idleStopMs: parseSeconds(values['idle-stop'], '--idle-stop', 0.1, 7 * 86_400),
    maxStarted: parseInteger(values['max-started'], '--max-started', 1, 1000),
    startDeadlineMs: parseSeconds(values['start-deadline'], '--start-deadline', 0.1, 86_400),
    env: Object.freeze(Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('KEEL_')))),
  });
}
