// Wires the parts of a dispatcher together: result store, scheduler, server.
// main.ts and the component tests both start a dispatcher through here.

import type { Log } from '../common/log.js';
import type { DispatcherConfig } from './config.js';
import { ResultStore } from './result-store.js';
import { Scheduler } from './scheduler.js';
import { DispatcherServer } from './server.js';

export interface RunningDispatcher {
  host: string;
  port: number;
  scheduler: Scheduler;
  /** Stops accepting, closes every connection and flushes the results being written. */
  close(): Promise<void>;
}

export async function startDispatcher(config: DispatcherConfig, log: Log): Promise<RunningDispatcher> {
  const results = new ResultStore(config.results);
  const writing = new Set<Promise<void>>();
  const scheduler = new Scheduler({
    maxAttempts: config.maxAttempts,
    log,
    appendLog: (commit, text) => results.appendLog(commit, text),
    hasResult: (commit) => results.hasResult(commit),
    finished: (build) => {
      const write = results.writeResult(build)
        .then(() => log(`wrote ${config.results}/${build.commit}`))
        .catch((error: Error) => log(`could not write the result of ${build.commit}: ${error.message}`))
        .finally(() => writing.delete(write));
      writing.add(write);
    },
  });
  const server = new DispatcherServer({
    scheduler, results, log,
    heartbeatMs: config.heartbeatMs,
    deadlineMs: config.deadlineMs,
    helloTimeoutMs: config.helloTimeoutMs,
  });
  const address = await server.listen(config.host, config.port);
  return {
    ...address,
    scheduler,
    close: async () => {
      await server.close();
      await Promise.all(writing);
      await results.close();
    },
  };
}
