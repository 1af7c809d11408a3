// The artifacts runners send back, beside the build's results: the files of
// the job's last attempt at test_results[/project]/<sha>.<job>.artifacts/,
// at the paths they had in the repository. Pieces arrive in `artifact`
// messages before the attempt's result and are written to
// .<sha>.<job>.artifacts.partial/; the result moves the files that arrived
// whole into place, in place of an earlier attempt's. Every path part was
// checked by the codec (no "..", ".", empty part or separator in a name),
// and the folders are the dispatcher's own, made here, so nothing a runner
// sends can land outside them; a runner sends file contents, never links.
//
// At most `maxBytes` per build, counted over its jobs; past it the rest is
// dropped and the build's record says so. Writes are synchronous: each is
// one piece of at most LIMITS.artifactChunk, and holding the event loop for
// it is what slows the runner's stream down to what the disk takes, without
// a buffer growing in between.

import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ArtifactFile, ArtifactsKept, BuildRecord, JobRecord, RunOutcome } from '../protocol/records.js';
import { isArtifactPath, isCommitId, isName } from '../protocol/validate.js';
import { LIMITS } from '../protocol/limits.js';
import { keyOf, type BuildKey } from './records.js';

const MIB = 1024 * 1024;

interface Partial {
  lease: string;
  /** Bytes written so far, by path. */
  files: Map<string, { written: number; size: number; failed: string | null }>;
}

export type Received = { ok: true } | { ok: false; why: string };

export class ArtifactStore {
  private readonly partials = new Map<string, Partial>();
  /** Bytes kept (whole files) and being received, per build and job. */
  private readonly used = new Map<BuildKey, Map<string, number>>();
  private readonly notes = new Map<string, string[]>();

  constructor(private readonly folderOf: (build: BuildRecord) => string, readonly maxBytes: number) {}

  /** The folder names of a job's artifacts, from a checked commit id and job id only. */
  private names(build: BuildRecord, job: JobRecord): { final: string; partial: string; name: string } {
    if (!isCommitId(build.commit) || !isName(job.name)) throw new Error(`refusing an artifacts folder for ${JSON.stringify(build.commit)} ${JSON.stringify(job.name)}`);
    const folder = this.folderOf(build);
    const name = `${build.commit}.${job.name}.artifacts`;
    return { final: join(folder, name), partial: join(folder, `.${name}.partial`), name };
  }

  /**
   * Where a kept file of the job's artifacts is, for the status page: only a
   * path its record lists, so no path from a URL reaches the file system
   * unless the dispatcher itself wrote that file. Null for any other.
   */
  fileOf(build: BuildRecord, job: JobRecord, path: string): string | null {
    const kept = job.artifacts;
    if (!kept || kept.dir === null || !isArtifactPath(path) || !kept.files.some((file) => file.path === path)) return null;
    return join(this.names(build, job).final, ...path.split('/'));
  }

  private jobKey(build: BuildRecord, job: JobRecord): string {
    return `${keyOf(build)} ${job.name}`;
  }

  private budget(build: BuildRecord): Map<string, number> {
    const key = keyOf(build);
    let perJob = this.used.get(key);
    if (!perJob) this.used.set(key, (perJob = new Map()));
    return perJob;
  }

