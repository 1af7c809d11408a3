// "Did you mean": the known name closest to a mistyped one, by edit distance
// (a swap of two neighbouring letters counts as one edit), or none when
// nothing is close enough to be a likely typo.

/** Edits to turn `a` into `b`: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate nearest `given`, if it is a likely typo of it: within two
 * edits (one for names of four letters or fewer), or one of them a prefix
 * of the other. Ties go to the first candidate.
 */
export function suggest(given: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === given) return null;
    const distance = editDistance(given, candidate);
    const allowed = Math.min(2, Math.max(1, Math.floor(candidate.length / 4)));
    const prefix = candidate.startsWith(given) || given.startsWith(candidate);
    if ((distance <= allowed || (prefix && Math.min(given.length, candidate.length) >= 3)) && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
