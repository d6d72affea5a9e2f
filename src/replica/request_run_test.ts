/**
 * A request run's timeout race (request_run.ts): whatever it waits for (the
 * body, an async handler) loses to `handler.request_timeout`, and what
 * arrives after it (a late result, a late rejection) is dropped without an
 * unhandled rejection. In-process, as src/replica/runtime.ts wires the
 * pipeline.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseApiConfigs } from "../config/parse_api_configs.ts";
import type { HandlerLogger } from "../handler/handler_context.ts";
import { RequestStats } from "../metrics/request_stats.ts";
import { Admission, createAdmissionBuffer } from "./admission.ts";
import { createHttpPipeline, requestIdOf } from "./http_pipeline.ts";
import { Slots } from "./slots.ts";

const TIMEOUT_MS = 100;
const LATE_MS = 250;

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Handler {
  async handlePost(payload: { late?: "resolve" | "reject" }) {
    if (payload.late) {
      await delay(LATE_MS);
      if (payload.late === "reject") {
        throw new Error("rejected after the timeout");
      }
      return { late: true };
    }
    return payload;
  }
}

/** A plain (synchronous) handler: JSON bodies of known length take the fast path. */
class SyncHandler {
  handlePost(payload: { throws?: boolean; waitMs?: number; n?: number }) {
    if (payload.throws) throw new Error("thrown by the handler");
    // A promise from a plain method: the general path awaits it.
    if (payload.waitMs) return delay(payload.waitMs).then(() => payload);
    return payload;
  }
}

function pipeline(
  logged: string[],
  handler: object = new Handler(),
  access: () => void = () => {},
) {
  const [api] = parseApiConfigs(
    `- name: race\n  handler:\n    path: handler.ts\n    request_timeout: ${TIMEOUT_MS}ms\n`,
    "cortex.yaml",
    new Set(["handler.ts"]),
  );
  const admission = new Admission(createAdmissionBuffer());
  admission.limit = 8;
  const logger = {
    exception: (message: string) => void logged.push(message),
  } as unknown as HandlerLogger & { exception(): void };
  return createHttpPipeline({
    api: api!,
    handler: handler as unknown as Record<string, unknown>,
    admission,
    slot: 0,
    slots: new Slots(1, (delta) => admission.addQueued(delta, 0)),
    stats: new RequestStats(),
    loggerFor: () => logger,
    access,
    track: () => {},
  });
}

async function post(
  serve: ReturnType<typeof pipeline>,
  body: BodyInit,
  contentLength?: number,
): Promise<Response> {
  // With Content-Length, a JSON body takes RequestRun's fast path.
  const req = new Request("http://127.0.0.1/race", {
    method: "POST",
    headers: contentLength === undefined
      ? { "content-type": "application/json" }
      : {
        "content-type": "application/json",
        "content-length": String(contentLength),
      },
    body,
  });
  // The deadline timer is unref'd (in a replica the listener keeps the
  // process alive): hold the event loop open while the run waits.
  const alive = setTimeout(() => {}, 10_000);
  try {
    return await serve(req, { requestId: requestIdOf(req) });
  } finally {
    clearTimeout(alive);
  }
}

// The pipeline's deadline timer runs for the replica's life (unref'd).
const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "request run: a late result or rejection of the handler is dropped after its 504",
  options,
  async () => {
    const logged: string[] = [];
    const serve = pipeline(logged);
    for (const late of ["resolve", "reject"]) {
      const res = await post(serve, JSON.stringify({ late }));
      assert.equal(res.status, 504, late);
      assert.match((await res.json()).error, /request_timeout/);
    }
    // Both handler calls end after their runs did.
    await delay(LATE_MS);
    assert.deepEqual(logged, []);
    const res = await post(serve, JSON.stringify({ ok: 1 }));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: 1 });
  },
);

Deno.test(
  "request run: a body slower than request_timeout gets 408, and its late failure is dropped",
  options,
  async () => {
    const logged: string[] = [];
    const serve = pipeline(logged);
    let fail!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"partial":'));
        fail = () => c.error(new Error("client went away after the timeout"));
      },
    });
    const started = performance.now();
    const res = await post(serve, body);
    assert.equal(res.status, 408);
    assert.ok(performance.now() - started >= TIMEOUT_MS);
    assert.equal(res.headers.get("connection"), "close");
    await res.body?.cancel();
    fail();
    await delay(10);
    assert.deepEqual(logged, []);
  },
);

Deno.test(
  "request run, fast path (JSON with Content-Length): thrown, promised, invalid and queued",
  options,
  async () => {
    const logged: string[] = [];
    const serve = pipeline(logged, new SyncHandler());
    const send = (value: unknown) => {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      return post(serve, text, text.length);
    };
    const ok = await send({ n: 1 });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { n: 1 });
    assert.match(ok.headers.get("x-request-id") ?? "", /^[\w-]{36}$/);
    const thrown = await send({ throws: true });
    assert.equal(thrown.status, 500);
    assert.match((await thrown.json()).request_id, /^[\w-]{36}$/);
    assert.deepEqual(logged, ['Handler of API "race" threw']);
    const invalid = await send('{"n":');
    assert.equal(invalid.status, 400);
    assert.match((await invalid.json()).error, /Cannot parse JSON body/);
    // One slot: the second request's body is read while the first holds
    // it, so the second waits for the slot on the general path.
    const [first, second] = await Promise.all([
      send({ waitMs: 30, n: 2 }),
      send({ n: 3 }),
    ]);
    assert.deepEqual(await first.json(), { waitMs: 30, n: 2 });
    assert.deepEqual(await second.json(), { n: 3 });
    // A promise that outlives request_timeout: 504, as on the general path.
    const late = await send({ waitMs: LATE_MS });
    assert.equal(late.status, 504);
    await late.body?.cancel();
    await delay(LATE_MS);
  },
);

Deno.test(
  "request run, fast path: a JSON body slower than request_timeout gets 408",
  options,
  async () => {
    const serve = pipeline([], new SyncHandler());
    let fail!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"partial":'));
        fail = () => c.error(new Error("client went away after the timeout"));
      },
    });
    const started = performance.now();
    const res = await post(serve, body, 100);
    assert.equal(res.status, 408);
    assert.ok(performance.now() - started >= TIMEOUT_MS);
    assert.equal(res.headers.get("connection"), "close");
    await res.body?.cancel();
    fail();
    await delay(10);
  },
);

Deno.test(
  "request run: a throw while answering rejects the run on both paths (never a hung request)",
  options,
  async () => {
    const serve = pipeline([], new SyncHandler(), () => {
      throw new Error("access log broken");
    });
    const body = JSON.stringify({ n: 1 });
    for (const length of [undefined, body.length]) {
      await assert.rejects(post(serve, body, length), /access log broken/);
    }
  },
);
