// The overview: runners (what each runs, when it was last heard from), the
// queue with why each job waits, the builds `keel status` lists, recent
// builds per branch, the land queue and the newest patches. Updates itself:
// page.js reloads <main> on each event.

import type { LandState, LandSummary, ScalingSummary } from '../../protocol/records.js';
import type { PatchState, PatchSummary } from '../../protocol/patch-records.js';
import type { CommitInfo } from './commit-info.js';
import { ago, buildRows, statusPill } from './fragments.js';
import { branchName, formatDuration, shortSha } from './format.js';
import { html, type Html } from './html.js';
import { layout } from './layout.js';
import { Links } from './links.js';
import type { OverviewView, QueueRow, RunnerRow } from './views.js';

function runnersTable(runners: RunnerRow[], now: number): Html {
  if (runners.length === 0) return html`<p class="muted">No runner is connected. Start one: <code>npx keel runner --dispatcher HOST:PORT</code></p>`;
  const rows = runners.map((runner) => html`<tr>
<td class="name">${runner.name}${runner.draining ? html` <span class="muted">(draining)</span>` : ''}${runner.paused ? html` <span class="muted">(paused)</span>` : ''}${runner.unhealthy === null ? '' : html` <div class="warning">unhealthy: ${runner.unhealthy}</div>`}</td>
<td>${runner.labels.length > 0 ? runner.labels.map((label) => html`<span class="label">${label}</span> `) : html`<span class="muted">none</span>`}</td>
<td>${runner.busy}/${runner.slots}</td>
<td>${ago(runner.lastSeenAt, now)}</td>
<td>${runner.running.length === 0 ? html`<span class="muted">idle</span>` : runner.running.map((job) => {
    const links = new Links(job.project);
    return html`<div><a href="${links.job(job.commit, job.job)}">${job.title}</a> of <a class="sha" href="${links.build(job.commit)}">${shortSha(job.commit)}</a>
(${branchName(job.ref)}, attempt ${job.attempt}, <time data-since="${job.startedAt}">${formatDuration(now - Date.parse(job.startedAt))}</time>)</div>`;
  })}</td>
</tr>`);
  return html`<table><thead><tr><th>runner</th><th>labels</th><th>slots in use</th><th>last heard from</th><th>running now</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Runners the dispatcher started on demand, and how starting them went. */
function scalingNote({ started, failures, lastFailure, backoffUntil }: ScalingSummary, now: number): Html {
  const runners = started.length === 0 ? html`none now` : started.map((runner, i) => html`${i > 0 ? ', ' : ''}<span class="name">${runner.name}</span> (${runner.state}, ${ago(runner.since, now)}: ${runner.reason})`);
  const failed = failures > 0 ? html`; ${failures} failed start(s), the last: ${lastFailure}${backoffUntil ? html`; none started before ${backoffUntil}` : ''}` : '';
  return html`<p class="muted" id="scaling">Started on demand: ${runners}${failed}</p>`;
}

function queueTable(queue: QueueRow[], total: number, now: number): Html {
  if (total === 0) return html`<p class="muted">Nothing is waiting.</p>`;
  const rows = queue.map((row) => {
    const links = new Links(row.project);
    return html`<tr>
<td>${row.title}${row.labels.length > 0 ? html` ${row.labels.map((label) => html`<span class="label">${label}</span> `)}` : ''}</td>
<td><a class="sha" href="${links.build(row.commit)}">${shortSha(row.commit)}</a></td>
<td><a href="${links.branch(row.ref)}">${branchName(row.ref)}</a></td>
<td>${ago(row.queuedAt, now)}</td>
<td class="reason">${row.reason}</td>
</tr>`;
  });
  const more = total > queue.length ? html`<p class="muted">and ${total - queue.length} more jobs waiting</p>` : '';
  return html`<table><thead><tr><th>job</th><th>commit</th><th>branch</th><th>queued</th><th>why it waits</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
}

/** The colour of a request's or patch's state: that of the build status it is like. */
const LAND_LOOK: Record<LandState, string> = {
  queued: 'queued', merging: 'running', testing: 'running', landing: 'running', landed: 'passed', passed: 'passed',
  failed: 'failed', conflict: 'failed', cancelled: 'cancelled', error: 'error',
};
const PATCH_LOOK: Record<PatchState, string> = { open: 'running', passed: 'passed', failed: 'failed', conflict: 'failed', closed: 'cancelled' };
const statePill = (state: string, look: string) => html`<span class="status status-${look}">${state}</span>`;

