/**
 * The crypto-free half of API keys: what a key hash is and which key a
 * request presents. Kept apart from `keys.ts` (hashing, `node:crypto`) so a
 * replica whose API has no keys never loads `node:crypto` (~13 ms and
 * several MB of every replica's start, measured).
 *
 * @module
 */

/** One accepted key: its SHA-256 and a label (for per-key limits and logs). */
export interface KeyHash {
  hash: Uint8Array;
  label: string;
}

/** Finds the label of the key hash matching a presented key, or null. */
export type KeyMatcher = (
  keys: readonly KeyHash[],
  key: string,
) => string | null;

/** The key a request presents (`Authorization: Bearer` or `x-api-key`), or null. */
export function presentedKey(
  get: (name: string) => string | null | undefined,
): string | null {
  const auth = get("authorization");
  if (auth) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (m) return m[1]!;
  }
  const key = get("x-api-key");
  return key ? key.trim() : null;
}
