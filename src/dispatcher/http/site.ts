// What the status page's handlers read: the dispatcher's parts they share
// with `keel status` (its state, runners, the build index and lookup, the
// live logs), and the few things kept for the page alone: commit subjects
// and authors, and the last overview rendered (many browsers asking again
// after the same change are answered from it).

import type { Connection } from '../../common/connection.js';
import type { Heartbeats } from '../../common/heartbeat.js';
import type { Log } from '../../common/log.js';
import type { Status } from '../../protocol/messages.js';
import type { ScalingSummary } from '../../protocol/records.js';
import type { ArtifactStore } from '../artifact-store.js';
import type { BuildIndex } from '../build-index.js';
import type { BuildLookup } from '../build-lookup.js';
import type { Changes } from '../changes.js';
import type { Journal } from '../journal.js';
import type { LiveLogs } from '../live-logs.js';
import { overview, type Placing } from '../queries.js';
import type { ResultStore } from '../result-store.js';
import type { RunnerRegistry } from '../runner-registry.js';
import type { State } from '../state.js';
import { CommitInfos, type CommitInfo, type ReadCommit } from './commit-info.js';
import type { HttpConfig } from './config.js';
import { overviewView, type OverviewView } from './views.js';

export interface SiteParts {
  config: HttpConfig;
  state: State;
  runners: RunnerRegistry;
  /** The scheduler: who is paused or backs off, and what holds every job back, as `keel status` says. */
  placing: Placing;
  /** Where kept artifact files are, for their downloads. */
  artifacts: Pick<ArtifactStore, 'fileOf'>;
  /** Runners started on demand, when the dispatcher starts any (--runner-start). */
  scaling?: () => ScalingSummary;
  heartbeats: Heartbeats<Connection>;
  index: BuildIndex;
  lookup: BuildLookup;
  logs: LiveLogs;
  results: ResultStore;
  changes: Changes;
  journal: Pick<Journal<unknown, object>, 'synced' | 'stalled'>;
  readCommit: ReadCommit;
  /** The repository a project's observer reports from now, if one is connected. */
  observedRepo(project: string | null): string | undefined;
  log: Log;
}

/** How long an overview may be reused when nothing has changed (the times on it move on). */
const OVERVIEW_REUSE_MS = 250;

export class Site {
  readonly commits: CommitInfos;
  private lastOverview: { key: string; at: number; view: OverviewView; infos: Map<string, CommitInfo> } | null = null;

  constructor(readonly parts: SiteParts) {
    this.commits = new CommitInfos(parts.readCommit);
  }

  /** Where a project's commits are read from: its observer's repository, else the one its last build came from. */
  repoOf(project: string | null): string | null {
    return this.parts.observedRepo(project) ?? this.parts.index.repos.get(project) ?? null;
  }

  /** Subjects and authors of the commits of these builds. */
  infosOf(builds: Iterable<{ commit: string; project: string | null }>): Promise<Map<string, CommitInfo>> {
    const known: Array<{ repo: string; commit: string }> = [];
    let fromState: Map<string, string> | null = null;
    for (const { commit, project } of builds) {
      let repo = this.repoOf(project);
      if (repo === null) {
        fromState ??= new Map([...this.parts.state.builds.values()].map((build) => [build.commit, build.repo]));
        repo = fromState.get(commit) ?? null;
      }
      if (repo !== null) known.push({ repo, commit });
    }
    return this.commits.all(known);
  }

  status(): Status {
    const status = overview(this.parts.state, this.parts.runners, Date.now(), this.parts.placing);
    return this.parts.scaling ? { ...status, scaling: this.parts.scaling() } : status;
  }

  /** The overview of one project (or, undefined, of all), with its commits' subjects. */
  async overview(project: string | null | undefined): Promise<{ view: OverviewView; infos: Map<string, CommitInfo> }> {
    const now = Date.now();
    const key = `${this.parts.changes.version}\u0000${project === undefined ? '*' : project ?? ''}`;
    if (this.lastOverview && this.lastOverview.key === key && now - this.lastOverview.at < OVERVIEW_REUSE_MS) return this.lastOverview;
    const { state, runners, placing, heartbeats, index } = this.parts;
    const view = overviewView({
      state, runners: runners.all(), placing, recent: index.recent, now,
      lastSeen: (conn) => heartbeats.lastSeenOf(conn.peer as Connection),
    }, this.status(), project);
    const infos = await this.infosOf([...view.status.builds, ...view.branches.flatMap((branch) => branch.builds.slice(0, 1))]);
    this.lastOverview = { key, at: now, view, infos };
    return this.lastOverview;
  }
}
