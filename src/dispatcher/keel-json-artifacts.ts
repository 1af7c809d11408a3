// keel.json `artifacts`: the files a runner sends back after the job, as
// paths or patterns inside the repository ("dist/**", "coverage/lcov.info",
// "**/*.log"). Each is checked as the runner checks a path it sends: parts
// separated by "/", none empty, "." or "..", no backslash or control
// character, so no pattern can name anything outside the job's worktree.

import { describeValue } from '../protocol/errors.js';
import { LIMITS } from '../protocol/limits.js';
import { isArtifactPattern } from '../protocol/validate.js';
import { KeelJsonError } from './keel-json.js';

export function parseArtifacts(value: unknown, path: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > LIMITS.artifactPatterns) {
    throw new KeelJsonError(path, `must be a list of 1 to ${LIMITS.artifactPatterns} paths or patterns inside the repository, got ${describeValue(value)}`);
  }
  value.forEach((pattern: unknown, i) => {
    const field = `${path}[${i}]`;
    if (typeof pattern !== 'string' || pattern === '') throw new KeelJsonError(field, `must be a path or pattern inside the repository, got ${describeValue(pattern)}`);
    if (pattern.startsWith('/')) throw new KeelJsonError(field, `must be relative to the repository root, not start with "/", got ${describeValue(pattern)}`);
    if (pattern.length > LIMITS.artifactPattern) throw new KeelJsonError(field, `is ${pattern.length} characters; at most ${LIMITS.artifactPattern} are allowed`);
    if (pattern.split('/').includes('..')) throw new KeelJsonError(field, `must stay inside the repository (no ".." part), got ${describeValue(pattern)}`);
    if (!isArtifactPattern(pattern)) {
      throw new KeelJsonError(field, `must be parts separated by "/", none empty or ".", without "\\\\" or control characters, got ${describeValue(pattern)}`);
    }
    if (value.indexOf(pattern) !== i) throw new KeelJsonError(field, `repeats ${describeValue(pattern)}`);
  });
  return [...(value as string[])];
}
