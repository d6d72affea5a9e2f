/**
 * The contract "WebSockets" (README), over real sockets with Deno's
 * WebSocket client: echo of text and binary frames, connections spread
 * over replicas, close codes (1000, 1001 on SIGTERM, 1009, 1011), a client
 * that vanishes, in-flight accounting and admission (503 when full).
 */

import assert from "node:assert/strict";
import {
  fixture,
  type LogLine,
  type RunningServer,
  withServer,
} from "./_server.ts";
import { pollUntil, scrape } from "./_metrics.ts";

const PROJECT = fixture("websocket");
const msg = (l: LogLine) => String(l.message);

/** Opens a WebSocket and waits until it is open. */
async function connect(s: RunningServer, path = "/ws"): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}${path}`);
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot open ${path}`));
  });
  return ws;
}

/** The next message of `ws`. */
function next(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) => {
    ws.addEventListener("message", (e) => resolve(e.data), { once: true });
  });
}

/** Resolves with the close event of `ws`. */
function closed(ws: WebSocket): Promise<CloseEvent> {
  return new Promise((resolve) => {
    ws.addEventListener("close", (e) => resolve(e), { once: true });
  });
}

/** A raw upgrade request; resolves with the connection and the answer head. */
async function rawUpgrade(
  s: RunningServer,
  path: string,
  extra: string[] = [],
): Promise<{ conn: Deno.TcpConn; head: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  const lines = [
    `GET ${path} HTTP/1.1`,
    "host: localhost",
    "upgrade: websocket",
    "connection: Upgrade",
    `sec-websocket-key: ${key}`,
    "sec-websocket-version: 13",
    ...extra,
    "",
    "",
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n")));
  const buf = new Uint8Array(8192);
  let head = "";
  // A server that never answers fails the test instead of hanging it.
  const timer = setTimeout(() => conn.close(), 10_000);
  try {
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch (error) {
    throw new Error(`no answer to the upgrade of ${path}: ${error}`);
  } finally {
    clearTimeout(timer);
  }
  return { conn, head };
}

const KEY = "ws-test-key-0123456789";

const inFlight = async (s: RunningServer, api: string) =>
  (await scrape(s.url)).get("cortex_in_flight_requests", { api });

// Served with only its `ws` API (whose replicas listen and upgrade
// themselves) or whole (two HTTP APIs: the serving process upgrades and
// relays every message to a replica).
for (
  const [args, where] of [
    [["--api", "ws"], "replicas listen"],
    [[], "through the serving process"],
  ] as const
) {
  Deno.test(
    `websockets (${where}): echo, binary, replicas, close codes, vanishing clients`,
    () => echoAndClose([...args]),
  );
}

async function echoAndClose(args: string[]) {
  await withServer(PROJECT, { args, env: { WS_KEYS: KEY } }, async (s) => {
    // Echo of a text frame; plain GET still reaches handleGet.
    const ws = await connect(s);
    const echoed = next(ws);
    ws.send("hello");
    assert.equal(await echoed, "hello");
    assert.deepEqual(await (await fetch(`${s.url}/ws`)).json(), {
      plain: true,
    });

    // The handler's req keeps the upgrade request's headers and id.
    const headers = next(ws);
    ws.send("headers");
    assert.match(String(await headers), /^websocket [\w-]+$/);

    // Binary frames come back as the same bytes.
    const bin = next(ws);
    ws.send(new Uint8Array([0, 1, 2, 255]));
    assert.deepEqual(
      [...new Uint8Array(await bin as ArrayBuffer)],
      [0, 1, 2, 255],
    );

    // 1000: the handler sees the client's normal close; its access line
    // has status 101 and the close code.
    const gone = closed(ws);
    ws.close(1000, "bye");
    assert.equal((await gone).code, 1000);
    await s.waitForLine((l) => msg(l) === "socket closed" && l.code === 1000);
    await s.waitForLine((l) => l.status === 101 && l.closeCode === 1000);

    // 1009: a message over max_body_size (1 KB).
    const big = await connect(s);
    const bigClosed = closed(big);
    big.send("x".repeat(2000));
    assert.equal((await bigClosed).code, 1009);

    // 1011: a listener that throws, and handleWebSocket that throws; each
    // logs an error line with its request id.
    const boom = await connect(s);
    const boomClosed = closed(boom);
    boom.send("boom");
    assert.equal((await boomClosed).code, 1011);
    const failed = await s.waitForLine((l) =>
      msg(l) === "WebSocket handler failed" && l.levelname === "ERROR" &&
      String(l.exception ?? l.error ?? JSON.stringify(l)).includes(
        "listener boom",
      )
    );
    assert.ok(
      (failed.labels as Record<string, unknown>)?.requestId ??
        failed.requestId,
    );
    const thrower = new WebSocket(`ws://127.0.0.1:${s.port}/ws?mode=throw`);
    assert.equal((await closed(thrower)).code, 1011);

    // Many connections: both replicas serve some; each is in flight.
    const many = await Promise.all(
      Array.from({ length: 16 }, () => connect(s)),
    );
    const ids = new Set(
      await Promise.all(many.map((w) => {
        const id = next(w);
        w.send("who");
        return id;
      })),
    );
    assert.equal(ids.size, 2, `served by ${[...ids].join(", ")}`);
    await pollUntil(
      "16 connections in flight",
      5_000,
      async () => (await inFlight(s, "ws")) >= 16,
    );
    await Promise.all(many.map((w) => {
      const c = closed(w);
      w.close();
      return c;
    }));

    // A client that vanishes (TCP closed, no close frame): the handler
    // sees the close, and nothing stays in flight.
    const { conn, head } = await rawUpgrade(s, "/ws");
    assert.match(head, /^HTTP\/1\.1 101/);
    conn.close();
    await s.waitForLine((l) =>
      msg(l) === "socket closed" && l.code !== 1000 && l.code !== 1009
    );
    await pollUntil(
      "no connection in flight",
      5_000,
      async () => (await inFlight(s, "ws")) === 0,
    );
  });
}

for (
  const [args, where] of [
    [["--api", "ws-small"], "replicas listen"],
    [[], "through the serving process"],
  ] as const
) {
  Deno.test(
    `websockets (${where}): admission answers 503 before the upgrade when full`,
    () => admission([...args]),
  );
}

async function admission(args: string[]) {
  await withServer(PROJECT, { args, env: { WS_KEYS: KEY } }, async (s) => {
    const first = await connect(s, "/ws-small");
    const { conn, head } = await rawUpgrade(s, "/ws-small");
    conn.close();
    assert.match(head, /^HTTP\/1\.1 503/);
    assert.match(head, /retry-after: 1/i);
    const gone = closed(first);
    first.close();
    await gone;
    const again = await connect(s, "/ws-small");
    again.close();
  });
}

for (
  const [args, where] of [
    [["--api", "ws"], "replicas listen"],
    [[], "through the serving process"],
  ] as const
) {
  Deno.test(
    `websockets (${where}): SIGTERM closes open connections with 1001 after the grace period`,
    () => shutdown([...args]),
  );
}

async function shutdown(args: string[]) {
  await withServer(PROJECT, { args, env: { WS_KEYS: KEY } }, async (s) => {
    const ws = await connect(s);
    const echoed = next(ws);
    ws.send("still here");
    assert.equal(await echoed, "still here");
    const gone = closed(ws);
    const started = performance.now();
    s.proc.kill("SIGTERM");
    const event = await gone;
    assert.equal(event.code, 1001);
    // Kept open through most of the grace period (2 s).
    assert.ok(performance.now() - started >= 1_000);
  });
}

for (
  const [args, where] of [
    [["--api", "ws-keyed"], "replicas listen"],
    [[], "through the serving process"],
  ] as const
) {
  Deno.test(
    `websockets (${where}): the upgrade request passes the API's edge checks`,
    () => edgeChecks([...args]),
  );
}

async function edgeChecks(args: string[]) {
  await withServer(PROJECT, { args, env: { WS_KEYS: KEY } }, async (s) => {
    const refused = await rawUpgrade(s, "/ws-keyed");
    refused.conn.close();
    assert.match(refused.head, /^HTTP\/1\.1 401/);
    const keyed = await rawUpgrade(s, "/ws-keyed", [`x-api-key: ${KEY}`]);
    keyed.conn.close();
    assert.match(keyed.head, /^HTTP\/1\.1 101/);
  });
}
