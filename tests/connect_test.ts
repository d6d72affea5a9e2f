/**
 * gRPC from browsers and plain HTTP clients, end to end: `cortex serve` on a
 * fixture project, the gRPC API called on the HTTP port with the Connect
 * protocol (JSON and binary) and gRPC-Web by the Connect-ES web transports
 * and by a raw `fetch` (the `curl` form), every call through replicas.
 */

import assert from "node:assert/strict";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-web";
import { example, fixture, withServer } from "./_server.ts";
import { registryOf } from "./fixtures/grpc_support/client.ts";

const PROJECT = fixture("grpc_e2e");
const SERVICE = "e2e.v1.E2e";

async function e2eService(): Promise<DescService> {
  const service = (await registryOf(PROJECT, "e2e.proto")).getService(
    SERVICE,
  );
  assert.ok(service, SERVICE);
  return service;
}

/** A Connect error from `fn`, or a failure when it succeeds. */
async function connectError(fn: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

/** A Connect streaming request body: one enveloped JSON message. */
function enveloped(message: unknown): Uint8Array<ArrayBuffer> {
  const json = new TextEncoder().encode(JSON.stringify(message));
  const out = new Uint8Array(5 + json.length);
  new DataView(out.buffer).setUint32(1, json.length);
  out.set(json, 5);
  return out;
}

Deno.test("connect: every unary and server-streaming method over Connect and gRPC-Web, next to an HTTP API", async (t) => {
  const service = await e2eService();
  await withServer(PROJECT, {}, async ({ url, waitForLine }) => {
    const transports = {
      "connect json": createConnectTransport({ baseUrl: url }),
      "connect binary": createConnectTransport({
        baseUrl: url,
        useBinaryFormat: true,
      }),
      "grpc-web": createGrpcWebTransport({ baseUrl: url }),
      "grpc-web json": createGrpcWebTransport({
        baseUrl: url,
        useBinaryFormat: false,
      }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      // deno-lint-ignore no-explicit-any
      const client = createClient(service, transport) as any;
      await t.step(`${name}: unary`, async () => {
        const res = await client.unary({
          text: "hi",
          data: new Uint8Array([1, 2, 3]),
        });
        assert.equal(res.text, "HI");
        assert.deepEqual([...res.data], [1, 2, 3]);
        assert.equal(res.count, 3n);
        assert.equal(res.at.seconds, 1_700_000_000n);
        assert.equal(res.at.nanos, 5);
      });

      await t.step(`${name}: server streaming`, async () => {
        const out: unknown[] = [];
        for await (const m of client.repeat({ text: "r", repeat: 4 })) {
          out.push([m.text, m.index]);
        }
        assert.deepEqual(out, [0, 1, 2, 3].map((i) => ["r", i]));
        const none: unknown[] = [];
        for await (const m of client.repeat({ text: "r", repeat: 0 })) {
          none.push(m);
        }
        assert.deepEqual(none, []);
      });

      await t.step(`${name}: metadata both ways`, async () => {
        const headers = new Headers();
        const trailers = new Headers();
        const res = await client.unary({ text: "metadata" }, {
          headers: { "x-in": "sent", "x-request-id": "rid-connect-1" },
          onHeader: (h: Headers) => h.forEach((v, k) => headers.set(k, v)),
          onTrailer: (h: Headers) => h.forEach((v, k) => trailers.set(k, v)),
        });
        assert.equal(res.text, "sent|rid-connect-1");
        assert.equal(headers.get("x-header"), "h1");
        assert.equal(trailers.get("x-trailer"), "t1");
      });

      await t.step(
        `${name}: GrpcError code, message and metadata`,
        async () => {
          const err = await connectError(() =>
            client.unary({ text: "grpc-error" })
          );
          assert.equal(err.code, Code.NotFound);
          assert.equal(err.rawMessage, 'Model "x" not found');
          assert.equal(err.metadata.get("x-why"), "missing");
        },
      );

      await t.step(
        `${name}: a thrown Error is INTERNAL without its detail`,
        async () => {
          const err = await connectError(() => client.unary({ text: "throw" }));
          assert.equal(err.code, Code.Internal);
          assert.match(err.rawMessage, /see the server log for request id/);
          assert.doesNotMatch(err.rawMessage, /secret|at /);
        },
      );

      await t.step(
        `${name}: an invalid reply is INTERNAL naming the type`,
        async () => {
          const err = await connectError(() =>
            client.unary({ text: "bad-return" })
          );
          assert.equal(err.code, Code.Internal);
          assert.match(err.rawMessage, /returned an invalid e2e\.v1\.Res/);
        },
      );

      await t.step(`${name}: the client's deadline`, async () => {
        const err = await connectError(() =>
          client.slow({ text: `deadline-${name}`, delayMs: 10_000 }, {
            timeoutMs: 300,
          })
        );
        assert.equal(err.code, Code.DeadlineExceeded);
        // The handler's signal aborted with DEADLINE_EXCEEDED (code 4).
        const line = await waitForLine((l) =>
          l.message === "Slow aborted" &&
          l.tag === `deadline-${name}`
        );
        assert.equal(line.code, 4);
      });

      await t.step(
        `${name}: a method the handler lacks is UNIMPLEMENTED`,
        async () => {
          const err = await connectError(() => client.missing({ text: "x" }));
          assert.equal(err.code, Code.Unimplemented);
          assert.match(err.rawMessage, /not implemented by the handler/);
        },
      );
    }

    await t.step("a client that goes away cancels the call", async () => {
      const client = createClient(
        service,
        transports["connect json"],
        // deno-lint-ignore no-explicit-any
      ) as any;
      const abort = new AbortController();
      const call = client.slow({ text: "cancel-me", delayMs: 10_000 }, {
        signal: abort.signal,
      });
      await waitForLine((l) =>
        l.message === "Slow started" &&
        l.tag === "cancel-me"
      );
      abort.abort();
      await connectError(() => call);
      const line = await waitForLine((l) =>
        l.message === "Slow aborted" &&
        l.tag === "cancel-me"
      );
      assert.equal(line.code, 1);
    });

    await t.step("curl form: a JSON POST", async () => {
      const res = await fetch(`${url}/${SERVICE}/Unary`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "curl", data: "AQI=" }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.ok(res.headers.get("x-request-id"));
      assert.deepEqual(await res.json(), {
        text: "CURL",
        data: "AQI=",
        count: "2",
        at: "2023-11-14T22:13:20.000000005Z",
      });
    });

    await t.step(
      "curl form: errors as Connect JSON with the mapped status",
      async () => {
        const call = async (path: string, body: unknown) => {
          const res = await fetch(`${url}/${path}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          return { status: res.status, body: await res.json() };
        };
        const notFound = await call(`${SERVICE}/Unary`, { text: "grpc-error" });
        assert.equal(notFound.status, 404);
        assert.equal(notFound.body.code, "not_found");
        const invalid = await call(`${SERVICE}/Unary`, { text: "" });
        assert.equal(invalid.status, 400);
        assert.equal(invalid.body.code, "invalid_argument");
        const unknown = await call(`${SERVICE}/Nope`, {});
        assert.equal(unknown.status, 404);
        assert.equal(unknown.body.code, "unimplemented");
        const bad = await fetch(`${url}/${SERVICE}/Unary`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{not json",
        });
        assert.equal(bad.status, 400);
        assert.equal((await bad.json()).code, "invalid_argument");
      },
    );

    await t.step(
      "h2c (HTTP/2 with prior knowledge): Connect unary and server streaming",
      async () => {
        const client = Deno.createHttpClient({ http1: false, http2: true });
        try {
          const h2 = createClient(
            service,
            createConnectTransport({
              baseUrl: url,
              fetch: (input, init) => fetch(input, { ...init, client }),
            }),
            // deno-lint-ignore no-explicit-any
          ) as any;
          assert.equal((await h2.unary({ text: "h2" })).text, "H2");
          const out: number[] = [];
          for await (const m of h2.repeat({ text: "r", repeat: 3 })) {
            out.push(m.index);
          }
          assert.deepEqual(out, [0, 1, 2]);
        } finally {
          client.close();
        }
      },
    );

    await t.step("gRPC-Web text mode (base64 bodies)", async () => {
      // Req { text: "hi" } (field 1, length 2), in one gRPC-Web frame.
      const frame = new Uint8Array([0, 0, 0, 0, 4, 0x0a, 2, 0x68, 0x69]);
      const res = await fetch(`${url}/${SERVICE}/Unary`, {
        method: "POST",
        headers: {
          "content-type": "application/grpc-web-text",
          accept: "application/grpc-web-text",
        },
        body: btoa(String.fromCharCode(...frame)),
      });
      assert.equal(res.status, 200);
      assert.equal(
        res.headers.get("content-type"),
        "application/grpc-web-text+proto",
      );
      const body = Uint8Array.from(
        atob(await res.text()),
        (c) => c.charCodeAt(0),
      );
      // A message frame (flag 0) holding "HI", then the trailer frame
      // (flag 0x80) with grpc-status: 0.
      assert.equal(body[0], 0);
      const length = new DataView(body.buffer).getUint32(1);
      const message = body.subarray(5, 5 + length);
      assert.deepEqual([...message.subarray(0, 4)], [0x0a, 2, 0x48, 0x49]);
      const trailer = body.subarray(5 + length);
      assert.equal(trailer[0], 0x80);
      assert.match(
        new TextDecoder().decode(trailer.subarray(5)),
        /grpc-status: ?0/,
      );
    });

    await t.step(
      "client streaming and bidi say to use the gRPC port",
      async () => {
        for (const method of ["Collect", "Chat"]) {
          const res = await fetch(`${url}/${SERVICE}/${method}`, {
            method: "POST",
            headers: { "content-type": "application/connect+json" },
            body: enveloped({ text: "a" }),
          });
          const bytes = new Uint8Array(await res.arrayBuffer());
          const end = JSON.parse(new TextDecoder().decode(bytes.subarray(5)));
          assert.equal(end.error.code, "unimplemented", method);
          assert.match(end.error.message, /call it on the gRPC port/);
        }
      },
    );

    await t.step(
      "CORS for browsers: preflight and exposed status headers",
      async () => {
        const origin = "https://app.example.com";
        const pre = await fetch(`${url}/${SERVICE}/Unary`, {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers":
              "content-type,connect-protocol-version",
          },
        });
        await pre.body?.cancel();
        assert.equal(pre.status, 204);
        assert.equal(pre.headers.get("access-control-allow-origin"), origin);
        assert.equal(pre.headers.get("access-control-allow-methods"), "POST");
        const res = await fetch(`${url}/${SERVICE}/Unary`, {
          method: "POST",
          headers: { origin, "content-type": "application/grpc-web+proto" },
          body: new Uint8Array([0, 0, 0, 0, 0]),
        });
        await res.body?.cancel();
        assert.equal(res.headers.get("access-control-allow-origin"), origin);
        assert.match(
          res.headers.get("access-control-expose-headers") ?? "",
          /grpc-status, grpc-message/,
        );
        const refused = await fetch(`${url}/${SERVICE}/Unary`, {
          method: "OPTIONS",
          headers: {
            origin: "https://evil.example",
            "access-control-request-method": "POST",
          },
        });
        await refused.body?.cancel();
        assert.equal(refused.status, 403);
      },
    );

    await t.step("the HTTP API next to it still answers", async () => {
      const res = await fetch(`${url}/http`);
      assert.deepEqual(await res.json(), { ok: true, ms: 0 });
    });

    await t.step("/metrics counts the calls of the gRPC API", async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      assert.match(text, /api="grpc-e2e"/);
    });
  });
});

Deno.test("connect: the README's curl line on the gRPC example (a gRPC-only project)", async () => {
  await withServer(example("grpc"), {}, async ({ url }) => {
    const res = await fetch(`${url}/echo.v1.Echo/Say`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"text":"hello"}',
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.text, "echo: hello");
    const other = await fetch(`${url}/elsewhere`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
  });
});
