// What `keel patches` and `keel patch show` are answered with: patches
// filtered as asked (the seed's questions: "broken but marked ready for
// checkin", "flagged needs-docs but touching no docs", "broke in the last
// week because of a change in trunk"), newest first, each bounded in size.

import { LIMITS } from '../../protocol/limits.js';
import type { PatchesQuery } from '../../protocol/messages.js';
import type { PatchRecord, PatchSummary } from '../../protocol/patch-records.js';
import { clip, LINE_BUDGET, within } from '../queries.js';
import type { PatchEntry } from './types.js';

export type PatchFilter = Omit<PatchesQuery, 'type'>;

/** Files a summary lists: enough to see what a patch is about. */
const SUMMARY_FILES = 20;

const touches = (file: string, path: string) => (path.endsWith('/') ? file.startsWith(path) : file === path || file.startsWith(`${path}/`));

export function matches(entry: PatchEntry, filter: PatchFilter, nowMs: number): boolean {
  const files = entry.versions.at(-1)!.files;
  const since = filter.sinceMs === null ? null : nowMs - filter.sinceMs;
  const broken = entry.brokenBy !== null && (entry.state === 'failed' || entry.state === 'conflict');
  const when = Date.parse(filter.brokenByTrunk ? entry.brokenBy?.at ?? '' : entry.submittedAt);
  return (filter.anyProject || entry.project === filter.project)
    && (filter.state === null || entry.state === filter.state)
    && filter.flags.every((flag) => entry.flags.includes(flag))
    && filter.touchesNone.every((path) => !files.some((file) => touches(file, path)))
    && (!filter.brokenByTrunk || broken)
    && (since === null || when >= since);
}

export function summary(entry: PatchEntry): PatchSummary {
  const { versions, seq: _seq, pendingRetest: _pending, bisect: _bisect, repo: _repo, ...rest } = entry;
  const latest = versions.at(-1)!;
  return {
    ...rest, message: clip(rest.message, 1024), versions: versions.length, files: latest.files.slice(0, SUMMARY_FILES),
    latest: latest.applications.filter((a) => a.purpose !== 'bisect').at(-1) ?? null,
  };
}

export function listPatches(patches: Iterable<PatchEntry>, filter: PatchFilter, nowMs: number): { patches: PatchSummary[]; omitted: number } {
  const found = [...patches].filter((entry) => matches(entry, filter, nowMs)).sort((a, b) => b.seq - a.seq);
  const { shown, omitted } = within(found.slice(0, LIMITS.patchList).map(summary), LINE_BUDGET, LIMITS.patchList);
  return { patches: shown, omitted: omitted + Math.max(0, found.length - LIMITS.patchList) };
}

/** The record of a patch for `keel patch show`, trimmed (the latest applications, fewer files) when it would not fit one message. */
export function recordOf(entry: PatchEntry): { record: PatchRecord; note: string } {
  const { seq: _seq, pendingRetest: _pending, bisect: _bisect, repo: _repo, ...record } = entry;
  if (Buffer.byteLength(JSON.stringify(record)) <= LINE_BUDGET) return { record, note: '' };
  const trimmed: PatchRecord = {
    ...record,
    versions: record.versions.map((v) => ({ ...v, files: v.files.slice(0, 100), applications: v.applications.slice(-20) })),
  };
  return { record: trimmed, note: 'this record is trimmed to fit one message: the last 20 applications and the first 100 files of each version' };
}
