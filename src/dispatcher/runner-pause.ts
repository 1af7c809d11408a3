// keel runner pause NAME / resume NAME: a paused runner finishes what it
// runs and takes nothing new, until resumed. Paused is journaled by name, so
// it holds through the runner's reconnects and the dispatcher's restarts, and
// a runner not connected now can be paused before it comes. Answered once
// the record is durable.

import { ErrorCode } from '../protocol/error-codes.js';
import { done, refuse, type Reply } from './reply.js';
import type { RunnerRegistry } from './runner-registry.js';
import type { Scheduler } from './scheduler.js';

export async function pauseRunner(parts: { scheduler: Scheduler; runners: RunnerRegistry }, runner: string, paused: boolean, by: string): Promise<Reply> {
  const { scheduler, runners } = parts;
  const was = scheduler.state.paused.has(runner);
  if (!paused && !was) return refuse(ErrorCode.notPaused, `runner ${runner} is not paused`);
  const conn = runners.named(runner);
  if (paused && was) return done(`runner ${runner} is paused already`);
  await scheduler.record({ op: 'pause', runner, paused, by, at: new Date().toISOString() });
  if (!paused) {
    scheduler.schedule();
    return done(`resumed runner ${runner}${conn ? '' : ' (not connected now)'}`);
  }
  if (!conn) return done(`paused runner ${runner}, not connected now: it takes no job when it connects, until resumed`);
  const running = conn.leases.size;
  return done(`paused runner ${runner}: it finishes ${running === 0 ? 'nothing (it runs no job)' : `the ${running} job${running === 1 ? '' : 's'} it runs`} and takes no new one`);
}
