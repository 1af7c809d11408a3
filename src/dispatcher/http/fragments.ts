// Pieces several pages show the same way: a status pill, a build's row,
// who or what made a build, a time that the page's script keeps current.

import type { BuildStatus, BuildSummary } from '../../protocol/records.js';
import type { CommitInfo } from './commit-info.js';
import { formatAgo, formatDuration, formatSubject, formatTime, shortSha, STATUS_WORDS, branchName } from './format.js';
import { html, type Html } from './html.js';
import { Links } from './links.js';
import type { Estimate } from './views.js';

export function statusPill(status: BuildStatus, flaky = false): Html {
  return html`<span class="status status-${status}">${STATUS_WORDS[status]}</span>${flaky ? html` <span class="flaky" title="passed only on a retry">flaky</span>` : ''}`;
}

/** "3 min ago", kept current by the page's script. */
export function ago(iso: string | null, now: number): Html {
  return iso === null ? html`–` : html`<time datetime="${iso}" data-ago="${iso}" title="${formatTime(iso)}">${formatAgo(iso, now)}</time>`;
}

/** A duration; for a build still running, the time since it started, kept current by the script. */
export function elapsed(build: Pick<BuildSummary, 'status' | 'startedAt' | 'durationMs'>, now: number): Html {
  if (build.status === 'running' && build.startedAt !== null) {
    return html`<time data-since="${build.startedAt}">${formatDuration(now - Date.parse(build.startedAt))}</time>`;
  }
  return html`${formatDuration(build.durationMs)}`;
}

export function estimate(found: Estimate | null, links: Links): Html {
  if (found === null) return html`<span class="muted">no estimate: no passing build of this branch on record</span>`;
  return html`ends <time data-until="${found.endsAt}" title="${formatTime(found.endsAt)}">around ${formatTime(found.endsAt)}</time>
<span class="muted">(the last passing build, <a href="${links.build(found.from)}">${shortSha(found.from)}</a>, took ${formatDuration(found.durationMs)})</span>`;
}

/** Who or what made the build: a push by the commit's author, or a request. */
export function trigger(build: Pick<BuildSummary, 'subject'>, info: CommitInfo | undefined): Html {
  const what = formatSubject(build.subject);
  return info ? html`${what} · <span class="author">${info.author}</span>` : html`${what}`;
}

export function buildRows(builds: BuildSummary[], infos: Map<string, CommitInfo>, now: number, options: { branch?: boolean } = {}): Html {
  if (builds.length === 0) return html`<p class="muted">No builds.</p>`;
  const rows = builds.map((build) => {
    const links = new Links(build.project);
    const info = infos.get(build.commit);
    const jobs = Object.values(build.jobs).reduce((sum, n) => sum + (n ?? 0), 0);
    return html`<tr class="build-row" data-status="${build.status}">
<td>${statusPill(build.status, build.flaky)}${build.unwritten ? html` <span class="muted" title="the result files are not written yet">(files pending)</span>` : ''}</td>
<td><a class="sha" href="${links.build(build.commit)}">${shortSha(build.commit)}</a>${build.run > 1 ? html` <span class="muted">run ${build.run}</span>` : ''}</td>
${options.branch === false ? '' : html`<td>${build.project === null ? '' : html`<span class="muted">${build.project}:</span>`}<a href="${links.branch(build.ref)}">${branchName(build.ref)}</a></td>`}
<td class="subject">${info?.subject ?? ''}</td>
<td>${trigger(build, info)}</td>
<td>${build.jobs.passed ?? 0}/${jobs}</td>
<td>${elapsed(build, now)}</td>
<td>${ago(build.endedAt ?? build.startedAt ?? build.queuedAt, now)}</td>
<td class="note">${build.note}</td>
</tr>`;
  });
  return html`<table class="builds"><thead><tr><th>status</th><th>commit</th>${options.branch === false ? '' : html`<th>branch</th>`}<th>subject</th><th>trigger</th><th>passed</th><th>duration</th><th>when</th><th>note</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}
