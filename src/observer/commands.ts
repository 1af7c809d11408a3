// The git work the dispatcher asks of this observer. Each command may come
// more than once (it is sent again after every reconnect until answered), so
// each is safe to do twice. Failures are answers with `ok: false`, never
// throws: the dispatcher records them and tells whoever asked.

import { ErrorCode } from '../protocol/error-codes.js';
import type { CommandResult, ObserverCommand } from '../protocol/messages.js';
import type { GitWork } from './git-work.js';

export type CommandAnswer = Omit<CommandResult, 'type' | 'id'>;

const failed = (code: ErrorCode, message: string): CommandAnswer => ({ ok: false, code, message, commit: null, ref: null });

export async function runCommand(work: GitWork, command: ObserverCommand): Promise<CommandAnswer> {
  switch (command.op) {
    case 'resolve': return resolve(work, command.ref);
    case 'locate': return locate(work, command.commit);
  }
}

/** Where a ref of origin points now, as the scan sees it. */
async function resolve(work: GitWork, ref: string): Promise<CommandAnswer> {
  let commit: string | null;
  try {
    commit = await work.resolveRef(ref);
  } catch (error) {
    return failed(ErrorCode.gitFailed, `cannot read ${ref}: ${(error as Error).message}`);
  }
  if (commit === null) return failed(ErrorCode.unknownRef, `there is no ${ref} in origin`);
  return { ok: true, code: null, message: `${ref} is at ${commit}`, commit, ref: null };
}

/** The commit a full or short id names in origin, and a branch of origin it is on. */
async function locate(work: GitWork, prefix: string): Promise<CommandAnswer> {
  let found;
  try {
    found = await work.locateCommit(prefix);
  } catch (error) {
    return failed(ErrorCode.gitFailed, `cannot look for ${prefix}: ${(error as Error).message}`);
  }
  switch (found.kind) {
    case 'none': return failed(ErrorCode.unknownCommit, `origin has no commit ${prefix}`);
    case 'ambiguous': return failed(ErrorCode.ambiguousCommit, `${prefix} is the start of ${found.commits.length}${found.more ? '+' : ''} commits: ${found.commits.join(', ')}; give more digits`);
    case 'nowhere': return failed(ErrorCode.unknownRef, `commit ${found.commit} is on no branch of origin`);
    case 'found': return { ok: true, code: null, message: `${found.commit} is on ${found.ref}`, commit: found.commit, ref: found.ref };
  }
}
