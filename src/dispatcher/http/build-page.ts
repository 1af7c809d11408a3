// A build's page: the commit (subject, author), what made the build, its
// timing (with an estimate of its end while it runs), and each job with its
// status, attempts, runner, timing, flaky mark and failed tests (the JUnit
// message and the lines of the log around the test), linking to the job's
// log page, its raw log and the build's JSON.

import type { AttemptRecord, BuildRecord, JobRecord } from '../../protocol/records.js';
import { formatBytes, formatGrant, SHOWN_ARTIFACTS } from '../report.js';
import type { CommitInfo } from './commit-info.js';
import { ago, elapsed, estimate, statusPill } from './fragments.js';
import { branchName, formatDuration, formatSubject, formatTime, shortSha } from './format.js';
import { html, type Html } from './html.js';
import type { JunitFailure } from './junit-failures.js';
import { layout } from './layout.js';
import type { Links } from './links.js';
import type { Context } from './log-search.js';
import type { Estimate } from './views.js';

export interface FailureShown extends JunitFailure {
  /** Where the job's log names the test, when it does. */
  context: Context | null;
}

export interface BuildPageView {
  build: BuildRecord;
  unwritten: boolean;
  info: CommitInfo | null;
  estimate: Estimate | null;
  /** By job name. */
  failures: Map<string, FailureShown[]>;
}

const counts = (job: Pick<JobRecord, 'counts'>) =>
  job.counts ? `${job.counts.passed}/${job.counts.tests} passed${job.counts.failed ? `, ${job.counts.failed} failed` : ''}${job.counts.skipped ? `, ${job.counts.skipped} skipped` : ''}` : '–';

function attemptsList(attempts: AttemptRecord[]): Html {
  if (attempts.length === 0) return html`<span class="muted">not started</span>`;
  const rows = attempts.map((a) => html`<li>attempt ${a.attempt} on <span class="name">${a.runner}</span>: ${a.status}${a.infra ? ' (infrastructure)' : ''}${a.timedOut ? ' (timed out)' : ''},
started ${formatTime(a.startedAt)}, ${formatDuration(a.durationMs)}${a.message ? html` <span class="note">– ${a.message}</span>` : ''}</li>`);
  return html`<details><summary>${attempts.length} attempt${attempts.length === 1 ? '' : 's'}</summary><ul class="attempts">${rows}</ul></details>`;
}

function failuresOf(job: JobRecord, failures: FailureShown[] | undefined, links: Links, commit: string): Html {
  const named = failures ?? [];
  if (named.length === 0 && job.failedTests.length === 0) return html``;
  const shown = named.length > 0 ? named.map((failure) => html`<li class="failure">
<div class="test-name">${failure.name}</div>
${failure.message ? html`<div class="message">${failure.message}</div>` : ''}
${failure.detail ? html`<pre class="detail">${failure.detail}</pre>` : ''}
${failure.context ? html`<pre class="context">${failure.context.lines.map((line) => html`<a href="${links.job(commit, job.name, line.number)}" class="${line.number === failure.context!.line ? 'hit' : ''}"><span class="n">${line.number}</span>${line.text}</a>
`)}</pre>` : ''}
</li>`) : job.failedTests.map((name) => html`<li class="failure"><div class="test-name">${name}</div></li>`);
  return html`<div class="failures"><h4>Failed tests</h4><ul>${shown}</ul></div>`;
}

/** The files a job sent back, where they are kept, and what was left out. */
function artifactsRow(build: BuildRecord, job: JobRecord, links: Links): Html {
  const kept = job.artifacts;
  if (!kept) return html``;
  const shown = kept.files.slice(0, SHOWN_ARTIFACTS);
  const more = kept.files.length > shown.length ? html`<div class="muted">and ${kept.files.length - shown.length} more (all in the JSON)</div>` : '';
  return html`<tr><th>artifacts</th><td colspan="3">${kept.dir === null ? 'none kept' : html`in <code>${kept.dir}/</code> beside the results`}
${shown.length > 0 ? html`<ul class="artifacts">${shown.map((file) => html`<li><a href="${links.artifact(build.commit, job.name, file.path)}"><code>${file.path}</code></a> (${formatBytes(file.bytes)})</li>`)}</ul>` : ''}${more}
${kept.notes.map((note) => html`<div class="note">${note}</div>`)}</td></tr>`;
}

