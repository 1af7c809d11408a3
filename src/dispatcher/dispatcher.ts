// Wires the parts of a dispatcher together: journal and state, scheduler,
// intake, the sessions of runners and observers, commands, result files,
// heartbeats and the server; what goes out (the outbox: `finished` events,
// forge statuses, the --on-result hook); the gate and patches; and beside
// them what the status page and `keel logs` read: the index of finished
// builds, the live logs, the changes they wait on, and the page's own HTTP
// server (http/). main.ts and the component tests both start a dispatcher
// here.

import { mkdirSync } from 'node:fs';
import { formatAddress } from '../common/address.js';
import type { Connection } from '../common/connection.js';
import { Heartbeats } from '../common/heartbeat.js';
import type { Log } from '../common/log.js';
import type { BuildRecord, JobSpec } from '../protocol/records.js';
import { AdminList } from './admins.js';
import { ArtifactStore } from './artifact-store.js';
import { startRetention } from './artifact-retention.js';
import { Autoscaler } from './autoscale.js';
import { BuildIndex } from './build-index.js';
import { BuildLookup } from './build-lookup.js';
import { Changes } from './changes.js';
import { BuildCommands } from './commands.js';
import type { DispatcherConfig } from './config.js';
import { StatusPage } from './http/server.js';
import { Intake, type IntakeParts } from './intake.js';
import { Journal } from './journal.js';
import { DISPATCHER_JOURNAL } from './journal-format.js';
import { JobSource } from './job-source.js';
import { LiveLogs } from './live-logs.js';
import { ObserverRegistry } from './observer-registry.js';
import { ObserverSessions } from './observer-sessions.js';
import { startOutputs } from './outputs.js';
import { OutboxPump } from './outbox-pump.js';
import { keyOf, type JournalRecord } from './records.js';
import { reduce } from './reducer.js';
import { ResultStore } from './result-store.js';
import { ResultWriter } from './result-writer.js';
import { RunnerHealth } from './runner-health.js';
import { RunnerRegistry } from './runner-registry.js';
import { RunnerSessions } from './runner-sessions.js';
import { Scheduler } from './scheduler.js';
import { DispatcherServer } from './server.js';
import { Gate } from './gate/gate.js';
import { readGenerated } from './generated-jobs.js';
import { branchOfRef } from './job-conditions.js';
import { decideJobs } from './job-decisions.js';
import { maySendSecrets, secretValues } from './secrets.js';
import { STACK_DEPTH } from './gate/types.js';
import { Patches } from './patches/patches.js';
import { PatchStore } from './patches/store.js';
import { PatchUploads } from './patches/upload.js';
import { snapshotOf, stateFrom, type Snapshot } from './state.js';
import { lockState } from './state-lock.js';

/** Finished land refs are looked at this often (and at start) for removal past --keep-refs. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface RunningDispatcher {
  host: string;
  port: number;
  /** Where the status page listens; null with --http-port off. */
  http: { host: string; port: number } | null;
  /** Stops accepting, closes every connection, flushes results and the journal. */
  close(): Promise<void>;
}

/** What tests may hand in instead of the real parts. */
export interface DispatcherParts {
  /** How a commit's jobs are found; by default keel.json read from the commit. */
  jobsFor?: IntakeParts['jobsFor'];
}

