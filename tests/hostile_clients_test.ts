/**
 * Hostile clients over real sockets (issue 12, items 1-3): idle-connection
 * floods against a lowered descriptor limit, slow headers, idle keep-alives,
 * 1 B/s bodies, a Content-Length longer than the body, and bodies sent to
 * /healthz, /metrics and the main-thread router. Every client is bounded in
 * connections and time.
 */

import assert from "node:assert/strict";
import { fixture, type RunningServer, withServer } from "./_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Short timeouts so each case runs in seconds. */
const SHORT = ["--header-timeout", "1s", "--idle-timeout", "1s"];

function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/**
 * Reads until the server closes the connection or `maxMs` pass. Returns
 * what arrived, when the first of it and the end came (ms from the call)
 * and whether the server closed it (false: still open at `maxMs`).
 */
async function readToClose(
  conn: Deno.Conn,
  maxMs: number,
): Promise<{ text: string; ms: number; firstMs: number; closed: boolean }> {
  const started = performance.now();
  let text = "";
  let firstMs = NaN;
  let closed = false;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }, maxMs);
  const buf = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) {
        closed = performance.now() - started < maxMs;
        break;
      }
      if (text === "") firstMs = performance.now() - started;
      text += dec.decode(buf.subarray(0, n));
    }
  } catch (error) {
    // A reset counts as closed by the server; a read cut by our own timer
    // (BadResource / Interrupted) does not.
    closed = error instanceof Deno.errors.ConnectionReset;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
  return { text, ms: performance.now() - started, firstMs, closed };
}

function statusOf(text: string): number | null {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return m ? Number(m[1]) : null;
}

/** Sends a request head (and optional body part) on a new connection. */
async function send(
  port: number,
  head: string,
  body = "",
): Promise<Deno.TcpConn> {
  const conn = await connect(port);
  await conn.write(enc.encode(head + body));
  return conn;
}

function metricValue(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found ? Number(found.slice(line.length + 1)) : NaN;
}

async function metrics(s: RunningServer): Promise<string> {
  return await (await fetch(`${s.url}/metrics`)).text();
}

/**
 * Opens `clients` connections that send nothing; a connection the server
 * closes within 300 ms counts as refused, the others are held open.
 */
async function flood(
  port: number,
  clients: number,
): Promise<{ held: Deno.TcpConn[]; refused: number; failed: number }> {
  const held: Deno.TcpConn[] = [];
  let refused = 0;
  let failed = 0;
  const probes: Promise<void>[] = [];
  for (let i = 0; i < clients; i++) {
    let conn: Deno.TcpConn;
    try {
      conn = await connect(port);
    } catch {
      failed++;
      continue;
    }
    probes.push((async () => {
      const timer = new Promise<"open">((r) =>
        setTimeout(() => r("open"), 300)
      );
      const read = conn.read(new Uint8Array(64)).then(
        (n) => n === null ? "closed" as const : "data" as const,
        () => "closed" as const,
      );
      if (await Promise.race([read, timer]) === "open") {
        held.push(conn);
        return;
      }
      refused++;
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    })());
  }
  await Promise.all(probes);
  return { held, refused, failed };
}

Deno.test("idle-connection flood under a lowered fd limit: excess refused, server lives, /metrics counts it", async () => {
  // 256 descriptors: the default --max-connections is 192 per process.
  await withServer(fixture("hostile"), {
    wrap: ["prlimit", "--nofile=256:256"],
  }, async (s) => {
    const { held, refused, failed } = await flood(s.port, 400);
    // deno-lint-ignore no-console
    console.log(`held ${held.length}, refused ${refused}, failed ${failed}`);
    assert.equal(held.length, 192);
    assert.ok(refused > 0, "no connection was refused");
    // The server still serves once the flood ends.
    for (const c of held) c.close();
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`${s.url}/small`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const text = await metrics(s);
    assert.ok(
      metricValue(text, "cortex_refused_connections_total") >= refused,
      text.split("\n").filter((l) => l.includes("connection")).join("\n"),
    );
    assert.equal(metricValue(text, "cortex_max_connections"), 192);
    assert.ok(!s.stderr().includes("panicked"), s.stderr());
    assert.ok(
      !s.lines().some((l) => String(l.message).includes("crashed")),
      "a process crashed",
    );
  });
});

