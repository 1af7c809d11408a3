// The patches' git work, done by the observer: find a base in origin, list
// the trunk commits between two, and apply a series in a worktree of the
// observer's scratch repository (git am -3 for an mbox; git apply --index and
// a commit for a plain diff), then its test changes alone on the same base,
// and push both to origin under refs/keel/patches/. Git's own rules refuse
// paths that leave the worktree; no hook runs there.
//
// Every command may come twice: an application already made is pushed
// again as it was, not made anew.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { readTestPaths } from '../dispatcher/keel-json.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { LIMITS } from '../protocol/limits.js';
import type { ObserverCommand } from '../protocol/messages.js';
import { isCommitId, isRefName } from '../protocol/validate.js';
import type { CommandReply } from './commands.js';
import { gitReason } from './land-work.js';
import type { PatchReader } from './link.js';
import type { ScratchRepo } from './scratch-repo.js';

type Apply = Extract<ObserverCommand, { op: 'apply' }>;

interface Applied {
  applied: string;
  testsOnly: string | null;
}

const failure = (code: ErrorCode, message: string): CommandReply => ({ ok: false, code, message, commit: null, answer: null });

export class PatchWork {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly scratch: ScratchRepo, private readonly dir: string) {}

  /** One worktree: applications go one at a time. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => {});
    return run;
  }

  /** Where a base is: a branch or tag of origin, a commit id (7+ hex digits), or origin's default branch. */
  async base(spec: string | null): Promise<CommandReply> {
    const { origin } = await this.scratch.open();
    const listing = await this.scratch.run(['ls-remote', '--symref', '--', origin, 'HEAD', 'refs/heads/*', 'refs/tags/*']);
    const refs = new Map<string, string>();
    for (const line of listing.stdout.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref && isCommitId(sha)) refs.set(ref, sha);
    }
    const defaultBranch = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(listing.stdout)?.[1] ?? null;
    const found = (commit: string, branch: string | null) => this.found(commit, branch, defaultBranch, defaultBranch === null ? null : refs.get(defaultBranch) ?? null);
    if (spec === null) {
      const tip = defaultBranch === null ? undefined : refs.get(defaultBranch);
      return tip === undefined ? failure(ErrorCode.unknownBase, 'origin names no default branch: give --base') : found(tip, defaultBranch);
    }
    const branch = isRefName(`refs/heads/${spec}`) ? refs.get(`refs/heads/${spec}`) : undefined;
    if (branch !== undefined) return found(branch, `refs/heads/${spec}`);
    const tag = isRefName(`refs/tags/${spec}`) ? refs.get(`refs/tags/${spec}`) : undefined;
    if (tag !== undefined) return found(await this.commitOf(tag) ?? tag, null);
    if (/^[0-9a-f]{7,64}$/i.test(spec)) {
      let commit = await this.commitOf(spec.toLowerCase());
      if (commit === null) {
        await this.scratch.run(['fetch', '--quiet', '--no-tags', '--', origin, '+refs/heads/*:refs/scratch/heads/*'], { allowFailure: true });
        commit = await this.commitOf(spec.toLowerCase());
      }
      if (commit !== null) return found(commit, null);
    }
    return failure(ErrorCode.unknownBase, `there is no branch, tag or commit ${spec} in origin`);
  }

  private async found(commit: string, branch: string | null, defaultBranch: string | null, defaultTip: string | null): Promise<CommandReply> {
    const onDefault = defaultTip !== null && branch === null
      && (await this.scratch.run(['merge-base', '--is-ancestor', '--', commit, defaultTip], { allowFailure: true })).code === 0;
    return {
      ok: true, code: null, message: `the base is ${commit}${branch ? ` (${branch})` : ''}`, commit,
      answer: { op: 'base', commit, branch, defaultBranch, onDefault },
    };
  }

  /** The commit `rev` names here (or in the repositories borrowed from); null when there is none. */
  private async commitOf(rev: string): Promise<string | null> {
    const { stdout, code } = await this.scratch.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { allowFailure: true });
    const commit = stdout.trim();
    return code === 0 && isCommitId(commit) ? commit : null;
  }

  /** The trunk after `from` up to `to`, first parents only, oldest first: the newest LIMITS.trunkRange. */
  async range(from: string, to: string): Promise<CommandReply> {
    await this.ensure([from, to]);
    const { stdout } = await this.scratch.run(['rev-list', '--first-parent', `--max-count=${LIMITS.trunkRange + 1}`, '--end-of-options', to, `^${from}`]);
    const commits = stdout.split('\n').filter(isCommitId).reverse();
    const truncated = commits.length > LIMITS.trunkRange;
    return {
      ok: true, code: null, message: `${commits.length} trunk commit(s) from ${from} to ${to}`, commit: null,
      answer: { op: 'range', commits: commits.slice(truncated ? 1 : 0), truncated },
    };
  }

  /** Makes sure these commits are here, fetching origin's branches when one is not. */
  private async ensure(commits: string[]): Promise<void> {
    const present = await this.scratch.run(['rev-list', '--no-walk', '--quiet', '--end-of-options', ...commits], { allowFailure: true });
    if (present.code === 0) return;
    const { origin } = await this.scratch.open();
    await this.scratch.run(['fetch', '--quiet', '--no-tags', '--', origin, '+refs/heads/*:refs/scratch/heads/*']);
  }

  apply(command: Apply, read: PatchReader): Promise<CommandReply> {
    return this.inTurn(() => this.applyNow(command, read));
  }

  private async applyNow(command: Apply, read: PatchReader): Promise<CommandReply> {
    const name = `${command.patch}.${command.version}.${command.n}`;
    const memoPath = join(this.dir, 'memo', `${name}.json`);
    let made: Applied | CommandReply;
    if (existsSync(memoPath)) {
      made = JSON.parse(await readFile(memoPath, 'utf8')) as Applied;
    } else {
      const bytes = await this.fetchBytes(command, read);
      if (!Buffer.isBuffer(bytes)) return bytes;
      made = await this.make(command, bytes);
      if ('ok' in made) return made;
      await mkdir(join(this.dir, 'memo'), { recursive: true });
      await writeFileAtomic(memoPath, JSON.stringify(made));
    }
    const ref = `refs/keel/patches/${command.patch}/${command.version}.${command.n}`;
    const { origin } = await this.scratch.open();
    const specs = [`+${made.applied}:${ref}`, ...(made.testsOnly === null ? [] : [`+${made.testsOnly}:${ref}-tests`])];
    try {
      await this.scratch.run(['push', '--quiet', '--', origin, ...specs]);
    } catch (error) {
      return failure(ErrorCode.gitFailed, `cannot push the applied patch to origin: ${gitReason(error)}`);
    }
    return {
      ok: true, code: null, message: `applied ${command.patch} v${command.version} onto ${command.onto} as ${made.applied}`, commit: made.applied,
      answer: { op: 'apply', applied: made.applied, testsOnly: made.testsOnly, conflict: null },
    };
  }

  /** The patch's bytes from the dispatcher, checked against the size and checksum it was submitted with. */
  private async fetchBytes(command: Apply, read: PatchReader): Promise<Buffer | CommandReply> {
    const chunks: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const { data, end } = await read(command.patch, command.version, offset);
      chunks.push(data);
      offset += data.length;
      if (end || offset > command.bytes) break;
      if (data.length === 0) return failure(ErrorCode.badPatch, `the dispatcher sent no bytes of ${command.patch} past ${offset}`);
    }
    const bytes = Buffer.concat(chunks);
    if (bytes.length !== command.bytes || createHash('sha256').update(bytes).digest('hex') !== command.sha256) {
      return failure(ErrorCode.badPatch, `the bytes of ${command.patch} v${command.version} do not match what was submitted`);
    }
    return bytes;
  }

  /** Applies the patch onto `onto` in the worktree; its tests alone too, when it changes tests and other files. */
  private async make(command: Apply, bytes: Buffer): Promise<Applied | CommandReply> {
    await this.ensure([command.onto]);
    const tree = await this.worktree(command.onto);
    const file = join(this.dir, 'incoming.patch');
    await writeFile(file, bytes);
    const run = (args: string[], allowFailure = false) => this.scratch.run(args, { cwd: tree, identity: true, allowFailure });
    if (command.format === 'mbox') {
      const am = await run(['am', '-3', '--empty=drop', '--', file], true);
      if (am.code !== 0) {
        await run(['am', '--abort'], true);
        return conflict(`${am.stdout}\n${am.stderr}`);
      }
    } else {
      const applied = await run(['apply', '--index', '--', file], true);
      if (applied.code !== 0) return conflict(applied.stderr);
      await run(['commit', '--quiet', '--no-verify', `--author=${command.author}`, '-m', command.subject!]);
    }
    const applied = (await run(['rev-parse', 'HEAD'])).stdout.trim();
    return { applied, testsOnly: await this.testsAlone(tree, command, applied) };
  }

  /** A clean worktree of the scratch repository at `commit`. */
  private async worktree(commit: string): Promise<string> {
    const tree = join(this.dir, 'worktree');
    if (!existsSync(join(tree, '.git'))) {
      await mkdir(this.dir, { recursive: true });
      await this.scratch.run(['worktree', 'prune']);
      await this.scratch.run(['worktree', 'add', '--quiet', '--force', '--detach', '--', tree, commit]);
      return tree;
    }
    await this.scratch.run(['am', '--abort'], { cwd: tree, allowFailure: true, identity: true });
    await this.scratch.run(['checkout', '--quiet', '--force', '--detach', commit, '--'], { cwd: tree });
    await this.scratch.run(['clean', '--quiet', '-fdx'], { cwd: tree });
    return tree;
  }

  /**
   * The patch's changes to test files alone, committed on `onto`: whether the
   * tests fail without the fix. Null when it does not change both tests and
   * other files. Test files are keel.json's "testPaths" (default tests/).
   */
  private async testsAlone(tree: string, command: Apply, applied: string): Promise<string | null> {
    const keelJson = await this.scratch.run(['show', `${applied}:keel.json`], { allowFailure: true });
    const specs = readTestPaths(keelJson.code === 0 ? keelJson.stdout : null).map((p) => `:(glob)${p.endsWith('/') ? `${p}**` : p}`);
    const changed = async (only: string[]) => (await this.scratch.run(['diff', '--name-only', '--no-renames', command.onto, applied, '--', ...only], { cwd: tree })).stdout.split('\n').filter(Boolean);
    const tests = await changed(specs);
    const all = await changed([]);
    if (tests.length === 0 || tests.length === all.length) return null;
    await this.scratch.run(['checkout', '--quiet', '--force', '--detach', command.onto, '--'], { cwd: tree });
    await this.scratch.run(['restore', `--source=${applied}`, '--staged', '--worktree', '--', ...tests.map((file) => `:(literal)${file}`)], { cwd: tree });
    await this.scratch.run(['commit', '--quiet', '--no-verify', '-m', `Tests of ${command.patch} v${command.version} alone (does the fix fix it?)`], { cwd: tree, identity: true });
    return (await this.scratch.run(['rev-parse', 'HEAD'], { cwd: tree })).stdout.trim();
  }
}

/** Git's account of a series that did not apply: its first lines, and the files it names. */
function conflict(output: string): CommandReply {
  const lines = output.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('hint:'));
  const files = new Set<string>();
  for (const line of lines) {
    const named = /^error: patch failed: (.+):\d+$/.exec(line) ?? /^error: (.+): (?:patch does not apply|does not exist in index|already exists in (?:index|working directory))$/.exec(line)
      ?? /^CONFLICT \([^)]*\): Merge conflict in (.+)$/.exec(line) ?? /^error: invalid path '(.+)'$/.exec(line);
    if (named) files.add(named[1]!);
  }
  const said = lines.filter((line) => /^(error|fatal|CONFLICT|Patch failed at)/.test(line));
  const message = (said.length > 0 ? said : lines).slice(0, 6).join(' / ') || 'git could not apply it';
  return { ok: false, code: ErrorCode.conflict, message, commit: null, answer: { op: 'apply', applied: null, testsOnly: null, conflict: { message, files: [...files] } } };
}
