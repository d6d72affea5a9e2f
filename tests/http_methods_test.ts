/**
 * Methods and broken bodies over raw sockets (clients like fetch normalise
 * or refuse them): TRACE, lower-case methods, HEAD, OPTIONS, unknown
 * methods, and a truncated body followed by a half-close. The fixture's
 * other API has two replicas, so most connections to /items land on one of
 * them and are handed on; each case is sent over several connections to
 * cover both paths. None of them may answer 500 or log an ERROR.
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import { scrape } from "./_metrics.ts";
import { rawRequest, type RawResponse } from "./_raw_http.ts";

const CONNECTIONS = 8;
const GET_BODY = JSON.stringify({ items: ["a", "b"] });

function head(method: string, path: string, extra = ""): string {
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`;
}

/** Sends `request` over CONNECTIONS fresh connections, one after another. */
async function each(
  port: number,
  request: string,
  halfClose = false,
): Promise<RawResponse[]> {
  const out: RawResponse[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    out.push(await rawRequest(port, request, { halfClose, quietMs: 5_000 }));
  }
  return out;
}

function statuses(responses: RawResponse[]): number[] {
  return [...new Set(responses.map((r) => r.status))];
}

const isError = (l: LogLine) =>
  l.levelname === "ERROR" || l.levelname === "CRITICAL";

Deno.test("http methods: TRACE, lower case, HEAD and truncated bodies get 4xx/5xx answers of their own, never 500 or an ERROR", async (t) => {
  await withServer(fixture("methods"), {}, async ({ port, lines }) => {
    await t.step("GET still works on every path", async () => {
      for (const r of await each(port, head("GET", "/items"))) {
        assert.equal(r.status, 200);
        assert.equal(r.body, GET_BODY);
      }
    });

    await t.step(
      "TRACE → 501 (no API serves it), wherever it lands",
      async () => {
        for (const path of ["/items", "/other", "/healthz"]) {
          const rs = await each(port, head("TRACE", path));
          assert.deepEqual(statuses(rs), [501], path);
          for (const r of rs) {
            assert.match(
              JSON.parse(r.body).error,
              /Method "TRACE" is not supported/,
            );
            assert.ok(r.headers.get("x-request-id"));
          }
        }
      },
    );

    await t.step(
      "lower-case get → 501 (methods are case-sensitive), not GET",
      async () => {
        for (const method of ["get", "Get", "post"]) {
          const rs = await each(port, head(method, "/items"));
          assert.deepEqual(statuses(rs), [501], method);
          assert.match(
            JSON.parse(rs[0]!.body).error,
            /methods are case-sensitive/,
          );
        }
      },
    );

    await t.step(
      "HEAD → handleGet's status and headers, Content-Length of its body, no body",
      async () => {
        for (const r of await each(port, head("HEAD", "/items"))) {
          assert.equal(r.status, 200);
          assert.equal(r.headers.get("content-type"), "application/json");
          assert.equal(
            r.headers.get("content-length"),
            String(GET_BODY.length),
          );
          assert.equal(r.body, "");
          assert.ok(r.headers.get("x-request-id"));
        }
      },
    );

    await t.step("HEAD → handleHead when the handler has one", async () => {
      for (const r of await each(port, head("HEAD", "/other"))) {
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("x-head"), "own");
        assert.equal(r.headers.get("x-method"), "HEAD");
        assert.equal(r.body, "");
      }
    });

    await t.step(
      "OPTIONS and unknown methods → 405 with Allow (HEAD included)",
      async () => {
        for (const method of ["OPTIONS", "FOO"]) {
          for (const r of await each(port, head(method, "/items"))) {
            assert.equal(r.status, 405, method);
            assert.equal(r.headers.get("allow"), "POST, GET, HEAD");
          }
        }
      },
    );

    await t.step(
      "a truncated body, then a half-close → 400",
      async () => {
        const declared = "POST /items HTTP/1.1\r\nHost: localhost\r\n" +
          "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" +
          '{"a":';
        const chunked = "POST /items HTTP/1.1\r\nHost: localhost\r\n" +
          "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
          '10\r\n{"a":';
        for (const request of [declared, chunked]) {
          const rs = await each(port, request, true);
          assert.deepEqual(statuses(rs), [400]);
          assert.match(rs[0]!.body, /Cannot read request body/);
        }
      },
    );

    await t.step(
      "nothing stays in flight (refused requests that were handed on too)",
      async () => {
        const m = await scrape(`http://127.0.0.1:${port}`);
        for (const api of ["items", "other"]) {
          assert.equal(m.get("cortex_in_flight_requests", { api }), 0, api);
        }
      },
    );

    await t.step("no ERROR line was logged", async () => {
      await new Promise((r) => setTimeout(r, 300)); // replicas batch their lines
      assert.deepEqual(
        lines().filter(isError).map((l) => [l.message, l.exc_info]),
        [],
      );
    });
  });
});