export async function startDispatcher(config: DispatcherConfig, log: Log, parts: DispatcherParts = {}): Promise<RunningDispatcher> {
  mkdirSync(config.state, { recursive: true });
  const lock = lockState(config.state);
  try {
    const running = await start(config, log, parts);
    // Said once started: a start that fails is one line, its reason.
    const stale = lock.tookOver;
    if (stale !== undefined) log(`took over the stale lock of ${stale ? `pid ${stale.pid} (since ${stale.since}), which is gone` : 'an unreadable lock file'}`);
    return { ...running, close: () => running.close().finally(() => lock.release()) };
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function start(config: DispatcherConfig, log: Log, parts: DispatcherParts): Promise<RunningDispatcher> {
  const { outputs } = config;
  const rules = { maxAttempts: config.maxAttempts, outputs: { statuses: outputs.forge !== null, hooks: outputs.hook !== null } };
  const liveLogs = new LiveLogs();
  const changes = new Changes();
  const results = new ResultStore(config.results, config.maxLogBytes, liveLogs);
  const jobSource = new JobSource(config.state, config.git);
  const opened = await Journal.open<Snapshot, JournalRecord>(config.state, { format: DISPATCHER_JOURNAL, log, recover: config.recover });
  const { journal } = opened;
  const state = stateFrom(opened.snapshot);
  for (const record of opened.records) reduce(state, record, rules);
  const index = await BuildIndex.open(config.state, log);

  const runners = new RunnerRegistry();
  runners.onChange = () => changes.changed();
  /**
   * The branch a build is of, for `when` and secrets: a push's, the target of
   * a try or land, the trunk a patch follows (a patch never gets secrets
   * whatever its branch: secrets.ts decides by subject first).
   */
  const branchOf = (build: { ref: string; subject: BuildRecord['subject'] }): string | null => {
    const { kind, request } = build.subject;
    if (kind === 'push') return branchOfRef(build.ref);
    const target = request === null ? undefined : kind === 'patch' ? state.patches.get(request)?.trunk : state.batches.get(request)?.target;
    return target === undefined || target === null ? null : branchOfRef(target);
  };
  const decide = (build: { repo: string; commit: string; ref: string; subject: BuildRecord['subject'] }, jobs: JobSpec[]) => decideJobs(jobs, {
    branch: branchOf(build), subject: build.subject.kind,
    changed: () => jobSource.changedPaths(build.repo, build.commit, build.subject.base),
  }, config.secrets);
  const writer: ResultWriter = new ResultWriter({
    results, log,
    currentRun: (build) => state.builds.get(keyOf(build))?.run ?? null,
    written: (build, run) => {
      // In the index before it leaves the state, so a branch's history never misses it.
      index.append(build);
      const durable = scheduler.record({ op: 'written', key: keyOf(build), run });
      if (scheduler.isHeldBack) scheduler.schedule();
      return durable;
    },
  });
  const artifacts = new ArtifactStore((build) => results.buildFolder(build), config.maxArtifactBytes);
  const finished = (build: BuildRecord) => {
    artifacts.forget(build);
    writer.write(build);
    gate.built(build);
    patches.built(build);
  };
  const scheduler: Scheduler = new Scheduler({
    state, rules, runners, log,
    maxUnwritten: config.maxUnwritten,
    health: new RunnerHealth({ after: config.unhealthyAfter, backoffMs: config.unhealthyForMs }),
    artifacts,
    persist: (record) => {
      const durable = journal.append(record);
      changes.changed();
      if (journal.wantsCompaction) void journal.compact(snapshotOf(state));
      return durable;
    },
    appendLog: (build, job, text) => results.appendLog(build, job, text),
    keepJunit: (build, job, xml) => results.keepJunit(build, job, xml, (error) => {
      log(`could not keep the JUnit XML of ${build.commit} (${job.name}): ${error.message}`);
    }),
    finished,
    outboxAdded: (from, to) => pump.added(from, to),
    generated: (build, outcome) => readGenerated(build, outcome.generated, (jobs) => decide(build, jobs)),
    secretsOf: (job) => secretValues(job.secrets, config.secrets),
  });
  const pump = new OutboxPump({ state, record: (record) => scheduler.record(record), log });
  const intake = new Intake({
    builds: state.builds,
    hasResult: (build) => results.hasResult(build),
    jobsFor: parts.jobsFor ?? ((repo, commit) => jobSource.jobsFor(repo, commit)),
    decide,
    record: (record) => scheduler.record(record),
    recorded: () => scheduler.schedule(),
    isLanded: (project, commit) => gate.isLanded(project, commit),
    log,
  });
  const commands = new BuildCommands({ scheduler, runners, results, intake, log });
  const observerSessions: ObserverSessions = new ObserverSessions(
    scheduler, new ObserverRegistry(), intake,
    (command, result, observer) => {
      const { op } = command.command;
      if (op === 'resolve' || op === 'locate') return commands.resolved(command, result, observer);
      if (op === 'apply' || op === 'range') return patches.answered(command, result, observer);
      return gate.answered(command, result, observer);
    },
    (project, ref, commit) => patches.trunkMoved(project, ref, commit),
    log,
  );
  commands.observers = observerSessions;
  const gate: Gate = new Gate({
    scheduler, intake, observers: observerSessions, commands, results, log,
    rules: { batchSize: config.batch, maxRemerge: config.maxRemerge, depth: STACK_DEPTH },
  });
  const patches: Patches = new Patches({
    scheduler, intake, observers: observerSessions, commands, results, store: new PatchStore(config.state), log,
    rules: { maxRetests: config.maxRetests },
  });
  observerSessions.outbox = pump;
  const workers = startOutputs({ config: outputs, state, pump, results, observers: observerSessions, log });
  const runnerSessions = new RunnerSessions(scheduler, runners, log);

  const orphans = runnerSessions.orphans;
  if (opened.snapshot || opened.records.length > 0) {
    log(`replayed journal: ${state.builds.size} active build(s), ${state.queue.length} queued job(s), ${orphans} running job(s) awaiting their runner`);
  }
  for (const key of state.unwritten) writer.write(state.builds.get(key)!);
  pump.start(workers);
  await gate.resume();
  await patches.resume();
  const prune = () => void gate.prune(config.keepRefsMs).catch((error: Error) => log(`could not prune land refs: ${error.message}`));
  prune();
  const pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
  pruneTimer.unref();
  // Jobs that were running when the last dispatcher stopped wait one deadline
  // for their runner to reconnect and reclaim them, then go back to the queue.
  const orphanTimer = orphans > 0
    ? setTimeout(() => runnerSessions.expireOrphans('the dispatcher restarted and the runner did not reclaim the job'), config.deadlineMs)
    : null;

  const heartbeats: Heartbeats<Connection> = new Heartbeats({
    intervalMs: config.heartbeatMs,
    deadlineMs: config.deadlineMs,
    ping: (conn, seq) => conn.send({ type: 'ping', seq }),
    // The peer's own `left` says who it was and why.
    silent: (conn, silentMs) => conn.close(new Error(`silent for ${silentMs} ms, past the deadline of ${config.deadlineMs} ms`)),
  });
  const admins = new AdminList(config.admins);
  const lookup = new BuildLookup({ state, results, journal });
  let listening = '';
  const autoscaler = config.scaling ? new Autoscaler({ config: config.scaling, state, runners, log, address: () => listening }) : null;
  const server = new DispatcherServer({
    admins,
    security: config.security,
    log,
    limits: config,
    heartbeats,
    runner: { scheduler, sessions: runnerSessions, heartbeats, journal, secure: (peer) => maySendSecrets(peer.source, config) },
    observer: { sessions: observerSessions, patches, heartbeats, log },
    client: {
      scheduler, runners, results, commands, gate, patches, uploads: new PatchUploads(config.maxPatchBytes), observers: observerSessions,
      admins, security: config.security, journal, log, index,
      logs: { lookup, logs: liveLogs, changes },
      ...(autoscaler ? { scaling: () => autoscaler.summary() } : {}),
    },
    left: (peer, reason) => {
      if (peer.role === 'runner') runnerSessions.left(peer.conn, reason);
      if (peer.role === 'observer') observerSessions.left(peer.conn);
    },
  });
  const address = await server.listen(config.host, config.port);
  const retention = startRetention(config.results, config.keepArtifactsDays, log);
  listening = formatAddress({ host: address.host === '0.0.0.0' || address.host === '::' ? '127.0.0.1' : address.host, port: address.port });
  autoscaler?.start();
  if (config.secrets) {
    const branches = config.secrets.protectedBranches;
    log(`${config.secrets.values.size} secret(s) for jobs of push and land builds of ${branches.length > 0 ? branches.join(', ') : 'no branch (no --protected): no build gets them'}`);
  }
  let page: StatusPage | null = null;
  const close = async () => {
    retention.stop();
    scheduler.stop();
    autoscaler?.stop();
    jobSource.close();
    if (orphanTimer) clearTimeout(orphanTimer);
    clearInterval(pruneTimer);
    workers.close();
    await page?.close();
    await server.close();
    await writer.close();
    pump.close();
    await results.close();
    await index.close();
    await journal.close();
  };
  let http: RunningDispatcher['http'] = null;
  if (config.http) {
    try {
      const started = await StatusPage.start({
        config: config.http, state, runners, placing: scheduler, artifacts, ...(autoscaler ? { scaling: () => autoscaler.summary() } : {}), heartbeats, index, lookup, logs: liveLogs, results, changes, journal, log,
        readCommit: (repo, commit) => jobSource.readCommit(repo, commit),
        observedRepo: (project) => [...observerSessions.all()].find((observer) => observer.project === project)?.repo,
      });
      page = started.page;
      http = { host: started.host, port: started.port };
    } catch (error) {
      await close();
      throw new Error(`the status page cannot listen on ${config.http.host}:${config.http.port}: ${(error as Error).message}`);
    }
  }
  return { ...address, http, close };
}
