/**
 * Request paths (issue 11, item 7b): a non-normalized path routes to the
 * same API whichever listener takes the connection (the replica of `good`,
 * the replica of `bad`, or the main thread), and the handler sees the
 * normalized path. Sent with a raw TCP client, since fetch() and Request
 * normalize URLs before they are sent.
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "../_server.ts";

const PROJECT = fixture("sec_paths");

/** Sends `GET <target>` on a new connection; returns status and body. */
async function rawGet(
  port: number,
  target: string,
): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
      ),
    );
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(16 * 1024);
    const deadline = setTimeout(() => conn.close(), 10_000);
    try {
      for (let n; (n = await conn.read(buf)) !== null;) {
        chunks.push(buf.slice(0, n));
      }
    } finally {
      clearTimeout(deadline);
    }
    const text = new TextDecoder().decode(
      new Uint8Array(chunks.flatMap((c) => [...c])),
    );
    const [head = "", ...rest] = text.split("\r\n\r\n");
    const status = Number(head.split(" ")[1]);
    let body = rest.join("\r\n\r\n");
    if (/transfer-encoding: chunked/i.test(head)) {
      // One chunk is enough for these small answers.
      body = body.split("\r\n")[1] ?? "";
    }
    return { status, body };
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the deadline or the server.
    }
  }
}

const CASES: [target: string, api: string | null, path: string][] = [
  ["/bad/../good", "good", "/good"],
  ["/good/../bad", "bad", "/bad"],
  ["//good", "good", "/good"],
  ["/bad//../good/x", "good", "/good/x"],
  ["/%2e%2e/good", "good", "/good"],
  ["/bad/%2E%2e/good", "good", "/good"],
  ["/bad/.%2e/good/", "good", "/good/"],
  ["/bad\\..\\good", "good", "/good"],
  ["/good/./x", "good", "/good/x"],
  ["/bad/..%2fgood", "bad", "/bad/..%2fgood"],
  ["/nothing/../neither", null, "/neither"],
];

/** Connections per case: with one replica per API, each listener gets some. */
const TRIES = 24;

Deno.test("request paths: non-normalized paths route the same on every listener", async (t) => {
  await withServer(PROJECT, {}, async ({ port }) => {
    for (const [target, api, path] of CASES) {
      await t.step(`${target} -> ${api ?? "404"}`, async () => {
        const seen = new Map<string, number>();
        for (let i = 0; i < TRIES; i++) {
          const { status, body } = await rawGet(port, target);
          let outcome: string;
          if (status === 200) {
            const json = JSON.parse(body) as { api: string; url: string };
            // The handler sees the normalized path in req.url too.
            outcome = `${json.api} ${json.url.slice(json.url.indexOf("/", 8))}`;
          } else {
            outcome = String(status);
          }
          seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        }
        assert.deepEqual(
          [...seen.keys()],
          [api === null ? "404" : `${api} ${path}`],
          `outcomes of ${TRIES} connections: ${JSON.stringify([...seen])}`,
        );
      });
    }
  });
});
