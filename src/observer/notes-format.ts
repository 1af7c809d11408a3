// What a git note says of a finished build, and how it joins the note the
// commit already has. Pure functions of the `finished` event.
//
// Keel's own format, on refs/notes/keel, one block per subject of a commit
// (a push, a land, a try…), a newer run replacing its block:
//
//   keel: passed 3/3 jobs, 412 tests, 38 s
//     unit (NODE=18): passed, 200 tests, 20 s
//     lint: passed, 5 s
//     https://ci.example/builds/<sha>
//
// git-appraise's, on refs/notes/devtools/ci: one JSON object per line
// ({"timestamp", "url", "status", "agent", "v"}), Keel's line for a subject
// replacing the last one it wrote, other tools' lines kept.

import { buildUrl } from '../common/build-url.js';
import { jobLine, verdictLine } from '../common/verdict.js';
import type { BuildSummary, JobSummary, Subject } from '../protocol/records.js';

export const NOTES_FORMATS = ['keel', 'appraise'] as const;
export type NotesFormat = (typeof NOTES_FORMATS)[number];

export const NOTES_REFS: Record<NotesFormat, string> = { keel: 'refs/notes/keel', appraise: 'refs/notes/devtools/ci' };

export interface NoteInput {
  build: BuildSummary;
  jobs: JobSummary[];
}

/** `keel` for a push, `keel land L-17` (its requests) or `keel patch P-12` for a build Keel made: a block's (or a line's) owner. */
export function agentOf(subject: Subject): string {
  if (subject.kind === 'push') return 'keel';
  const what = subject.requests.length > 0 ? subject.requests.join(',') : subject.request;
  return what === null ? `keel ${subject.kind}` : `keel ${subject.kind} ${what}`;
}

/** The note of a commit with this build's part in it, given what the note says now (null: no note yet). */
export function mergeNote(format: NotesFormat, existing: string | null, input: NoteInput, publicUrl: string | null): string {
  const url = publicUrl === null ? null : buildUrl(publicUrl, input.build.project, input.build.commit);
  return format === 'keel' ? mergeKeelNote(existing, keelBlock(input, url)) : mergeAppraiseNote(existing, appraiseLine(input, url));
}

export function keelBlock({ build, jobs }: NoteInput, url: string | null): string[] {
  return [`${agentOf(build.subject)}: ${verdictLine(build)}`, ...jobs.map((job) => `  ${jobLine(job)}`), ...(url === null ? [] : [`  ${url}`])];
}

const HEADER = /^(keel(?: [a-z]+(?: [A-Z]-[0-9]+)?)?): /;

/** Replaces the block of the same owner (the text before its first ": "), or adds the block after the others. */
export function mergeKeelNote(existing: string | null, block: string[]): string {
  const owner = HEADER.exec(block[0]!)?.[1];
  const blocks: string[][] = [];
  for (const line of (existing ?? '').split('\n')) {
    if (line.trim() === '') continue;
    if (HEADER.test(line) || blocks.length === 0) blocks.push([line]);
    else blocks.at(-1)!.push(line);
  }
  const index = blocks.findIndex((lines) => HEADER.exec(lines[0]!)?.[1] === owner);
  if (index === -1) blocks.push(block);
  else blocks[index] = block;
  return `${blocks.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

/** git-appraise's CI report: `success` or `failure`, no status for a build that did not run (cancelled, skipped). */
export function appraiseLine({ build }: NoteInput, url: string | null): string {
  const status = build.status === 'passed' ? 'success' : build.status === 'failed' || build.status === 'error' ? 'failure' : null;
  const at = Date.parse(build.endedAt ?? build.queuedAt);
  const report: Record<string, string | number> = {
    // Seconds since the epoch, in ten digits.
    timestamp: String(Math.floor((Number.isNaN(at) ? 0 : at) / 1000)).padStart(10, '0'),
    agent: agentOf(build.subject),
    v: 0,
  };
  if (url !== null) report.url = url;
  if (status !== null) report.status = status;
  return JSON.stringify(report);
}

/** Keeps every line but the one this line's agent wrote before. */
export function mergeAppraiseNote(existing: string | null, line: string): string {
  const agent = (JSON.parse(line) as { agent: string }).agent;
  const kept = (existing ?? '').split('\n').filter((old) => old.trim() !== '' && agentOfLine(old) !== agent);
  return `${[...kept, line].join('\n')}\n`;
}

function agentOfLine(line: string): string | null {
  try {
    const parsed = JSON.parse(line) as unknown;
    return typeof parsed === 'object' && parsed !== null && typeof (parsed as { agent?: unknown }).agent === 'string'
      ? (parsed as { agent: string }).agent
      : null;
  } catch {
    return null;
  }
}
