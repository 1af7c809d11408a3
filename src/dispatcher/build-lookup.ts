// Finding a build by project and commit the way `keel status SHA` does:
// active or not yet written (the state), recently finished (the state's
// recent list), or from its result file. Shared by the status page and
// `keel logs`, so both see what `keel status` sees. A commit a patch was
// applied as is found as that patch's build (its files live apart).

import type { BuildRecord, BuildStatus, Subject } from '../protocol/records.js';
import { PUSH } from '../protocol/records.js';
import { isFinished } from './build.js';
import type { Journal } from './journal.js';
import { buildKey, keyOf, type BuildKey } from './records.js';
import type { ResultStore } from './result-store.js';
import type { State } from './state.js';

export interface Found {
  build: BuildRecord;
  /** Finished, with its result files not written yet. */
  unwritten: boolean;
}

export interface LookupParts {
  state: State;
  results: ResultStore;
  journal: Pick<Journal<unknown, object>, 'synced'>;
}

export class BuildLookup {
  constructor(private readonly parts: LookupParts) {}

  /** The build in memory now, without reading a file. */
  inMemory(key: BuildKey): Found | null {
    const { state } = this.parts;
    const active = state.builds.get(key);
    if (active) return { build: active, unwritten: state.unwritten.has(key) };
    const recent = state.recent.find((build) => keyOf(build) === key);
    return recent ? { build: recent, unwritten: false } : null;
  }

  async find(project: string | null, commit: string): Promise<Found | null> {
    const key = buildKey(project, PUSH, commit);
    const known = this.inMemory(key);
    if (known) return known;
    const build = await this.parts.results.readResult({ project, subject: PUSH, commit });
    // It may have been retried while the file was read.
    const found = this.inMemory(key) ?? (build ? { build, unwritten: false } : null);
    return found ?? this.findPatchBuild(project, commit);
  }

  private async findPatchBuild(project: string | null, commit: string): Promise<Found | null> {
    const subject = this.patchSubject(project, commit);
    if (subject === null) return null;
    const key = buildKey(project, subject, commit);
    const known = this.inMemory(key);
    if (known) return known;
    const build = await this.parts.results.readResult({ project, subject, commit });
    return this.inMemory(key) ?? (build ? { build, unwritten: false } : null);
  }

  /** The subject of the patch build of `commit`: a patch of the project applied as it (or as its tests alone). */
  private patchSubject(project: string | null, commit: string): Subject | null {
    for (const entry of this.parts.state.patches.values()) {
      if (entry.project !== project) continue;
      for (const version of entry.versions) {
        const app = version.applications.find((a) => a.applied === commit || a.testsOnly === commit);
        if (app) return { kind: 'patch', base: app.onto, request: entry.id, requests: [] };
      }
    }
    return null;
  }

  /** For a follower: the job's status once it has finished and that is durable; null while it waits or runs. */
  jobEnded(project: string | null, commit: string, job: string): () => Promise<BuildStatus | null> {
    return async () => {
      const found = await this.find(project, commit);
      const record = found?.build.jobs.find((j) => j.name === job);
      // A build that is gone, or a job it no longer has, has nothing more to show.
      const status = record ? record.status : 'error';
      if (!isFinished(status)) return null;
      await this.parts.journal.synced();
      return status;
    };
  }

  /** For a follower of a whole build: its status once every job has finished. */
  buildEnded(project: string | null, commit: string): () => Promise<BuildStatus | null> {
    return async () => {
      const found = await this.find(project, commit);
      const status = found ? found.build.status : 'error';
      if (!isFinished(status)) return null;
      await this.parts.journal.synced();
      return status;
    };
  }
}
