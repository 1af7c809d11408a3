// Reads what `keel patch` was given, without git and without running
// anything: an mbox as `git format-patch` writes it (its messages, subjects
// with [PATCH vN k/M], a cover letter, a Based-on: line, the files each
// patch touches) or a plain unified diff. What git would refuse later is
// refused here first, with a clear reason: no patch at all, a binary patch,
// a path that leaves the repository.

import { LIMITS } from '../../protocol/limits.js';

export interface Series {
  format: 'mbox' | 'diff';
  /** The series' subject without its [PATCH …] prefix: the cover letter's, else the first patch's; null for a diff. */
  subject: string | null;
  /** From: of the first patch ("Ann <ann@example.org>"); null for a diff. */
  author: string | null;
  /** vN of [PATCH vN …]; 1 without. */
  version: number;
  parts: number;
  cover: boolean;
  /** A Based-on: line of the cover letter or the first patch. */
  basedOn: string | null;
  files: string[];
}

export class PatchError extends Error {
  override readonly name = 'PatchError';
}

/** format-patch's separator: "From <sha> Mon Sep 17 00:00:00 2001". */
const FROM_LINE = /^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) /;
const PATCH_PREFIX = /^\[([^\]]*\bPATCH\b[^\]]*)\]\s*/i;

export function readSeries(bytes: Buffer): Series {
  // latin1 keeps every byte: a mail in another charset still splits and reads; names are decoded where they are encoded.
  const text = bytes.toString('latin1').replace(/\r\n/g, '\n');
  const first = text.split('\n').find((line) => line.trim() !== '') ?? '';
  if (FROM_LINE.test(first) || /^(From|Subject|Date|Message-I[Dd]): /.test(first)) return readMbox(text);
  if (/^(diff --git |--- |Index: |diff -)/m.test(text)) return readDiff(text);
  throw new PatchError('this is neither an mbox (git format-patch) nor a unified diff');
}

function readDiff(text: string): Series {
  const files = filesOf(text);
  if (files.length === 0) throw new PatchError('the diff changes no file');
  return { format: 'diff', subject: null, author: null, version: 1, parts: 1, cover: false, basedOn: null, files };
}

interface Mail {
  headers: Map<string, string>;
  body: string;
}

function readMbox(text: string): Series {
  const mails = splitMails(text).map(parseMail);
  const parsed = mails.map((mail) => ({ mail, ...subjectOf(mail.headers.get('subject') ?? '') }));
  const cover = parsed.find((p) => p.index === 0 && !/^diff --git |^--- /m.test(p.mail.body)) ?? null;
  const patches = parsed.filter((p) => p !== cover);
  if (patches.length === 0) throw new PatchError('the mbox holds no patch (only a cover letter)');
  for (const p of patches) if (filesOf(p.mail.body).length === 0) throw new PatchError(`"${p.text}" has no diff`);
  const head = cover ?? patches[0]!;
  const author = decodeWords(patches[0]!.mail.headers.get('from') ?? '').trim();
  if (author === '') throw new PatchError(`"${patches[0]!.text}" has no From: line`);
  const basedOn = [cover, patches[0]].flatMap((p) => (p ? [/^Based-on:\s*(\S+)\s*$/im.exec(beforeDiff(p.mail.body))?.[1]] : [])).find((b) => b) ?? null;
  return {
    format: 'mbox', subject: head.text, author, version: head.version, parts: patches.length, cover: cover !== null, basedOn,
    files: [...new Set(patches.flatMap((p) => filesOf(p.mail.body)))].slice(0, LIMITS.patchFiles),
  };
}

function splitMails(text: string): string[] {
  const lines = text.split('\n');
  const mails: string[][] = [];
  for (const line of lines) {
    if (FROM_LINE.test(line) || mails.length === 0) mails.push([]);
    if (!FROM_LINE.test(line)) mails.at(-1)!.push(line);
  }
  return mails.map((mail) => mail.join('\n')).filter((mail) => mail.trim() !== '');
}

function parseMail(text: string): Mail {
  const end = text.indexOf('\n\n');
  const head = end === -1 ? text : text.slice(0, end);
  const headers = new Map<string, string>();
  let last: string | null = null;
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && last !== null) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).toLowerCase();
    if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
  }
  return { headers, body: end === -1 ? '' : text.slice(end + 2) };
}

/** "[PATCH v2 3/5] Fix it" → its text, version and index (0 for a cover letter). */
function subjectOf(raw: string): { text: string; version: number; index: number | null } {
  let rest = decodeWords(raw).trim();
  let version = 1;
  let index: number | null = null;
  for (let tag = PATCH_PREFIX.exec(rest); tag !== null; tag = PATCH_PREFIX.exec(rest)) {
    version = Number(/\bv(\d+)\b/i.exec(tag[1]!)?.[1] ?? version);
    const part = /\b(\d+)\/(\d+)\b/.exec(tag[1]!);
    if (part) index = Number(part[1]);
    rest = rest.slice(tag[0].length);
  }
  if (rest === '') throw new PatchError(`a mail of the series has no subject ("${raw}")`);
  return { text: rest.slice(0, LIMITS.printable), version, index };
}

/** RFC 2047 encoded words (=?UTF-8?q?...?= and =?UTF-8?b?...?=), as git format-patch writes non-ASCII names and subjects. */
function decodeWords(value: string): string {
  return value.replace(/=\?([^?]+)\?([qQbB])\?([^?]*)\?=(\s+(?==\?))?/g, (_, charset: string, kind: string, data: string) => {
    const bytes = kind.toLowerCase() === 'b'
      ? Buffer.from(data, 'base64')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
    return bytes.toString(/^utf-?8$/i.test(charset) ? 'utf8' : 'latin1');
  }).replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** A patch's message before its diff: where Based-on: is looked for. */
function beforeDiff(body: string): string {
  const end = body.search(/^---\s*$|^diff --git /m);
  return end === -1 ? body : body.slice(0, end);
}

/** The files a diff touches; refuses binary patches and paths that leave the repository. */
function filesOf(diff: string): string[] {
  const files: string[] = [];
  const lines = diff.split('\n');
  // Lines still to come of the hunk being read (old side, new side): they are content, whatever they look like.
  let old = 0;
  let added = 0;
  for (const [i, line] of lines.entries()) {
    if (old > 0 || added > 0) {
      if (line.startsWith('\\')) continue;
      if (!line.startsWith('+')) old -= 1;
      if (!line.startsWith('-')) added -= 1;
      continue;
    }
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (hunk) {
      old = Number(hunk[1] ?? 1);
      added = Number(hunk[2] ?? 1);
      continue;
    }
    if (line === 'GIT binary patch' || /^Binary files .* differ$/.test(line)) {
      throw new PatchError(`binary patches are not accepted (${files.at(-1) ?? 'a file'}): send the change as text, or push it as a branch`);
    }
    const git = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
    // A plain diff's header is a "--- " line right above a "+++ " line.
    const header = line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')
      ? [line.slice(4), lines[i + 1]!.slice(4)].map((path) => path.split('\t')[0]!.replace(/^[ab]\//, ''))
      : [];
    for (const path of git ? [git[1]!, git[2]!] : header) {
      if (path === '/dev/null') continue;
      if (path.startsWith('/') || path.split('/').includes('..')) throw new PatchError(`the patch touches ${path}, outside the repository`);
      if (!files.includes(path)) files.push(path);
    }
  }
  return files;
}