function landTable(requests: LandSummary[], now: number): Html {
  if (requests.length === 0) return html`<p class="muted">No land or try request. Queue one: <code>npx keel land BRANCH --into main</code></p>`;
  const rows = requests.map((request) => {
    const links = new Links(request.project);
    const tested = request.builds.at(-1);
    return html`<tr>
<td class="name">${request.id}</td>
<td>${request.kind}${request.squash ? ' (squash)' : ''}</td>
<td><a href="${links.branch(request.branch)}">${branchName(request.branch)}</a> → <a href="${links.branch(request.target)}">${branchName(request.target)}</a></td>
<td>${statePill(request.state, LAND_LOOK[request.state])}${request.flaky ? html` <span class="flaky" title="a job passed only on a retry">flaky</span>` : ''}</td>
<td>${tested ? html`<a class="sha" href="${links.build(tested.commit)}">${shortSha(tested.commit)}</a>` : html`<span class="muted">–</span>`}</td>
<td>${request.by}</td>
<td>${ago(request.queuedAt, now)}</td>
<td class="note">${request.message}</td>
</tr>`;
  });
  return html`<table><thead><tr><th>request</th><th>kind</th><th>branch → target</th><th>state</th><th>tested as</th><th>by</th><th>queued</th><th>why</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function patchTable(patches: PatchSummary[], now: number): Html {
  if (patches.length === 0) return html`<p class="muted">No patch. Send one: <code>npx keel patch series.mbox</code></p>`;
  const rows = patches.map((patch) => {
    const links = new Links(patch.project);
    const applied = patch.latest?.applied ?? null;
    return html`<tr>
<td class="name">${patch.id}</td>
<td class="subject">${patch.subject}</td>
<td>${patch.author}</td>
<td>${statePill(patch.state, PATCH_LOOK[patch.state])}${patch.flags.map((flag) => html` <span class="label">${flag}</span>`)}</td>
<td>${applied === null ? html`<span class="muted">–</span>` : html`<a class="sha" href="${links.build(applied)}">${shortSha(applied)}</a>`}</td>
<td>v${patch.versions}</td>
<td>${ago(patch.submittedAt, now)}</td>
</tr>`;
  });
  return html`<table><thead><tr><th>patch</th><th>subject</th><th>author</th><th>state</th><th>tested as</th><th>versions</th><th>sent</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function branchesTable(view: OverviewView, infos: Map<string, CommitInfo>, now: number): Html {
  if (view.branches.length === 0) return html`<p class="muted">No branch has been built yet.</p>`;
  const rows = view.branches.map((branch) => {
    const links = new Links(branch.project);
    const [latest] = branch.builds;
    return html`<tr>
<td>${branch.project === null ? '' : html`<span class="muted">${branch.project}:</span>`}<a href="${links.branch(branch.ref)}">${branchName(branch.ref)}</a></td>
<td>${latest ? statusPill(latest.status, latest.flaky) : ''}</td>
<td class="history">${branch.builds.map((build) => html`<a class="dot status-${build.status}" href="${links.build(build.commit)}" title="${shortSha(build.commit)}: ${build.status}">${shortSha(build.commit).slice(0, 7)}</a> `)}</td>
<td class="subject">${latest ? infos.get(latest.commit)?.subject ?? '' : ''}</td>
<td>${latest ? ago(latest.endedAt ?? latest.startedAt ?? latest.queuedAt, now) : ''}</td>
</tr>`;
  });
  return html`<table><thead><tr><th>branch</th><th>last build</th><th>recent builds, newest first</th><th>subject</th><th>when</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function overviewBody(view: OverviewView, infos: Map<string, CommitInfo>, links: Links, now: number): Html {
  const { status } = view;
  const unwritten = status.unwrittenCount > 0
    ? html`<p class="warning">${status.unwrittenCount} finished build(s) wait for their result files to be written; the dispatcher keeps them and retries.</p>` : '';
  return html`<h1>Overview</h1>
${unwritten}
<section id="runners"><h2>Runners <span class="count">${view.runners.length}</span></h2>${runnersTable(view.runners, now)}${status.scaling ? scalingNote(status.scaling, now) : ''}</section>
<section id="queue"><h2>Queue <span class="count">${view.queueTotal}</span></h2>${queueTable(view.queue, view.queueTotal, now)}</section>
<section id="builds"><h2>Builds</h2>${buildRows(status.builds, infos, now)}${status.omitted > 0 ? html`<p class="muted">and ${status.omitted} more</p>` : ''}</section>
<section id="branches"><h2>Branches</h2>${branchesTable(view, infos, now)}</section>
<section id="land-queue"><h2>Land queue <span class="count">${view.landQueue.filter((r) => r.endedAt === null).length}</span></h2>${landTable(view.landQueue, now)}</section>
<section id="patches"><h2>Patches</h2>${patchTable(view.patches, now)}</section>
<p class="muted api">As JSON: <a href="${links.apiStatus()}">/api/status</a></p>`;
}

export function overviewPage(view: OverviewView, infos: Map<string, CommitInfo>, links: Links, now: number): Html {
  return layout({ title: 'Overview', links, body: overviewBody(view, infos, links, now), script: 'page.js', data: { events: links.events() } });
}
