// keel notify: tell the dispatcher that the repository changed, so every
// connected observer scans at once instead of at its next poll. Made for a
// `post-receive` hook in the central repository. Prints how many observers
// were asked; exit 0, or 2 for bad usage or an unreachable dispatcher (the
// push itself has succeeded by then, and polling will find it anyway).

import { ConfigError } from '../common/errors.js';
import { parseFlags } from '../common/flags.js';
import { request } from './client.js';
import { parseTarget, TARGET_FLAGS, TARGET_USAGE } from './target.js';

export const NOTIFY_USAGE = `usage: keel notify [--dispatcher HOST:PORT]

Asks every observer connected to the dispatcher to look for new commits now.
Run it from the central repository's post-receive hook.

${TARGET_USAGE}`;

// A hook holds up the pusher's terminal: give up quickly, polling is the fallback.
const NOTIFY_TIMEOUT_MS = 5_000;

function parseNotifyArgs(argv: string[], env: NodeJS.ProcessEnv) {
  const parsed = parseFlags({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: TARGET_FLAGS,
  });
  if (parsed.positionals.length > 0) {
    throw new ConfigError(`keel notify takes no arguments, got ${parsed.positionals.map((p) => `"${p}"`).join(' ')}`);
  }
  return parseTarget(parsed.values, env);
}

export async function notify(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help')) {
    console.log(NOTIFY_USAGE);
    return 0;
  }
  const { address, security } = parseNotifyArgs(argv, env);
  // A client token is enough: notify only makes observers look sooner.
  const reply = await request(address, { type: 'notify' }, 'notified', { security, timeoutMs: NOTIFY_TIMEOUT_MS });
  console.log(`notified ${reply.observers} observer(s)`);
  return 0;
}
