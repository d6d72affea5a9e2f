/**
 * API keys: loaded by the serving process from an environment variable
 * (plain keys, comma-separated) or a project file of SHA-256 hashes, and kept
 * only as hashes. Replicas get the hashes (never a key); a presented key is
 * hashed and compared with every hash in constant time. Keys are never
 * logged: messages name the variable or the file and line, not values.
 *
 * @module
 */

import { sha256, timingSafeEqual } from "./sha256.ts";
import type { AuthConfig } from "../config/resolved_config.ts";
import type { KeyHash } from "./presented_key.ts";

export type { KeyHash, KeyMatcher } from "./presented_key.ts";
export { presentedKey } from "./presented_key.ts";

/** SHA-256 of a key's UTF-8 bytes. */
export function hashKey(key: string): Uint8Array {
  return sha256(key);
}

/**
 * The label of the key matching `key`, or null. Every hash is compared, in
 * constant time, whether or not an earlier one matched.
 */
export function matchKey(
  keys: readonly KeyHash[],
  key: string,
): string | null {
  const hash = hashKey(key);
  let found: string | null = null;
  for (const k of keys) {
    if (timingSafeEqual(hash, k.hash) && found === null) found = k.label;
  }
  return found;
}

/** Parses a keys file: `<64 hex digits> [label]` per line, `#` comments. */
export function parseKeysFile(text: string, file: string): KeyHash[] {
  const out: KeyHash[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const m = /^(?:sha256:)?([0-9a-fA-F]{64})(?:\s+(\S+))?$/.exec(line);
    if (!m) {
      throw new Error(
        `${file}:${
          i + 1
        }: expected a SHA-256 hash in hex (64 digits), optionally followed by a label (the line is not shown)`,
      );
    }
    const hex = m[1]!.toLowerCase();
    const hash = new Uint8Array(32);
    for (let b = 0; b < 32; b++) {
      hash[b] = parseInt(hex.slice(b * 2, b * 2 + 2), 16);
    }
    out.push({ hash, label: m[2] ?? `${file}:${i + 1}` });
  });
  return out;
}

/** Parses a keys variable: comma-separated keys. */
export function parseKeysEnv(value: string, name: string): KeyHash[] {
  return value.split(",").map((k) => k.trim()).filter((k) => k !== "")
    .map((k, i) => ({ hash: hashKey(k), label: `${name}#${i + 1}` }));
}

/**
 * Loads an API's keys (in the serving process). Throws when neither source
 * holds a key, so an API meant to be closed never runs open.
 */
export function loadKeys(
  auth: AuthConfig,
  projectDir: string,
  api: string,
  getEnv: (name: string) => string | undefined = (n) => Deno.env.get(n),
): KeyHash[] {
  const keys: KeyHash[] = [];
  if (auth.keysEnv !== null) {
    keys.push(...parseKeysEnv(getEnv(auth.keysEnv) ?? "", auth.keysEnv));
  }
  if (auth.keysFile !== null) {
    const text = Deno.readTextFileSync(`${projectDir}/${auth.keysFile}`);
    keys.push(...parseKeysFile(text, auth.keysFile));
  }
  if (keys.length === 0) {
    const where = [
      auth.keysEnv && `the environment variable ${auth.keysEnv}`,
      auth.keysFile && `the file ${auth.keysFile}`,
    ].filter(Boolean).join(" or ");
    throw new Error(
      `API "${api}" requires keys (networking.auth) but ${where} holds none`,
    );
  }
  return keys;
}
