// The git work the dispatcher asks of this observer. Each command may come
// more than once (it is sent again after every reconnect until answered), so
// each is safe to do twice. Failures are answers with `ok: false`, never
// throws: the dispatcher records them and tells whoever asked.

import { ErrorCode } from '../protocol/error-codes.js';
import type { CommandResult, ObserverCommand } from '../protocol/messages.js';
import type { GitWork } from './git-work.js';
import { gitReason, type LandWork } from './land-work.js';
import type { PatchReader } from './link.js';
import type { PatchWork } from './patch-work.js';

export type CommandReply = Omit<CommandResult, 'type' | 'id'>;

export interface Workers {
  work: GitWork;
  land: LandWork;
  patches: PatchWork;
}

export async function runCommand({ work, land, patches }: Workers, command: ObserverCommand, read: PatchReader): Promise<CommandReply> {
  try {
    switch (command.op) {
      case 'resolve': return await resolve(work, command.ref);
      case 'locate': return await locate(work, command.commit);
      case 'inspect': return await land.inspect(command.refs);
      case 'merge': return await land.merge(command);
      case 'land': return await land.land(command);
      case 'prune': return await land.prune(command.refs);
      case 'base': return await patches.base(command.spec);
      case 'range': return await patches.range(command.from, command.to);
      case 'apply': return await patches.apply(command, read);
    }
  } catch (error) {
    return { ok: false, code: ErrorCode.gitFailed, message: gitReason(error), commit: null, answer: null };
  }
}

const failed = (code: ErrorCode, message: string): CommandReply => ({ ok: false, code, message, commit: null, answer: null });

/** Where a ref of origin points now, as the scan sees it. */
async function resolve(work: GitWork, ref: string): Promise<CommandReply> {
  const commit = await work.resolveRef(ref);
  if (commit === null) return failed(ErrorCode.unknownRef, `there is no ${ref} in origin`);
  return { ok: true, code: null, message: `${ref} is at ${commit}`, commit, answer: null };
}

/** The commit a full or short id names in origin, and a branch of origin it is on. */
async function locate(work: GitWork, prefix: string): Promise<CommandReply> {
  const found = await work.locateCommit(prefix);
  switch (found.kind) {
    case 'none': return failed(ErrorCode.unknownCommit, `origin has no commit ${prefix}`);
    case 'ambiguous': return failed(ErrorCode.ambiguousCommit, `${prefix} is the start of ${found.commits.length}${found.more ? '+' : ''} commits: ${found.commits.join(', ')}; give more digits`);
    case 'nowhere': return failed(ErrorCode.unknownRef, `commit ${found.commit} is on no branch of origin`);
    case 'found': return { ok: true, code: null, message: `${found.commit} is on ${found.ref}`, commit: found.commit, answer: { op: 'locate', ref: found.ref } };
  }
}
