// The pages and their JSON: the overview (/ and /api/status), a branch
// (/branches/<b>, /api/branches/<b>), a build (/builds/<sha>,
// /api/builds/<sha>), a job's log page and the badge. Each reads the state
// in memory, the build index, or one build's own files; none reads every
// result file.

import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { LIMITS } from '../../protocol/limits.js';
import type { BuildRecord } from '../../protocol/records.js';
import { isFinished } from '../build.js';
import { branchHistory } from '../history.js';
import { withoutLeases } from '../queries.js';
import { keyOf } from '../records.js';
import { renderBadge } from './badge.js';
import { buildPage, type BuildPageView, type FailureShown } from './build-page.js';
import { branchPage } from './branch-page.js';
import { parseFailures } from './junit-failures.js';
import { Links } from './links.js';
import { logPage } from './log-page.js';
import { contextOf } from './log-search.js';
import { overviewPage } from './overview-page.js';
import { send, sendError, sendHtml, sendJson, TYPES } from './respond.js';
import type { Request, Route } from './routes.js';
import type { Site } from './site.js';
import { estimateEnd } from './views.js';

const BRANCH_PAGE = 50;
const FAILURES_KEPT = 256;
const failureCache = new Map<string, FailureShown[]>();

export type PageRoute = Extract<Route, { kind: 'overview' | 'status-json' | 'branch' | 'build' | 'job-page' | 'badge' }>;

export async function handlePage(site: Site, request: Request & { route: PageRoute }, res: ServerResponse, head: boolean): Promise<void> {
  const { route, project } = request;
  const links = new Links(project);
  const now = Date.now();
  switch (route.kind) {
    case 'overview': {
      const { view, infos } = await site.overview(request.projectGiven ? project : undefined);
      return sendHtml(res, 200, overviewPage(view, infos, links, now), head);
    }
    case 'status-json': {
      const { view } = await site.overview(request.projectGiven ? project : undefined);
      // The overview `keel status --json` prints, and what only the page shows beside it.
      const { status, runners, queue, queueTotal, branches, landQueue, patches } = view;
      return sendJson(res, 200, { ...status, runnerDetails: runners, queue, queueTotal, branches, landQueue, patches }, head);
    }
    case 'branch': {
      const history = await branchHistory(site.parts.state, site.parts.index, { project, ref: route.ref, before: route.before, limit: BRANCH_PAGE });
      if (route.json) return sendJson(res, 200, { type: 'history-page', ...history }, head);
      const infos = await site.infosOf(history.builds);
      return sendHtml(res, 200, branchPage({ ref: route.ref, builds: history.builds, next: history.next, later: route.before !== null }, infos, links, now), head);
    }
    case 'build': {
      const found = await site.parts.lookup.find(project, route.commit);
      if (!found) return sendError(res, 404, `No build of ${route.commit} is known${project === null ? '' : ` in project ${project}`}.`, route.json, head);
      const info = (await site.infosOf([found.build])).get(found.build.commit) ?? null;
      const estimate = estimateEnd(found.build, site.parts.index.recent);
      if (route.json) return sendJson(res, 200, { ...withoutLeases(found.build), page: { unwritten: found.unwritten, commit: info, estimate } }, head);
      // Until its files are written a build's logs and JUnit may still be on their way to disk: not kept until then.
      const settled = isFinished(found.build.status) && !found.unwritten && !site.parts.state.builds.has(keyOf(found.build));
      const view: BuildPageView = { build: withoutLeases(found.build), unwritten: found.unwritten, info, estimate, failures: await failuresOf(site, found.build, settled) };
      return sendHtml(res, 200, buildPage(view, links, now), head);
    }
    case 'job-page': {
      const found = await site.parts.lookup.find(project, route.commit);
      const job = found?.build.jobs.find((j) => j.name === route.job);
      if (!found || !job) return sendError(res, 404, `No job ${route.job} of ${route.commit} is known.`, false, head);
      return sendHtml(res, 200, logPage(found.build, job, links), head);
    }
    case 'badge': {
      const latest = route.ref === null ? undefined : site.parts.index.recent.of(project, route.ref)?.builds[0];
      return send(res, 200, TYPES.svg, renderBadge(latest?.status ?? 'unknown').text, head, { 'Cache-Control': 'no-cache', 'Cross-Origin-Resource-Policy': 'cross-origin' });
    }
  }
}

/** Each finished job's failed tests from its JUnit XML, with the lines of its log that name them; kept per run. */
async function failuresOf(site: Site, build: BuildRecord, keep: boolean): Promise<Map<string, FailureShown[]>> {
  const failures = new Map<string, FailureShown[]>();
  for (const job of build.jobs) {
    if (!isFinished(job.status) || job.status === 'passed' || job.junit === null) continue;
    const key = `${build.project ?? ''}/${build.commit}/${build.run}/${job.name}`;
    let shown = failureCache.get(key) ?? null;
    if (!shown) {
      shown = await readFailures(site, build, job.junit, job.log);
      // The XML may not be on disk yet (it is written as the job ends): that is asked again next time.
      if (shown === null) continue;
      if (!keep) {
        failures.set(job.name, shown);
        continue;
      }
      failureCache.set(key, shown);
      if (failureCache.size > FAILURES_KEPT) failureCache.delete(failureCache.keys().next().value!);
    }
    failures.set(job.name, shown);
  }
  return failures;
}

async function readFailures(site: Site, build: BuildRecord, junit: string, log: string): Promise<FailureShown[] | null> {
  let xml: string;
  try {
    xml = (await readFile(site.parts.results.logPath(build, junit), 'utf8')).slice(0, LIMITS.junitChars);
  } catch {
    return null;
  }
  const parsed = parseFailures(xml);
  const contexts = await contextOf(site.parts.results.logPath(build, log), parsed.map((failure) => failure.test));
  return parsed.map((failure) => ({ ...failure, context: contexts.get(failure.test) ?? null }));
}
