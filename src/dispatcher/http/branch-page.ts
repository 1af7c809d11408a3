// A branch's page: every build of it, newest first, a page at a time (the
// cursor is the build index's), with its badge.

import type { BuildSummary } from '../../protocol/records.js';
import type { CommitInfo } from './commit-info.js';
import { buildRows } from './fragments.js';
import { branchName } from './format.js';
import { html, type Html } from './html.js';
import { layout } from './layout.js';
import type { Links } from './links.js';

export interface BranchPageView {
  ref: string;
  builds: BuildSummary[];
  next: number | null;
  /** Whether this is a later page (a cursor was given). */
  later: boolean;
}

export function branchBody(view: BranchPageView, infos: Map<string, CommitInfo>, links: Links, now: number): Html {
  const name = branchName(view.ref);
  return html`<h1>${name} <img class="badge" src="${links.badge(view.ref)}" alt="build status of ${name}"></h1>
<p class="muted">Every build of <code>${view.ref}</code>, newest first.${view.later ? html` <a href="${links.branch(view.ref)}">Newest</a>` : ''}</p>
${buildRows(view.builds, infos, now, { branch: false })}
${view.next === null ? html`<p class="muted">No older builds on record.</p>` : html`<p><a rel="next" href="${links.branch(view.ref, view.next)}">Older builds</a></p>`}
<p class="muted api">As JSON: <a href="${links.apiBranch(view.ref)}">${links.apiBranch(view.ref)}</a></p>`;
}

export function branchPage(view: BranchPageView, infos: Map<string, CommitInfo>, links: Links, now: number): Html {
  return layout({ title: branchName(view.ref), links, body: branchBody(view, infos, links, now), script: view.later ? undefined : 'page.js', data: view.later ? {} : { events: links.events() } });
}
