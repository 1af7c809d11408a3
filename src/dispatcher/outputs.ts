// What delivers the outbox's items, as the config asks: the forge poster
// (--forge-status), the result hook (--on-result), and the observer
// sessions for `finished` events (always).

import type { Log } from '../common/log.js';
import { ForgePoster } from './forge-poster.js';
import type { ObserverSessions } from './observer-sessions.js';
import type { OutboxPump, OutboxWorkers } from './outbox-pump.js';
import type { OutputsConfig } from './outputs-config.js';
import { ResultHooks } from './result-hook.js';
import type { ResultStore } from './result-store.js';
import type { State } from './state.js';

export interface OutputParts {
  config: OutputsConfig;
  state: State;
  pump: OutboxPump;
  results: ResultStore;
  observers: ObserverSessions;
  log: Log;
}

export function startOutputs({ config, state, pump, results, observers, log }: OutputParts): OutboxWorkers & { close(): void } {
  const delivered = (id: number) => pump.delivered(id);
  const poster = config.forge === null ? null : new ForgePoster({
    forge: config.forge, publicUrl: config.publicUrl, log, delivered,
    waiting: (id) => state.outbox.statuses.has(id),
  });
  const hooks = config.hook === null ? null : new ResultHooks({
    hook: config.hook, publicUrl: config.publicUrl, log, delivered,
    resultJson: (build) => results.jsonPath(build),
    waiting: (id) => state.outbox.hooks.has(id),
  });
  return {
    status: poster && ((item) => poster.enqueue(item)),
    hook: hooks && ((item) => hooks.enqueue(item)),
    event: (item) => observers.event(item),
    close() {
      poster?.close();
      hooks?.close();
    },
  };
}
