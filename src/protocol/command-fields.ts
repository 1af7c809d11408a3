// Readers for the commands the dispatcher sends an observer and the answers
// it gets back (resolve, locate, inspect, merge, land, prune, base, range,
// apply): on the wire in `command` and `command-result`, and in the
// dispatcher's journal while a command waits for its answer.

import { bool, int, list, nullable, object, oneOf, text, type Fields } from './fields.js';
import { LIMITS } from './limits.js';
import { ANSWER_OPS, COMMAND_OPS, type BranchHead, type CommandAnswer, type MergeStep, type ObserverCommand } from './messages.js';
import { author, baseSpec, sha256, subject as patchSubject } from './patch-fields.js';
import { asker, commitId, commitPrefix, refName, requestId } from './record-fields.js';

const MAX_INT = Number.MAX_SAFE_INTEGER;

const refs = (o: Fields, f: string) => list(o, f, LIMITS.heldLeases, refName);

function mergeStep(o: Fields, f: string): MergeStep {
  const s = object(o, f);
  return { request: requestId(s, 'request'), branch: refName(s, 'branch'), by: asker(s, 'by') };
}

function branchHead(o: Fields, f: string): BranchHead {
  const h = object(o, f);
  return { request: requestId(h, 'request'), branch: refName(h, 'branch'), commit: commitId(h, 'commit') };
}

export function command(o: Fields, f: string): ObserverCommand {
  const c = object(o, f);
  const op = oneOf(c, 'op', COMMAND_OPS);
  switch (op) {
    case 'resolve': return { op, ref: refName(c, 'ref') };
    case 'locate': return { op, commit: commitPrefix(c, 'commit') };
    case 'inspect': return { op, refs: refs(c, 'refs') };
    case 'merge': return {
      op, batch: requestId(c, 'batch'), kind: oneOf(c, 'kind', ['land', 'try'] as const), target: refName(c, 'target'),
      onto: nullable(c, 'onto', commitId), steps: list(c, 'steps', LIMITS.batchRequests, mergeStep), squash: bool(c, 'squash'),
      attempt: int(c, 'attempt', 1, LIMITS.attempts),
    };
    case 'land': return {
      op, batch: requestId(c, 'batch'), target: refName(c, 'target'), expect: commitId(c, 'expect'), commit: commitId(c, 'commit'),
      heads: list(c, 'heads', LIMITS.batchRequests, branchHead),
    };
    case 'prune': return { op, refs: refs(c, 'refs') };
    case 'base': return { op, spec: nullable(c, 'spec', baseSpec) };
    case 'range': return { op, from: commitId(c, 'from'), to: commitId(c, 'to') };
    case 'apply': return {
      op, patch: requestId(c, 'patch'), version: int(c, 'version', 1, MAX_INT), n: int(c, 'n', 1, MAX_INT),
      format: oneOf(c, 'format', ['mbox', 'diff'] as const), onto: commitId(c, 'onto'), author: nullable(c, 'author', author),
      subject: nullable(c, 'subject', patchSubject), bytes: int(c, 'bytes', 0, LIMITS.patchBytes), sha256: sha256(c, 'sha256'),
    };
  }
}

export function commandAnswer(o: Fields, f: string): CommandAnswer {
  const a = object(o, f);
  const op = oneOf(a, 'op', ANSWER_OPS);
  switch (op) {
    case 'locate': return { op, ref: refName(a, 'ref') };
    case 'inspect': return {
      op,
      refs: list(a, 'refs', LIMITS.heldLeases, (x, k) => {
        const r = object(x, k);
        return { ref: refName(r, 'ref'), commit: nullable(r, 'commit', commitId) };
      }),
      defaultBranch: nullable(a, 'defaultBranch', refName),
    };
    case 'merge': return {
      op, base: nullable(a, 'base', commitId), heads: list(a, 'heads', LIMITS.batchRequests, branchHead),
      conflict: nullable(a, 'conflict', (x, k) => {
        const c = object(x, k);
        return { request: requestId(c, 'request'), files: list(c, 'files', LIMITS.failedTests, (y, j) => text(y, j, LIMITS.text)) };
      }),
    };
    case 'land': return { op, moved: list(a, 'moved', LIMITS.batchRequests, requestId) };
    case 'base': return {
      op, commit: commitId(a, 'commit'), branch: nullable(a, 'branch', refName), defaultBranch: nullable(a, 'defaultBranch', refName),
      onDefault: bool(a, 'onDefault'),
    };
    case 'range': return { op, commits: list(a, 'commits', LIMITS.trunkRange, commitId), truncated: bool(a, 'truncated') };
    case 'apply': return {
      op, applied: nullable(a, 'applied', commitId), testsOnly: nullable(a, 'testsOnly', commitId),
      conflict: nullable(a, 'conflict', (x, k) => {
        const c = object(x, k);
        return { message: text(c, 'message', LIMITS.text), files: list(c, 'files', LIMITS.failedTests, (y, j) => text(y, j, LIMITS.text)) };
      }),
    };
  }
}
