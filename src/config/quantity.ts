/**
 * Kubernetes quantities ("200m", "512Mi", "1.5") for `compute.*`, and byte
 * sizes ("32Mi", "10MB", 1048576) for `handler.max_body_size`.
 *
 * @module
 */

const K8S_SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const K8S_QUANTITY =
  /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/**
 * Parses a non-negative Kubernetes quantity into its numeric value
 * ("200m" → 0.2, "1Ki" → 1024). Returns null when it is not one.
 */
export function parseQuantity(text: string): number | null {
  const match = K8S_QUANTITY.exec(text.trim());
  if (match === null) return null;
  const base = Number(match[1]);
  if (match[2] !== undefined) return base * 10 ** Number(match[2].slice(1));
  return base * (K8S_SUFFIX[match[3] ?? ""] ?? NaN);
}

const BYTE_SUFFIX: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/**
 * Parses a byte size: an integer number of bytes, or a number with a decimal
 * (k, KB, M, MB, G, GB, T, TB) or binary (Ki, KiB, Mi, MiB, ...) suffix, case
 * insensitive. Returns whole bytes (rounded down), or null when invalid.
 *
 * @example
 * ```ts
 * parseByteSize("32Mi"); // 33554432
 * parseByteSize("10MB"); // 10000000
 * ```
 */
export function parseByteSize(value: string | number): number | null {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : null;
  }
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  if (match === null) return null;
  const factor = BYTE_SUFFIX[(match[2] ?? "").toLowerCase()];
  if (factor === undefined) return null;
  const bytes = Math.floor(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : null;
}
