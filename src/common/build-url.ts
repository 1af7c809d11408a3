// Where people read a build: the status page's build and job pages under
// --public-url, the address the page is reached at from outside (a proxy's,
// often), named as the page names them (/builds/<sha>, /builds/<sha>/jobs/<job>,
// ?project=NAME). Commit statuses, git notes and hooks link there.

import { ConfigError } from './errors.js';

/** --public-url: an http(s) address without credentials, query or fragment; kept without its trailing slash. */
export function parsePublicUrl(value: string | undefined, flag = '--public-url'): string | null {
  if (value === undefined) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${flag} must be an http:// or https:// address, got "${value}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new ConfigError(`${flag} must be an http:// or https:// address without a user, query or fragment, got "${value}"`);
  }
  return url.href.replace(/\/+$/, '');
}

/** The page of a build, or of one of its jobs. */
export function buildUrl(base: string, project: string | null, commit: string, job: string | null = null): string {
  const path = job === null ? `/builds/${commit}` : `/builds/${commit}/jobs/${encodeURIComponent(job)}`;
  return `${base}${path}${project === null ? '' : `?project=${encodeURIComponent(project)}`}`;
}
