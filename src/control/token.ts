/**
 * The control API's bearer token: generated at start (or taken from
 * `CORTEX_CONTROL_TOKEN`) and compared in constant time.
 *
 * @module
 */

/** The variable that sets the token instead of generating one. */
export const TOKEN_ENV = "CORTEX_CONTROL_TOKEN";

/** Shortest token accepted from the environment. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Generates a random token: 32 bytes from `crypto.getRandomValues`, base64url.
 *
 * @returns A 43-character token.
 */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The token a server uses: `CORTEX_CONTROL_TOKEN` when set, else a new one.
 *
 * @param env Reads a variable (default `Deno.env.get`).
 * @returns The token.
 * @throws {RangeError} When the variable is set but shorter than 16 characters.
 */
export function resolveToken(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): string {
  const given = env(TOKEN_ENV);
  if (given === undefined || given === "") return generateToken();
  if (given.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(
      `Cannot use ${TOKEN_ENV}: it has ${given.length} characters: expected at least ${MIN_TOKEN_LENGTH}`,
    );
  }
  return given;
}

const encoder = new TextEncoder();

/**
 * Compares two strings in time that depends only on their lengths, not on
 * where they first differ.
 *
 * @returns True when they are equal.
 */
export function tokensEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.max(x.length, y.length);
  let diff = x.length ^ y.length;
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * True when `req` carries `Authorization: Bearer <token>`.
 *
 * @param req The request.
 * @param token The expected token.
 */
export function isAuthorized(req: Request, token: string): boolean {
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  // Compare even when absent, so timing does not tell the two apart.
  return tokensEqual(match?.[1] ?? "", token) && match !== null;
}
