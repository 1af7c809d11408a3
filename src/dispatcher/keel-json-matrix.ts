// Turns one validated keel.json job into its JobSpecs: one per combination of
// the matrix (the product of its lists, less those `exclude` matches, then
// those `include` adds), named so the ids stay usable as file names and
// protocol names. Validation lives in keel-json*.ts; everything here may
// assume good input.

import { isName } from '../protocol/validate.js';
import type { JobSpec } from '../protocol/records.js';

/** A job's fields after validation, before the matrix is expanded. */
export interface JobTemplate extends Omit<JobSpec, 'id' | 'title'> {
  /** Variable name → values, in the order keel.json lists them. */
  readonly matrix: ReadonlyArray<readonly [string, readonly string[]]>;
  /** Each drops the combinations that have all of its values. */
  readonly exclude: ReadonlyArray<Readonly<Record<string, string>>>;
  /** Each adds one combination (a value for every variable, in matrix order) after the product. */
  readonly include: ReadonlyArray<Combination>;
}

export type Combination = Array<readonly [string, string]>;

/** How many combinations the matrix's lists make before exclude and include; no matrix makes one. */
export function countCombinations(matrix: JobTemplate['matrix']): number {
  return matrix.reduce((product, [, values]) => product * values.length, 1);
}

/** The job's combinations: the product in order, less the excluded, then the included. */
export function combinationsOf(template: Pick<JobTemplate, 'matrix' | 'exclude' | 'include'>): Combination[] {
  const kept = cartesian(template.matrix).filter((combination) => !isExcluded(combination, template.exclude));
  return [...kept, ...template.include];
}

/** Whether some rule's values are all the combination's. */
export function isExcluded(combination: Combination, exclude: JobTemplate['exclude']): boolean {
  return exclude.some((rule) => combination.every(([variable, value]) => !Object.hasOwn(rule, variable) || rule[variable] === value));
}

/** The JobSpecs for job `name`, first matrix variable varying slowest. */
export function expandMatrix(name: string, template: JobTemplate, combinations = combinationsOf(template)): JobSpec[] {
  const ids = namesFor(name, combinations);
  return combinations.map((combination, i) => ({
    id: ids[i],
    title: combination.length === 0 ? name : `${name} (${combination.map(([k, v]) => `${k}=${v}`).join(', ')})`,
    run: template.run === null ? null : [...template.run],
    // Object.fromEntries and spread define own properties, so even a variable
    // called __proto__ survives as a plain entry.
    env: { ...template.env, ...Object.fromEntries(combination) },
    timeoutMs: template.timeoutMs,
    retries: template.retries,
    retryDelayMs: template.retryDelayMs,
    labels: [...template.labels],
    junit: template.junit,
    ...(template.artifacts === undefined ? {} : { artifacts: [...template.artifacts] }),
    ...(template.when === undefined ? {} : { when: structuredClone(template.when) }),
    ...(template.secrets === undefined ? {} : { secrets: [...template.secrets] }),
  }));
}

export function cartesian(matrix: JobTemplate['matrix']): Combination[] {
  let combinations: Combination[] = [[]];
  for (const [variable, values] of matrix) {
    combinations = combinations.flatMap((partial) => values.map((value) => [...partial, [variable, value] as const]));
  }
  return combinations;
}

/**
 * "unit.NODE-18.OS-linux" when every such id is distinct and a valid name
 * (values reduced to [A-Za-z0-9._-]); otherwise "unit.1", "unit.2", … for the
 * whole job, so a job's ids are either all descriptive or all numbered. Job
 * names hold no ".", so one job's ids never meet another's.
 */
function namesFor(name: string, combinations: Combination[]): string[] {
  if (combinations.length === 1 && combinations[0]?.length === 0) return [name];
  const ids = combinations.map((combination) =>
    [name, ...combination.map(([variable, value]) => `${variable}-${value.replace(/[^A-Za-z0-9._-]/g, '_')}`)].join('.'),
  );
  if (ids.every(isName) && new Set(ids).size === ids.length) return ids;
  return combinations.map((_, i) => `${name}.${i + 1}`);
}
