/**
 * `--healthcheck` of a compiled binary: the Dockerfile's HEALTHCHECK runs
 * the binary itself, since a distroless image has no shell or curl.
 *
 * @module
 */

import { EXIT } from "../wire/exit_codes.ts";
import { LOOPBACK } from "./binary_flags.ts";

/**
 * The URL to check: `/healthz` on loopback, or on `host` when the server
 * listens on one specific address.
 *
 * @param host The server's `--host`.
 * @param port The server's `--port`.
 */
export function healthzUrl(host: string, port: number): string {
  const wildcard = host === "0.0.0.0" || host === "::" || host === "[::]";
  const target = wildcard
    ? LOOPBACK
    : host.includes(":") && !host.startsWith("[")
    ? `[${host}]`
    : host;
  return `http://${target}:${port}/healthz`;
}

/**
 * Requests `url` and returns the exit code: 0 on status 200, else 1. Writes
 * one line saying why to stderr when unhealthy.
 *
 * @param url The `/healthz` URL.
 * @param timeoutMs How long to wait for the answer.
 */
export async function healthcheck(
  url: string,
  timeoutMs = 3_000,
): Promise<number> {
  let line: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    if (res.status === 200) return EXIT.ok;
    line = `Unhealthy: GET ${url} answered ${res.status}`;
  } catch (error) {
    line = `Unhealthy: GET ${url} failed: ${(error as Error).message}`;
  }
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
  return EXIT.failure;
}
