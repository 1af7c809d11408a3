// Keel dispatcher: the scheduler and the record.
//
// Listens on one TCP port for observers (`commit` -> `queued`), runners
// (`register`, `pong`, `output`, `result` <- `job`, `ping`, `recorded`) and
// clients (`query` -> `status`). Pings runners every --heartbeat seconds and
// requeues the jobs of one silent past --deadline. Writes, per commit, under
// --results: <sha>.log (live output), then <sha>.json and <sha> (report),
// each atomically. Serves the status page over HTTP (--http-port) and keeps
// an index of finished builds under --state.

import { formatAddress } from '../common/address.js';
import { runAsEntry } from '../common/entry.js';
import { exitOnConfigError } from '../common/flags.js';
import { createLog } from '../common/log.js';
import { onShutdown } from '../common/shutdown.js';
import { DISPATCHER_USAGE, parseDispatcherConfig } from './config.js';
import { startDispatcher } from './dispatcher.js';

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(`${DISPATCHER_USAGE}\n`);
    return;
  }
  let config;
  try {
    config = parseDispatcherConfig(argv, process.env);
  } catch (error) {
    exitOnConfigError(error);
  }
  const log = createLog('dispatcher');
  let dispatcher;
  try {
    dispatcher = await startDispatcher(config, log);
  } catch (error) {
    process.stderr.write(`keel: cannot start the dispatcher on ${formatAddress(config)} with state in ${config.state}: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (config.security.warning) log(`warning: ${config.security.warning}`);
  const guard = config.security.secret ? 'secret required' : 'no secret: anyone who can connect is trusted';
  log(`listening on ${formatAddress(dispatcher)}${config.security.tls ? ' (TLS)' : ''}; results in ${config.results}; ${guard}`);
  if (dispatcher.http) {
    const { host, port } = dispatcher.http;
    const access = config.http?.token ? 'the client token required' : 'no --http-auth: no credential asked';
    log(`status page at http://${host.includes(':') ? `[${host}]` : host}:${port}/ (${access})`);
  }
  onShutdown(log, () => dispatcher.close());
}

runAsEntry(import.meta.url, main);