Deno.test("descriptor exhaustion (--max-connections above the fd limit): accept backs off, nothing dies", async () => {
  await withServer(fixture("hostile"), {
    wrap: ["prlimit", "--nofile=256:256"],
    args: ["--max-connections", "1000"],
  }, async (s) => {
    const { held, refused, failed } = await flood(s.port, 400);
    // deno-lint-ignore no-console
    console.log(
      `at EMFILE: held ${held.length}, refused ${refused}, failed ${failed}`,
    );
    for (const c of held) c.close();
    await new Promise((r) => setTimeout(r, 500));
    const res = await fetch(`${s.url}/small`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const text = await metrics(s);
    assert.ok(metricValue(text, "cortex_accept_errors_total") > 0, text);
    await s.waitForLine((l) =>
      String(l.message).startsWith("Cannot accept a connection")
    );
    assert.ok(!s.stderr().includes("panicked"), s.stderr());
    assert.ok(
      !s.lines().some((l) => String(l.message).includes("crashed")),
      "a process crashed",
    );
  });
});

Deno.test("slow headers and silent connections are closed at the header timeout", async () => {
  await withServer(fixture("hostile"), { args: SHORT }, async (s) => {
    const slow = await send(s.port, "GET /small HTTP/1.1\r\nHost: x\r\n");
    const silent = await connect(s.port);
    const [a, b] = await Promise.all([
      readToClose(slow, 5_000),
      readToClose(silent, 5_000),
    ]);
    assert.ok(a.closed, `slow headers still open after ${a.ms} ms`);
    assert.ok(b.closed, `silent connection still open after ${b.ms} ms`);
    for (const r of [a, b]) {
      assert.ok(r.ms >= 900 && r.ms < 3_000, `closed after ${r.ms} ms`);
    }
    const text = await metrics(s);
    assert.ok(
      metricValue(text, 'cortex_timed_out_connections_total{kind="header"}') >=
        2,
      text,
    );
    assert.equal(metricValue(text, "cortex_header_timeout_seconds"), 1);
  });
});

Deno.test("an idle keep-alive connection is closed at the idle timeout", async () => {
  await withServer(fixture("hostile"), { args: SHORT }, async (s) => {
    const conn = await send(s.port, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
    const r = await readToClose(conn, 5_000);
    assert.equal(statusOf(r.text), 200, r.text);
    assert.ok(r.closed, `kept-alive connection still open after ${r.ms} ms`);
    assert.ok(r.ms >= 900 && r.ms < 3_000, `closed after ${r.ms} ms`);
    const text = await metrics(s);
    assert.ok(
      metricValue(text, 'cortex_timed_out_connections_total{kind="idle"}') >=
        1,
      text,
    );
  });
});

Deno.test("a 1 B/s body gets 408 within request_timeout and frees its admission", async () => {
  // request_timeout 2s; at most 2 requests admitted.
  await withServer(fixture("hostile"), { args: SHORT }, async (s) => {
    const head =
      "POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n";
    const started = performance.now();
    const trickle = async () => {
      const conn = await send(s.port, head, "x");
      let stop = false;
      const dripping = (async () => {
        while (!stop) {
          await new Promise((r) => setTimeout(r, 1_000));
          if (stop) break;
          await conn.write(enc.encode("x")).catch(() => (stop = true));
        }
      })();
      const r = await readToClose(conn, 12_000);
      stop = true;
      await dripping;
      return r;
    };
    const slow = [trickle(), trickle()];
    // Both are admitted and hold the API's 2 places meanwhile.
    await new Promise((r) => setTimeout(r, 500));
    const busy = await fetch(`${s.url}/small`);
    await busy.body?.cancel();
    const results = await Promise.all(slow);
    const heldMs = performance.now() - started;
    for (const r of results) {
      assert.equal(statusOf(r.text), 408, r.text.slice(0, 300));
      assert.ok(r.firstMs < 4_000, `answered after ${r.firstMs} ms`);
    }
    // deno-lint-ignore no-console
    console.log(
      `1 B/s bodies answered after ${
        results.map((r) => Math.round(r.firstMs)).join(", ")
      } ms (while held: ${busy.status})`,
    );
    // A normal request right after is admitted.
    const res = await fetch(`${s.url}/small`);
    assert.equal(res.status, 200, `after ${Math.round(heldMs)} ms`);
    await res.body?.cancel();
    const text = await metrics(s);
    assert.ok(
      metricValue(text, 'cortex_timed_out_connections_total{kind="body"}') >=
        2,
      text,
    );
  });
});

Deno.test("a Content-Length longer than the body, connection left open, gets 408", async () => {
  await withServer(fixture("hostile"), { args: SHORT }, async (s) => {
    // application/json takes the replica's fast path (src/replica/request_run.ts).
    for (
      const [type, part] of [["text/plain", "only ten b"], [
        "application/json",
        '{"a":"bcd"',
      ]]
    ) {
      const conn = await send(
        s.port,
        `POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: 100\r\n\r\n`,
        part,
      );
      const r = await readToClose(conn, 8_000);
      assert.equal(
        statusOf(r.text),
        408,
        `${type}: ${r.text || "(no answer)"}`,
      );
      assert.ok(r.firstMs < 4_000, `${type}: answered after ${r.firstMs} ms`);
    }
  });
});

Deno.test("/healthz and /metrics refuse a large body unread, and ignore a small one", async () => {
  await withServer(fixture("hostile"), { args: SHORT }, async (s) => {
    for (const path of ["/healthz", "/metrics"]) {
      // 200 MB declared, none sent: answered at once, nothing read.
      const conn = await send(
        s.port,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n`,
      );
      const r = await readToClose(conn, 5_000);
      assert.equal(statusOf(r.text), 413, `${path}: ${r.text || "no answer"}`);
      assert.ok(r.firstMs < 1_000, `${path} answered after ${r.firstMs} ms`);
      // A chunked body that never ends: answered without reading it.
      const chunked = await send(
        s.port,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`,
        "400\r\n" + "x".repeat(1024) + "\r\n",
      );
      const c = await readToClose(chunked, 5_000);
      assert.equal(statusOf(c.text), 200, `${path}: ${c.text || "no answer"}`);
    }
  });
});

Deno.test("main-thread router: declared and streamed bodies over max_body_size get 413, a slow body 408", async () => {
  // Two HTTP APIs: the serving process's main thread takes every request.
  await withServer(fixture("hostile_two"), { args: SHORT }, async (s) => {
    // Declared: refused before a byte of the body is read.
    const declared = await send(
      s.port,
      "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n",
    );
    const d = await readToClose(declared, 5_000);
    assert.equal(statusOf(d.text), 413, d.text || "(no answer)");
    assert.ok(d.firstMs < 1_000, `answered after ${d.firstMs} ms`);
    // Streamed: 4 KiB chunked into an API limited to 1 KiB.
    const res = await fetch(`${s.url}/small`, {
      method: "POST",
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(1024));
          c.close();
        },
      }),
    });
    assert.equal(res.status, 413, await res.text());
    // Slow: a body that does not finish within request_timeout (2 s).
    const slow = await send(
      s.port,
      "POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n",
      "only ten b",
    );
    const r = await readToClose(slow, 8_000);
    assert.equal(statusOf(r.text), 408, r.text || "(no answer)");
    assert.ok(r.firstMs < 4_000, `answered after ${r.firstMs} ms`);
    // Within the limits, the API answers.
    const ok = await fetch(`${s.url}/small`, { method: "POST", body: "hi" });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });
});
