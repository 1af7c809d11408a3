// Wires the parts of a dispatcher together: journal, scheduler, result store,
// server. main.ts and the component tests both start a dispatcher here.

import { backoffDelay } from '../common/backoff.js';
import type { Log } from '../common/log.js';
import { Slots } from '../common/slots.js';
import type { BuildRecord } from '../protocol/records.js';
import { AdminList } from './admins.js';
import type { DispatcherConfig } from './config.js';
import { JobSource } from './job-source.js';
import { Journal } from './journal.js';
import type { JournalRecord, SchedulerSnapshot } from './records.js';
import { ResultStore } from './result-store.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { DispatcherServer } from './server.js';

export interface RunningDispatcher {
  host: string;
  port: number;
  scheduler: Scheduler;
  /** Stops accepting, closes every connection, flushes results and the journal. */
  close(): Promise<void>;
}

const WRITE_RETRY = { baseMs: 500, capMs: 30_000 };
/** Builds whose result files are written at the same time; the libuv threadpool has four threads. */
const RESULT_WRITERS = 4;

/** What tests may hand in instead of the real parts. */
export interface DispatcherParts {
  /** How a commit's jobs are found; by default keel.json read from the commit. */
  jobsFor?: SchedulerOptions['jobsFor'];
}

export async function startDispatcher(config: DispatcherConfig, log: Log, parts: DispatcherParts = {}): Promise<RunningDispatcher> {
  const results = new ResultStore(config.results, config.maxLogBytes);
  const jobSource = new JobSource(config.state, config.git);
  const opened = await Journal.open<SchedulerSnapshot, JournalRecord>(config.state, log);
  const { journal } = opened;
  const writing = new Set<Promise<void>>();
  const retryTimers = new Set<NodeJS.Timeout>();
  let closing = false;

  // Result files are written a few builds at a time, in the order builds
  // finish: creating files in one folder from many threads at once only
  // makes them wait on the folder's lock (measured: a fifth of the
  // dispatcher's CPU spent spinning on it when every finished build wrote at
  // once), and the journal no longer shares the threadpool with a burst.
  const writers = new Slots(RESULT_WRITERS);

  // A result that cannot be written (disk full, permissions) stays in the
  // journal and is retried with backoff; `keel status` lists it meanwhile.
  const write = (build: BuildRecord, failures = 0): void => {
    const files = writers.run(() => results.writeResult(build));
    const attempt = files
      .then(async () => {
        log(`wrote ${config.results}/${build.project ? `${build.project}/` : ''}${build.commit}`);
        await scheduler.written(build);
      })
      .catch((error: Error) => {
        const delay = backoffDelay(failures, WRITE_RETRY);
        log(`could not write the result of ${build.commit}: ${error.message}; retrying in ${delay} ms`);
        if (closing) return;
        const timer = setTimeout(() => {
          retryTimers.delete(timer);
          write(build, failures + 1);
        }, delay);
        retryTimers.add(timer);
      })
      .finally(() => writing.delete(attempt));
    writing.add(attempt);
  };

  const scheduler: Scheduler = new Scheduler({
    maxAttempts: config.maxAttempts,
    maxUnwritten: config.maxUnwritten,
    log,
    persist: (record) => {
      const durable = journal.append(record);
      if (journal.wantsCompaction) {
        void journal.compact(scheduler.snapshot()).catch((error: Error) => log(`journal compaction failed: ${error.message}`));
      }
      return durable;
    },
    appendLog: (build, job, text) => results.appendLog(build, job, text),
    hasResult: (project, commit) => results.hasResult(project, commit),
    readResult: (project, commit) => results.readResult(project, commit),
    jobsFor: parts.jobsFor ?? ((repo, commit) => jobSource.jobsFor(repo, commit)),
    junit: (build, job, xml) => results.keepJunit(build, job, xml, (error) => {
      log(`could not keep the JUnit XML of ${build.commit} (${job.name}): ${error.message}`);
    }),
    finished: (build) => write(build),
  });
  scheduler.restore(opened.snapshot, opened.records);
  const { builds, queued } = scheduler.overview();
  if (opened.snapshot || opened.records.length > 0) {
    log(`replayed journal: ${builds.length} active build(s), ${queued} queued job(s), ${scheduler.orphanLeases} running job(s) awaiting their runner`);
  }
  for (const build of scheduler.pendingWrites()) write(build);

  // Jobs that were running when the last dispatcher stopped wait one deadline
  // for their runner to reconnect and reclaim them, then go back to the queue.
  const orphanTimer = scheduler.orphanLeases > 0
    ? setTimeout(() => scheduler.expireOrphans('the dispatcher restarted and the runner did not reclaim the job'), config.deadlineMs)
    : null;

  const server = new DispatcherServer({
    scheduler, results, log,
    admins: new AdminList(config.admins),
    security: config.security,
    heartbeatMs: config.heartbeatMs,
    deadlineMs: config.deadlineMs,
    helloTimeoutMs: config.helloTimeoutMs,
    maxPending: config.maxPending,
    maxLineBytes: config.maxLineBytes,
    maxErrors: config.maxErrors,
  });
  const address = await server.listen(config.host, config.port);
  return {
    ...address,
    scheduler,
    close: async () => {
      closing = true;
      scheduler.stop();
      jobSource.close();
      if (orphanTimer) clearTimeout(orphanTimer);
      for (const timer of retryTimers) clearTimeout(timer);
      await server.close();
      await Promise.all(writing);
      await results.close();
      await journal.close();
    },
  };
}
