// The git work the dispatcher asks of this observer. Each command may come
// more than once (it is sent again after every reconnect until answered), so
// each is safe to do twice. Failures are answers with `ok: false`, never
// throws: the dispatcher records them and tells whoever asked.

import { ErrorCode } from '../protocol/error-codes.js';
import type { CommandResult, ObserverCommand } from '../protocol/messages.js';
import type { GitWork } from './git-work.js';

export type CommandAnswer = Omit<CommandResult, 'type' | 'id'>;

export async function runCommand(work: GitWork, command: ObserverCommand): Promise<CommandAnswer> {
  switch (command.op) {
    case 'resolve': return resolve(work, command.ref);
  }
}

/** Where a ref of origin points now, as the scan sees it. */
async function resolve(work: GitWork, ref: string): Promise<CommandAnswer> {
  let commit: string | null;
  try {
    commit = await work.resolveRef(ref);
  } catch (error) {
    return { ok: false, code: ErrorCode.gitFailed, message: `cannot read ${ref}: ${(error as Error).message}`, commit: null };
  }
  if (commit === null) return { ok: false, code: ErrorCode.unknownRef, message: `there is no ${ref} in origin`, commit: null };
  return { ok: true, code: null, message: `${ref} is at ${commit}`, commit };
}
