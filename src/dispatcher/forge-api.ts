// The commit-status APIs of Gitea, Forgejo and GitHub, as plain values: the
// request that posts one status, the repository a status belongs to, and how
// to read the answer. Pure; forge-poster.ts sends what this builds.
//
//   Gitea, Forgejo: POST {api}/repos/{owner}/{repo}/statuses/{sha}, Authorization: token T
//   GitHub:         POST {api}/repos/{owner}/{repo}/statuses/{sha}, Authorization: Bearer T
//   body: {"state", "context", "description", "target_url"}
// Gitea's and Forgejo's answer name the state `status`, GitHub's `state`.

import { buildUrl } from '../common/build-url.js';
import type { StatusItem } from './outbox.js';
import type { ForgeConfig } from './outputs-config.js';

export interface StatusRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** `keel/<job>`; `keel` for a build with no jobs. */
export function contextOf(item: Pick<StatusItem, 'job'>): string {
  return item.job === null ? 'keel' : `keel/${item.job}`;
}

/**
 * OWNER/REPO from where runners fetch: the last two parts of the path of an
 * ssh://, https:// or user@host:path URL, or of a folder (a forge keeps
 * OWNER/REPO.git on its disk), without `.git`. Null when there are not two.
 */
export function ownerRepoOf(repoUrl: string): string | null {
  let path: string;
  if (repoUrl.startsWith('/')) path = repoUrl;
  else if (repoUrl.includes('://')) {
    try {
      path = decodeURIComponent(new URL(repoUrl).pathname);
    } catch {
      return null;
    }
  } else path = repoUrl.slice(repoUrl.indexOf(':') + 1);
  const parts = path.replace(/\/+$/, '').split('/').filter((part) => part !== '');
  if (parts.length < 2) return null;
  const owner = parts.at(-2)!;
  const repo = parts.at(-1)!.replace(/\.git$/, '');
  const ok = (part: string) => SEGMENT.test(part) && part !== '.' && part !== '..';
  return ok(owner) && ok(repo) ? `${owner}/${repo}` : null;
}

/** The forge repository a status goes to: --forge-repo for its project, else its URL's. */
export function repoFor(forge: ForgeConfig, item: Pick<StatusItem, 'project' | 'repo'>): string | null {
  return (item.project !== null ? forge.repos.get(item.project) : undefined) ?? forge.repos.get('*') ?? ownerRepoOf(item.repo);
}

export function statusRequest(forge: ForgeConfig, ownerRepo: string, item: StatusItem, publicUrl: string | null): StatusRequest {
  const [owner, repo] = ownerRepo.split('/') as [string, string];
  const body: Record<string, string> = { state: item.state, context: contextOf(item), description: item.description };
  if (publicUrl !== null) body.target_url = buildUrl(publicUrl, item.project, item.commit, item.job);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: forge.kind === 'github' ? 'application/vnd.github+json' : 'application/json',
    authorization: `${forge.kind === 'github' ? 'Bearer' : 'token'} ${forge.token}`,
    'user-agent': 'keel',
  };
  if (forge.kind === 'github') headers['x-github-api-version'] = '2022-11-28';
  return {
    url: `${forge.api}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/statuses/${item.commit}`,
    headers,
    body: JSON.stringify(body),
  };
}

/** The state the forge says it recorded: GitHub's `state`, Gitea's and Forgejo's `status`. */
export function answeredState(answer: unknown): string | null {
  if (typeof answer !== 'object' || answer === null) return null;
  const { state, status } = answer as Record<string, unknown>;
  if (typeof state === 'string') return state;
  return typeof status === 'string' ? status : null;
}

/** What a forge's error answer says: its JSON `message` (all three send one), else the start of the text. */
export function forgeMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string') {
      return (parsed as { message: string }).message.slice(0, 300);
    }
  } catch {
    // not JSON: shown as it is
  }
  return text.trim().slice(0, 300);
}

/** Whether a failed post is worth trying again: the forge's trouble (5xx), its rate limit, a timeout — not a refusal. */
export function isRetryable(httpStatus: number): boolean {
  return httpStatus >= 500 || httpStatus === 429 || httpStatus === 408;
}
