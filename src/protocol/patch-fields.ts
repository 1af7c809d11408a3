// Readers for patches: what a submitter sends (a base as written, an
// author, a subject) and the records that travel in `patch-list` and
// `patch-record` and live in the dispatcher's journal.

import { bool, checked, int, list, nullable, object, oneOf, text, type Fields } from './fields.js';
import { LIMITS } from './limits.js';
import { BUILD_STATUSES } from './records.js';
import { APPLICATION_PURPOSES, APPLICATION_STATES, FIX_CHECKS, PATCH_STATES, type BrokenByTrunk, type PatchApplication, type PatchRecord, type PatchSummary, type PatchVersion } from './patch-records.js';
import { commitId, count, plainName, refName, requestId, time } from './record-fields.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX = Number.MAX_SAFE_INTEGER;

/** A base as a person writes it: a branch, a commit id (7+ hex digits) or a patch id; never an option. */
export function isBaseSpec(value: string): boolean {
  return value.length > 0 && value.length <= 256 && !value.startsWith('-') && !CONTROL.test(value) && !/\s/.test(value);
}

/** "Ann <ann@example.org>": a name and an address in angle brackets, on one line. */
export function isAuthor(value: string): boolean {
  return value.length <= LIMITS.printable && !CONTROL.test(value) && /^[^<>]+ <[^<>\s]+@[^<>\s]+>$/.test(value);
}

export const isSubject = (value: string) => value.trim().length > 0 && value.length <= LIMITS.printable && !CONTROL.test(value);

export const baseSpec = (o: Fields, f: string) => checked(o, f, isBaseSpec, 'a branch, a commit id or a patch id');
export const author = (o: Fields, f: string) => checked(o, f, isAuthor, 'an author as "Name <email>"');
export const subject = (o: Fields, f: string) => checked(o, f, isSubject, `a one-line subject of at most ${LIMITS.printable} characters`);
export const sha256 = (o: Fields, f: string) => checked(o, f, (v) => /^[0-9a-f]{64}$/.test(v), 'a SHA-256 in 64 hex digits');
/** Base64 of at most a chunk's bytes. */
export const chunk = (o: Fields, f: string) => checked(o, f, (v) => v.length <= Math.ceil(LIMITS.patchChunk / 3) * 4 && /^[A-Za-z0-9+/]*={0,2}$/.test(v), 'base64 of at most one chunk');
/** A path as a patch names it (a file, or a folder ending in /), for filters. */
export const patchPath = (o: Fields, f: string) => checked(o, f, (v) => v.length > 0 && v.length <= 1024 && !CONTROL.test(v), 'a path');
const asker = (o: Fields, f: string) => text(o, f, LIMITS.printable + 32);
const flags = (o: Fields, f: string) => list(o, f, LIMITS.patchFlags, plainName);

export function application(o: Fields, f: string): PatchApplication {
  const a = object(o, f);
  return {
    n: int(a, 'n', 1, MAX), purpose: oneOf(a, 'purpose', APPLICATION_PURPOSES), onto: commitId(a, 'onto'),
    applied: nullable(a, 'applied', commitId), testsOnly: nullable(a, 'testsOnly', commitId), state: oneOf(a, 'state', APPLICATION_STATES),
    status: nullable(a, 'status', (x, k) => oneOf(x, k, BUILD_STATUSES)), testsOnlyStatus: nullable(a, 'testsOnlyStatus', (x, k) => oneOf(x, k, BUILD_STATUSES)), fix: nullable(a, 'fix', (x, k) => oneOf(x, k, FIX_CHECKS)),
    message: text(a, 'message', 2 * LIMITS.text), at: time(a, 'at'), endedAt: nullable(a, 'endedAt', time),
  };
}

function version(o: Fields, f: string): PatchVersion {
  const v = object(o, f);
  return {
    version: int(v, 'version', 1, MAX), format: oneOf(v, 'format', ['mbox', 'diff'] as const), parts: int(v, 'parts', 1, MAX),
    cover: bool(v, 'cover'), bytes: count(v, 'bytes'), sha256: sha256(v, 'sha256'), files: list(v, 'files', LIMITS.patchFiles, patchPath),
    baseSpec: nullable(v, 'baseSpec', baseSpec), base: commitId(v, 'base'), by: asker(v, 'by'), submittedAt: time(v, 'submittedAt'),
    applications: list(v, 'applications', LIMITS.patchApplications, application),
  };
}

function brokenBy(o: Fields, f: string): BrokenByTrunk {
  const b = object(o, f);
  return {
    good: commitId(b, 'good'), bad: commitId(b, 'bad'), at: time(b, 'at'), first: nullable(b, 'first', commitId),
    left: count(b, 'left'), message: text(b, 'message', LIMITS.text),
  };
}

/** What a patch record and its summary have in common. */
function common(p: Fields) {
  return {
    id: requestId(p, 'id'), project: nullable(p, 'project', plainName), subject: subject(p, 'subject'), author: text(p, 'author', LIMITS.printable),
    state: oneOf(p, 'state', PATCH_STATES), message: text(p, 'message', 2 * LIMITS.text), trunk: nullable(p, 'trunk', refName),
    flags: flags(p, 'flags'), by: asker(p, 'by'), submittedAt: time(p, 'submittedAt'), closedAt: nullable(p, 'closedAt', time),
    brokenBy: nullable(p, 'brokenBy', brokenBy),
  };
}

export function patchRecord(o: Fields, f: string): PatchRecord {
  const p = object(o, f);
  return { ...common(p), versions: list(p, 'versions', MAX, version) };
}

export function patchSummary(o: Fields, f: string): PatchSummary {
  const p = object(o, f);
  return { ...common(p), versions: count(p, 'versions'), files: list(p, 'files', LIMITS.patchFiles, patchPath), latest: nullable(p, 'latest', application) };
}
