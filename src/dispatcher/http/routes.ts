// Which page a request asks for: the URL is parsed into a Route whose every
// value is checked as the protocol checks it (commit ids, job names, refs,
// project names), or refused. Pure, and the only place paths are read; no
// part of a URL is ever joined onto a file path (files are named by the
// result store from validated ids).

import { isArtifactPath, isCommitId, isName, isRefName } from '../../protocol/validate.js';

export type Route =
  | { kind: 'overview' }
  | { kind: 'status-json' }
  | { kind: 'branch'; ref: string; before: number | null; json: boolean }
  | { kind: 'build'; commit: string; json: boolean }
  | { kind: 'job-page'; commit: string; job: string }
  | { kind: 'raw-log'; commit: string; job: string | null; download: boolean }
  | { kind: 'follow-log'; commit: string; job: string | null; from: number | null }
  | { kind: 'log-outline'; commit: string; job: string }
  | { kind: 'log-search'; commit: string; job: string; query: string }
  | { kind: 'artifact'; commit: string; job: string; path: string }
  | { kind: 'events'; build: string | null }
  | { kind: 'badge'; ref: string | null }
  | { kind: 'asset'; name: string };

export interface Request {
  route: Route;
  /** ?project=NAME; null when absent. */
  project: string | null;
  /** Whether ?project was given: the overview then shows that project only, else every one. */
  projectGiven: boolean;
}

export type Parsed = { ok: true; request: Request } | { ok: false; status: 400 | 404; message: string };

const MAX_QUERY = 200;

const notFound = (message: string): Parsed => ({ ok: false, status: 404, message });
const bad = (message: string): Parsed => ({ ok: false, status: 400, message });

/** A branch as the URL names it: `main` for refs/heads/main, or a whole ref starting with refs/. */
export function refOf(branch: string): string | null {
  const ref = branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
  return isRefName(ref) ? ref : null;
}

function offset(text: string | null): number | null | undefined {
  if (text === null) return null;
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

export function parseRequest(url: string): Parsed {
  let parsed: URL;
  let segments: string[];
  try {
    parsed = new URL(url, 'http://keel.invalid');
    segments = parsed.pathname.split('/').slice(1).map((segment) => decodeURIComponent(segment));
  } catch {
    return bad('the address could not be read');
  }
  const query = parsed.searchParams;
  const projectText = query.get('project');
  if (projectText !== null && !isName(projectText)) return bad('project must be a plain name');
  const done = (route: Route): Parsed => ({ ok: true, request: { route, project: projectText, projectGiven: projectText !== null } });
  const job = query.get('job');
  if (job !== null && !isName(job)) return notFound('no such job');
  const [first, second, third, fourth, fifth, ...rest] = segments;

  if (segments.length === 1 && first === '') return done({ kind: 'overview' });
  if (first === 'badge.svg' && segments.length === 1) return done({ kind: 'badge', ref: refOf(query.get('branch') ?? 'main') });
  if (first === 'assets' && segments.length === 2 && /^[a-z-]+\.(css|js|svg)$/.test(second!)) return done({ kind: 'asset', name: second! });
  if (first === 'branches' && segments.length >= 2) return branchRoute(segments.slice(1), false, query, done);
  if (first === 'builds' && second !== undefined) {
    if (!isCommitId(second)) return notFound('a build is named by its full commit id');
    if (segments.length === 2) return done({ kind: 'build', commit: second, json: false });
    if (third === 'log' && segments.length === 3) {
      if (query.get('follow') === '1') {
        const from = offset(query.get('from'));
        if (from === undefined) return bad('from must be a byte offset');
        return done({ kind: 'follow-log', commit: second, job, from });
      }
      return done({ kind: 'raw-log', commit: second, job, download: query.get('download') === '1' });
    }
    if (third === 'artifacts' && fourth !== undefined && segments.length >= 5) {
      const path = segments.slice(4).join('/');
      return isName(fourth) && isArtifactPath(path) ? done({ kind: 'artifact', commit: second, job: fourth, path }) : notFound('no such artifact');
    }
    if (third === 'jobs' && fourth !== undefined && segments.length === 4) {
      return isName(fourth) ? done({ kind: 'job-page', commit: second, job: fourth }) : notFound('no such job');
    }
    return notFound('no such page');
  }
  if (first === 'api') {
    if (second === 'status' && segments.length === 2) return done({ kind: 'status-json' });
    if (second === 'events' && segments.length === 2) {
      const build = query.get('build');
      if (build !== null && !isCommitId(build)) return notFound('a build is named by its full commit id');
      return done({ kind: 'events', build });
    }
    if (second === 'branches' && segments.length >= 3) return branchRoute(segments.slice(2), true, query, done);
    if (second === 'builds' && third !== undefined) {
      if (!isCommitId(third)) return notFound('a build is named by its full commit id');
      if (segments.length === 3) return done({ kind: 'build', commit: third, json: true });
      if (fourth === 'jobs' && fifth !== undefined && isName(fifth) && rest.length === 1) {
        if (rest[0] === 'outline') return done({ kind: 'log-outline', commit: third, job: fifth });
        if (rest[0] === 'search') {
          const text = query.get('q') ?? '';
          if (text.length === 0 || text.length > MAX_QUERY) return bad(`q must be 1 to ${MAX_QUERY} characters`);
          return done({ kind: 'log-search', commit: third, job: fifth, query: text });
        }
      }
    }
  }
  return notFound('no such page');
}

function branchRoute(parts: string[], json: boolean, query: URLSearchParams, done: (route: Route) => Parsed): Parsed {
  const ref = refOf(parts.join('/'));
  if (ref === null) return notFound('no such branch');
  const before = offset(query.get('before'));
  if (before === undefined) return bad('before must be a cursor from a page of this branch');
  return done({ kind: 'branch', ref, before, json });
}
