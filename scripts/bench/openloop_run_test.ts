/**
 * openloop.c against a scripted HTTP/1.1 server on a real socket: the
 * answers it must parse (Content-Length, chunked in pieces, "Connection:
 * close", error statuses) and a stall, whose queueing the accounting from
 * intended send times must show.
 */
import assert from "node:assert/strict";
import {
  buildGenerator,
  evenSchedule,
  requestBytes,
  runGenerator,
  summarize,
} from "./openloop.ts";

const encoder = new TextEncoder();

/** Reads one request (head and Content-Length body); null at EOF. */
async function readRequest(
  conn: Deno.Conn,
  pending: { bytes: Uint8Array },
): Promise<string | null> {
  const buf = new Uint8Array(4096);
  for (;;) {
    const text = new TextDecoder().decode(pending.bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) {
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      const total = end + 4 + length;
      if (pending.bytes.length >= total) {
        pending.bytes = pending.bytes.slice(total);
        return text.slice(0, text.indexOf(" ", 5)).split(" ")[1]!;
      }
    }
    const n = await conn.read(buf);
    if (n === null) return null;
    const merged = new Uint8Array(pending.bytes.length + n);
    merged.set(pending.bytes);
    merged.set(buf.subarray(0, n), pending.bytes.length);
    pending.bytes = merged;
  }
}

/** A server answering by path; `stallMs` delays the first answer only. */
function scriptedServer(stallMs = 0) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let first = true;
  const serveConn = async (conn: Deno.Conn) => {
    const pending = { bytes: new Uint8Array() };
    try {
      for (;;) {
        const path = await readRequest(conn, pending);
        if (path === null) return;
        if (first && stallMs > 0) {
          first = false;
          await new Promise((r) => setTimeout(r, stallMs));
        }
        const write = (s: string) => conn.write(encoder.encode(s));
        if (path === "/chunked") {
          await write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
          await write("3\r\nabc\r\n");
          await write("2\r\nde\r\n0\r\n\r\n");
        } else if (path === "/close") {
          await write(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
          );
          return;
        } else if (path === "/busy") {
          await write("HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n");
        } else {
          await write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        }
      }
    } catch {
      // The generator closed the connection.
    } finally {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) serveConn(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await accepting;
    },
  };
}

async function run(path: string, opts: {
  rate: number;
  seconds: number;
  connections: number;
  stallMs?: number;
}) {
  const dir = await Deno.makeTempDir({ prefix: "openloop-test-" });
  const server = scriptedServer(opts.stallMs);
  try {
    const binary = await buildGenerator(dir);
    const requestFile = `${dir}/request`;
    await Deno.writeFile(
      requestFile,
      requestBytes({
        host: "127.0.0.1",
        port: server.port,
        path,
        contentType: "application/json",
        body: encoder.encode("{}"),
      }),
    );
    const schedule = evenSchedule(opts.rate, opts.seconds);
    const out = await runGenerator({
      binary,
      port: server.port,
      connections: opts.connections,
      requestFile,
      schedule,
      runS: opts.seconds,
      drainS: 5,
      tmpDir: dir,
      cpus: null,
    });
    return { schedule, ...out };
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openloop.c reads Content-Length and chunked answers on kept-alive connections", async () => {
  for (const path of ["/fixed", "/chunked"]) {
    const { stats, records } = await run(path, {
      rate: 200,
      seconds: 0.1,
      connections: 2,
    });
    assert.equal(stats.requests, 20, path);
    assert.equal(stats.answered, 20, path);
    assert.equal(stats.reconnects, 0, path);
    assert.deepEqual(new Set(records.status), new Set([200]), path);
    for (let k = 0; k < 20; k++) {
      assert.ok(records.done[k]! >= records.sent[k]!, `${path} #${k}`);
    }
  }
});

Deno.test("openloop.c reconnects after Connection: close and records error statuses", async () => {
  const closed = await run("/close", {
    rate: 200,
    seconds: 0.1,
    connections: 2,
  });
  assert.equal(closed.stats.answered, 20);
  assert.equal(closed.stats.reconnects, 20);
  const busy = await run("/busy", { rate: 200, seconds: 0.1, connections: 2 });
  assert.deepEqual(new Set(busy.records.status), new Set([503]));
  const s = summarize(busy.schedule, busy.records, {
    startNs: 0,
    endNs: 0.1e9,
    stopNs: busy.stats.wallS * 1e9,
  });
  assert.equal(s.errors, 20);
  assert.equal(s.achievedRps, 0);
});

Deno.test("openloop.c keeps sending on schedule through a stall, and the stall shows in the latencies", async () => {
  // 500 req/s on one connection; the first answer takes 300 ms. The 150
  // requests intended meanwhile wait for the connection and go out after it.
  const { schedule, stats, records } = await run("/fixed", {
    rate: 500,
    seconds: 0.6,
    connections: 1,
    stallMs: 300,
  });
  assert.equal(stats.answered, 300);
  const window = { startNs: 0, endNs: 0.6e9, stopNs: stats.wallS * 1e9 };
  const open = summarize(schedule, records, window);
  const over100 =
    [...schedule].filter((at, k) => records.done[k]! - at > 100e6).length;
  // At least the 100 requests intended in the first 200 ms waited > 100 ms.
  assert.ok(over100 >= 100, `only ${over100} requests waited > 100 ms`);
  assert.ok(open.p99Ms > 250, `p99 ${open.p99Ms} ms`);
  // From the send time (a closed loop's view) only the first one was slow.
  const fromSend =
    [...records.sent].filter((sent, k) => records.done[k]! - sent > 100e6)
      .length;
  assert.equal(fromSend, 1);
});
