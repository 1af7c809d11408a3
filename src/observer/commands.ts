// The git work the dispatcher asks of this observer. Each command may come
// more than once (it is sent again after every reconnect until answered), so
// each is safe to do twice. Failures are answers with `ok: false`, never
// throws: the dispatcher records them and tells whoever asked.

import { ErrorCode } from '../protocol/error-codes.js';
import type { CommandResult, ObserverCommand } from '../protocol/messages.js';
import { isCommitId } from '../protocol/validate.js';
import { readBranchHeads } from './git-refs.js';

export type CommandAnswer = Omit<CommandResult, 'type' | 'id'>;

export interface CommandSettings {
  clone: string;
  hasOrigin: boolean;
  originGitDir: string | null;
}

const BRANCH = 'refs/heads/';

export async function runCommand(settings: CommandSettings, command: ObserverCommand): Promise<CommandAnswer> {
  switch (command.op) {
    case 'resolve': return resolve(settings, command.ref);
  }
}

/** Where a branch of origin points now: read in place when origin is local, else as last fetched. */
async function resolve(settings: CommandSettings, ref: string): Promise<CommandAnswer> {
  const fail = (code: ErrorCode, message: string): CommandAnswer => ({ ok: false, code, message, commit: null });
  if (!ref.startsWith(BRANCH)) return fail(ErrorCode.unknownRef, `${ref} is not a branch (refs/heads/…)`);
  const view = settings.originGitDir !== null
    ? { clone: settings.originGitDir, hasOrigin: false }
    : { clone: settings.clone, hasOrigin: settings.hasOrigin };
  let heads;
  try {
    ({ heads } = await readBranchHeads(view));
  } catch (error) {
    return fail(ErrorCode.gitFailed, `cannot read the branches: ${(error as Error).message}`);
  }
  const branch = ref.slice(BRANCH.length);
  const commit = heads.get(branch);
  if (commit === undefined || !isCommitId(commit)) return fail(ErrorCode.unknownRef, `there is no branch ${branch} in origin`);
  return { ok: true, code: null, message: `${branch} is at ${commit}`, commit };
}
