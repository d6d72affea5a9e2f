/**
 * One measured wrk run: a warm-up run, then the timed one.
 *
 * @module
 */

import type { BenchContext } from "../types.ts";
import { type LoadResult, runWrk } from "../wrk.ts";

/** A body to POST. */
export interface Body {
  file: string;
  contentType: string;
}

/** Requests sent by the last calls of {@linkcode measure} (warm-up included). */
export const sent = { requests: 0 };

/** Warms up for `ctx.warmupS`, then measures for `ctx.durationS`. */
export async function measure(
  ctx: BenchContext,
  url: string,
  body: Body,
  connections: number,
): Promise<LoadResult> {
  const common = { url, body, connections, cpus: ctx.cpus.load };
  if (ctx.warmupS > 0) {
    const warm = await runWrk({ ...common, durationS: ctx.warmupS });
    sent.requests += warm.requests;
  }
  const result = await runWrk({ ...common, durationS: ctx.durationS });
  sent.requests += result.requests;
  return result;
}

/** POSTs `body` once and checks the answer, so a broken server fails loudly. */
export async function verify(
  url: string,
  body: Body,
  expected: unknown,
): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": body.contentType },
    body: await Deno.readFile(body.file),
  });
  const text = await res.text();
  if (
    res.status !== 200 ||
    JSON.stringify(JSON.parse(text)) !== JSON.stringify(expected)
  ) {
    throw new Error(
      `Unexpected answer from ${url} (${body.contentType}): ${res.status} ${
        text.slice(0, 300)
      }`,
    );
  }
}