  /** One piece of a file of the attempt holding `lease`. */
  receive(build: BuildRecord, job: JobRecord, lease: string, piece: { path: string; size: number; offset: number; bytes: Buffer }): Received {
    if (!isArtifactPath(piece.path)) return { ok: false, why: `refusing the artifact path ${JSON.stringify(piece.path)}` };
    const { partial: dir } = this.names(build, job);
    const key = this.jobKey(build, job);
    let partial = this.partials.get(key);
    if (!partial || partial.lease !== lease) {
      // A new attempt: whatever an earlier one left half-sent goes.
      rmSync(dir, { recursive: true, force: true });
      partial = { lease, files: new Map() };
      this.partials.set(key, partial);
      this.notes.set(key, []);
      // Its files replace the job's earlier ones: those no longer count.
      this.budget(build).set(job.name, 0);
    }
    const perJob = this.budget(build);
    let file = partial.files.get(piece.path);
    if (piece.offset === 0) {
      if (file) perJob.set(job.name, (perJob.get(job.name) ?? 0) - file.written);
      file = { written: 0, size: piece.size, failed: null };
      partial.files.set(piece.path, file);
      if (partial.files.size > LIMITS.artifactFiles) {
        partial.files.delete(piece.path);
        return this.note(key, `${piece.path}: more than ${LIMITS.artifactFiles} files; not kept`);
      }
    }
    if (!file) return { ok: false, why: `artifact ${piece.path}: a piece at ${piece.offset} before the file's start` };
    if (file.failed !== null) return { ok: true };
    if (piece.offset !== file.written || piece.size !== file.size || piece.offset + piece.bytes.length > piece.size) {
      file.failed = 'its pieces came out of order';
      return { ok: false, why: `artifact ${piece.path}: a piece at ${piece.offset} of ${piece.size} bytes after ${file.written} written` };
    }
    const inBuild = [...perJob.values()].reduce((sum, n) => sum + n, 0);
    if (inBuild + piece.bytes.length > this.maxBytes) {
      file.failed = `over the ${Number((this.maxBytes / MIB).toFixed(1))} MiB a build's artifacts may hold (--max-artifact-mib)`;
      return { ok: true };
    }
    const path = join(dir, ...piece.path.split('/'));
    try {
      mkdirSync(dirname(path), { recursive: true });
      if (piece.offset === 0) writeFileSync(path, piece.bytes, { flag: 'w' });
      else appendFileSync(path, piece.bytes);
    } catch (error) {
      file.failed = `could not be written: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      return { ok: true };
    }
    file.written += piece.bytes.length;
    perJob.set(job.name, (perJob.get(job.name) ?? 0) + piece.bytes.length);
    return { ok: true };
  }

  private note(key: string, text: string): Received {
    const notes = this.notes.get(key) ?? [];
    if (notes.length < LIMITS.artifactNotes) notes.push(text);
    this.notes.set(key, notes);
    return { ok: true };
  }

  /**
   * The attempt holding `lease` has ended with `outcome`: the files that
   * arrived whole replace the job's artifacts; what did not is noted with
   * what the runner noted. Null when the job declares no artifacts.
   */
  keep(build: BuildRecord, job: JobRecord, lease: string, outcome: RunOutcome): ArtifactsKept | null {
    if ((job.spec.artifacts ?? []).length === 0) return null;
    const { final, partial: dir, name } = this.names(build, job);
    const key = this.jobKey(build, job);
    const partial = this.partials.get(key)?.lease === lease ? this.partials.get(key)! : { lease, files: new Map() };
    const notes = [...(outcome.artifactNotes ?? []), ...(this.notes.get(key) ?? [])];
    const files: ArtifactFile[] = [];
    for (const declared of outcome.artifacts ?? []) {
      const got = partial.files.get(declared.path);
      if (got && got.failed === null && got.written === declared.bytes && got.size === declared.bytes) files.push(declared);
      else notes.push(`${declared.path}: not kept, ${got?.failed ?? 'it did not arrive whole'}`);
    }
    const kept = new Set(files.map((file) => file.path));
    for (const path of partial.files.keys()) {
      if (!kept.has(path)) rmSync(join(dir, ...path.split('/')), { force: true });
    }
    rmSync(final, { recursive: true, force: true });
    let keptDir: string | null = null;
    if (files.length > 0 && existsSync(dir)) {
      renameSync(dir, final);
      // Kept from now: --keep-artifacts counts from the folder's time.
      const now = new Date();
      utimesSync(final, now, now);
      keptDir = name;
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
    this.partials.delete(key);
    this.notes.delete(key);
    this.budget(build).set(job.name, files.reduce((sum, file) => sum + file.bytes, 0));
    return { dir: keptDir, files, notes: notes.slice(0, LIMITS.artifactNotes) };
  }

  /** The attempt was lost: what it sent is dropped. */
  discard(build: BuildRecord, job: JobRecord): void {
    const key = this.jobKey(build, job);
    if (!this.partials.has(key)) return;
    rmSync(this.names(build, job).partial, { recursive: true, force: true });
    this.partials.delete(key);
    this.notes.delete(key);
    this.budget(build).delete(job.name);
  }

  /** The build is finished: its budget is not needed any more. */
  forget(build: BuildRecord): void {
    this.used.delete(keyOf(build));
  }
}
