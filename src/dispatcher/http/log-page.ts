// A job's log page. The log itself is drawn by log-page.js from the log's
// outline (/api/.../outline), Range requests for what is not loaded yet, and
// the live stream (/builds/<sha>/log?follow=1); this page is the frame:
// which job of which build, its status, and the controls.

import type { BuildRecord, JobRecord } from '../../protocol/records.js';
import { statusPill } from './fragments.js';
import { branchName, shortSha } from './format.js';
import { html, type Html } from './html.js';
import { layout } from './layout.js';
import type { Links } from './links.js';

export function logPage(build: BuildRecord, job: JobRecord, links: Links): Html {
  const others = build.jobs.filter((other) => other !== job);
  const body = html`<h1><span id="job-status">${statusPill(job.status, job.flaky)}</span> ${job.spec.title}
<span class="muted">of <a class="sha" href="${links.build(build.commit)}">${shortSha(build.commit)}</a> on <a href="${links.branch(build.ref)}">${branchName(build.ref)}</a></span></h1>
${others.length > 0 ? html`<p class="jobs">Other jobs: ${others.map((other) => html`<a href="${links.job(build.commit, other.name)}">${other.spec.title}</a> ${statusPill(other.status)} `)}</p>` : ''}
<div class="log-tools">
<form id="search" role="search"><input id="search-text" type="search" placeholder="Search the whole log" maxlength="200" aria-label="Search the whole log"><button type="submit">Search</button> <span id="search-result" class="muted"></span></form>
<span class="links"><a href="${links.rawLog(build.commit, job.name)}">raw</a> · <a href="${links.rawLog(build.commit, job.name, true)}">download</a> · <a href="${links.build(build.commit)}">build</a></span>
<span id="follow-state" class="muted"></span>
</div>
<ol id="search-hits" class="search-hits"></ol>
<div id="log" class="log" role="log" aria-live="off"><noscript><p>The log page needs JavaScript; the <a href="${links.rawLog(build.commit, job.name)}">raw log</a> does not.</p></noscript></div>
<button id="to-bottom" class="to-bottom" hidden>Follow the end</button>`;
  return layout({
    title: `${job.spec.title} of ${shortSha(build.commit)}`, links, body, script: 'log-page.js',
    data: {
      outline: `/api/builds/${build.commit}/jobs/${encodeURIComponent(job.name)}/outline${links.project === null ? '' : `?project=${links.project}`}`,
      search: `/api/builds/${build.commit}/jobs/${encodeURIComponent(job.name)}/search${links.project === null ? '' : `?project=${links.project}`}`,
      raw: links.rawLog(build.commit, job.name),
      follow: `${links.rawLog(build.commit, job.name)}&follow=1`,
    },
  });
}
