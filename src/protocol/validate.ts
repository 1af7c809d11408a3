// Validators for values that arrive from the wire and later reach git
// arguments or file names. They are pure so the protocol decoder can use them.

import { LIMITS } from './limits.js';

const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const URL_SCHEMES = ['file://', 'ssh://', 'git://', 'http://', 'https://'];
const SCP_LIKE = /^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9][A-Za-z0-9.-]*:[^:]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A full commit id: 40 hex digits (SHA-1) or 64 (SHA-256), lower case. */
export function isCommitId(value: string): boolean {
  return COMMIT_ID.test(value);
}

/** The start of a commit id, as people type it: 7 to 64 lower-case hex digits. */
export function isCommitPrefix(value: string): boolean {
  return /^[0-9a-f]{7,64}$/.test(value);
}

/** One part of a path from a repository: a file or folder name that cannot climb out or hide a separator. */
function isPathPart(part: string): boolean {
  return part !== '' && part !== '.' && part !== '..' && Buffer.byteLength(part) <= 255 && !CONTROL.test(part) && !part.includes('\\');
}

/** A file's path inside a job's artifacts: relative, "/"-separated, every part a plain name. */
export function isArtifactPath(path: string): boolean {
  return path.length > 0 && path.length <= LIMITS.artifactPath && path.split('/').every(isPathPart);
}

/** A keel.json `artifacts` pattern: like a path, whose parts may hold *, ** and ?. */
export function isArtifactPattern(pattern: string): boolean {
  return pattern.length > 0 && pattern.length <= LIMITS.artifactPattern && pattern.split('/').every(isPathPart);
}

/** Runner names and labels: short, no path or option characters. */
export function isName(value: string): boolean {
  return NAME.test(value);
}

/**
 * The rules of `git check-ref-format` for a full ref name (refs/...), which
 * also guarantee the ref can never be read as an option or a path escape.
 */
export function isRefName(ref: string): boolean {
  if (ref.length === 0 || ref.length > 1024 || !ref.startsWith('refs/')) return false;
  if (CONTROL.test(ref) || /[ ~^:?*[\\]/.test(ref)) return false;
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//')) return false;
  if (ref.endsWith('/') || ref.endsWith('.')) return false;
  for (const part of ref.split('/')) {
    if (part.length === 0 || part.startsWith('.') || part.endsWith('.lock')) return false;
  }
  return true;
}

/**
 * Repository locations a runner may fetch from: an absolute local path,
 * file://, ssh://, git://, http(s):// or scp-like user@host:path. Transport
 * helpers such as `ext::` (which run commands) and anything that could be
 * read as an option are refused.
 */
export function isRepoUrl(url: string): boolean {
  if (url.length === 0 || url.length > 4096 || CONTROL.test(url)) return false;
  if (url.startsWith('-') || url.includes('::')) return false;
  if (url.startsWith('/')) return true;
  if (URL_SCHEMES.some((scheme) => url.startsWith(scheme))) {
    // ssh would read a host (or user@host) starting with "-" as an option.
    const authority = url.slice(url.indexOf('://') + 3);
    const host = authority.slice(authority.indexOf('@') + 1);
    return authority.length > 0 && !authority.startsWith('-') && !host.startsWith('-');
  }
  return SCP_LIKE.test(url) && !url.includes('://');
}

/** Ids of requests and the work they make: `L-17` (land), `T-3` (try), `P-12` (patch), `C-40` (a command to an observer). */
export function isRequestId(value: string): boolean {
  return /^[A-Z]-[1-9][0-9]{0,14}$/.test(value);
}
