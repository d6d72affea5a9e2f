/**
 * "Did you mean" suggestions for unknown field names.
 *
 * @module
 */

/** Levenshtein edit distance between two strings. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Returns the closest candidate to `name`: edit distance at most 2
 * (case-insensitive), or one is a prefix of the other. Null when none is close.
 */
export function closest(
  name: string,
  candidates: readonly string[],
): string | null {
  const lower = name.toLowerCase();
  let best: string | null = null;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    const distance = editDistance(lower, other);
    const prefix = lower.length >= 3 &&
      (other.startsWith(lower) || lower.startsWith(other));
    // A prefix match ranks just behind a one-letter typo.
    const score = distance <= 2 ? distance : prefix ? 2.5 : Infinity;
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