function jobSection(build: BuildRecord, job: JobRecord, view: BuildPageView, links: Links, now: number): Html {
  return html`<section class="job" id="job-${job.name}">
<h3><a href="${links.job(build.commit, job.name)}">${job.spec.title}</a> ${statusPill(job.status, job.flaky)}</h3>
<table class="facts">
<tr><th>runner</th><td>${job.runner ?? '–'}</td><th>attempts</th><td>${attemptsList(job.attempts)}</td></tr>
<tr><th>started</th><td>${job.startedAt === null ? '–' : ago(job.startedAt, now)}</td><th>duration</th><td>${job.status === 'running' && job.startedAt ? elapsed({ status: 'running', startedAt: job.startedAt, durationMs: null }, now) : formatDuration(job.durationMs)}</td></tr>
<tr><th>tests</th><td>${counts(job)}</td><th>exit</th><td>${job.exitCode ?? '–'}${job.signal ? ` (${job.signal})` : ''}${job.timedOut ? ' (timed out)' : ''}</td></tr>
${job.message ? html`<tr><th>why</th><td colspan="3" class="note">${job.message}</td></tr>` : ''}
${job.spec.labels.length > 0 ? html`<tr><th>labels</th><td colspan="3">${job.spec.labels.map((label) => html`<span class="label">${label}</span> `)}</td></tr>` : ''}
${job.spec.generated ? html`<tr><th>from</th><td colspan="3">the generator (kept with the build: a retry runs it again without the generator)</td></tr>` : ''}
${job.secrets ? html`<tr><th>secrets</th><td colspan="3">${formatGrant(job.secrets)}</td></tr>` : ''}
${artifactsRow(build, job, links)}
</table>
<p class="links"><a href="${links.job(build.commit, job.name)}">log</a> · <a href="${links.rawLog(build.commit, job.name)}">raw log</a> · <a href="${links.rawLog(build.commit, job.name, true)}">download</a></p>
${failuresOf(job, view.failures.get(job.name), links, build.commit)}
</section>`;
}

export function buildBody(view: BuildPageView, links: Links, now: number): Html {
  const { build, info } = view;
  const running = build.status === 'running';
  return html`<h1>${statusPill(build.status, build.flaky)} <span class="sha">${shortSha(build.commit)}</span> ${info?.subject ?? ''}</h1>
<table class="facts">
<tr><th>commit</th><td><code>${build.commit}</code></td><th>branch</th><td><a href="${links.branch(build.ref)}">${branchName(build.ref)}</a>${build.project === null ? '' : html` <span class="muted">in ${build.project}</span>`}</td></tr>
<tr><th>author</th><td>${info ? html`${info.author} <span class="muted">&lt;${info.email}&gt;</span>` : html`<span class="muted">not known</span>`}</td><th>made by</th><td>${formatSubject(build.subject)}${build.run > 1 ? ` (run ${build.run})` : ''}</td></tr>
<tr><th>queued</th><td>${ago(build.queuedAt, now)}</td><th>started</th><td>${build.startedAt === null ? '–' : ago(build.startedAt, now)}</td></tr>
<tr><th>duration</th><td>${elapsed(build, now)}</td><th>${running ? 'estimate' : 'ended'}</th><td>${running ? estimate(view.estimate, links) : build.endedAt === null ? '–' : ago(build.endedAt, now)}</td></tr>
<tr><th>tests</th><td>${counts(build)}</td><th>runner</th><td>${build.runner ?? '–'}</td></tr>
${build.message ? html`<tr><th>why</th><td colspan="3" class="note">${build.message}</td></tr>` : ''}
${view.unwritten ? html`<tr><th>files</th><td colspan="3" class="warning">finished; its result files are not written yet (the dispatcher retries)</td></tr>` : ''}
</table>
<p class="links"><a href="${links.apiBuild(build.commit)}">JSON</a> · <a href="${links.branch(build.ref)}">every build of ${branchName(build.ref)}</a></p>
<h2>Jobs <span class="count">${build.jobs.length}</span></h2>
${build.jobs.length === 0 ? html`<p class="muted">This build has no jobs.</p>` : build.jobs.map((job) => jobSection(build, job, view, links, now))}`;
}

export function buildPage(view: BuildPageView, links: Links, now: number): Html {
  return layout({
    title: `${shortSha(view.build.commit)} ${view.build.status}`, links, body: buildBody(view, links, now),
    script: 'page.js', data: { events: links.events(view.build.commit) },
  });
}
