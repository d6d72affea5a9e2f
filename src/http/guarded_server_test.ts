import assert from "node:assert/strict";
import {
  defaultMaxConnections,
  type GuardedServer,
  serveGuarded,
} from "./guarded_server.ts";

const enc = new TextEncoder();

function start(
  limits: Partial<Parameters<typeof serveGuarded>[0]["limits"]> = {},
  handler: (req: Request) => Response | Promise<Response> = () =>
    new Response("ok"),
): { server: GuardedServer; warnings: string[] } {
  const warnings: string[] = [];
  const server = serveGuarded({
    hostname: "127.0.0.1",
    port: 0,
    limits: {
      maxConnections: 100,
      headerTimeoutMs: 10_000,
      idleTimeoutMs: 10_000,
      ...limits,
    },
    onWarning: (message) => warnings.push(message),
  }, handler);
  return { server, warnings };
}

/** Resolves with how long the server took to close `conn` (null: still open at `maxMs`). */
async function closedAfter(
  conn: Deno.Conn,
  maxMs: number,
): Promise<{ ms: number | null; text: string }> {
  const started = performance.now();
  const timer = setTimeout(() => conn.close(), maxMs);
  const buf = new Uint8Array(4096);
  let text = "";
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    clearTimeout(timer);
    conn.close();
    return { ms: performance.now() - started, text };
  } catch (error) {
    clearTimeout(timer);
    if (error instanceof Deno.errors.ConnectionReset) {
      conn.close();
      return { ms: performance.now() - started, text };
    }
    return { ms: null, text };
  }
}

Deno.test("serveGuarded serves requests like Deno.serve", async () => {
  const { server } = start(
    {},
    async (req) => new Response(`${req.method} ${await req.text()}`),
  );
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
      method: "POST",
      body: "hi",
    });
    assert.equal(await res.text(), "POST hi");
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveGuarded closes connections beyond maxConnections at once", async () => {
  const { server, warnings } = start({ maxConnections: 2 });
  const port = server.addr.port;
  const held = [
    await Deno.connect({ hostname: "127.0.0.1", port }),
    await Deno.connect({ hostname: "127.0.0.1", port }),
  ];
  try {
    const extra = await Deno.connect({ hostname: "127.0.0.1", port });
    const { ms } = await closedAfter(extra, 2_000);
    assert.ok(ms !== null && ms < 500, `closed after ${ms} ms`);
    assert.equal(server.stats.refused, 1);
    assert.equal(server.stats.open, 2);
    assert.equal(warnings.length, 1);
  } finally {
    for (const c of held) c.close();
    await server.shutdown();
  }
  assert.equal(server.stats.open, 0);
});

Deno.test("serveGuarded closes a connection that does not send its headers in time", async () => {
  const { server } = start({ headerTimeoutMs: 300 });
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const { ms } = await closedAfter(conn, 3_000);
    assert.ok(ms !== null && ms >= 250 && ms < 1_500, `closed after ${ms}`);
    assert.equal(server.stats.timedOut.header, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveGuarded closes an idle keep-alive connection, not an active one", async () => {
  let release = () => {};
  const { server } = start({ idleTimeoutMs: 300 }, async (req) => {
    if (new URL(req.url).pathname === "/slow") {
      await new Promise<void>((r) => release = r);
    }
    return new Response("ok");
  });
  const port = server.addr.port;
  try {
    // Active for longer than the idle timeout: not closed.
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    await slow.write(enc.encode("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    const closing = closedAfter(slow, 5_000);
    await new Promise((r) => setTimeout(r, 800));
    release();
    const { ms, text } = await closing;
    assert.match(text, /^HTTP\/1\.1 200/);
    // Closed once idle after the answer.
    assert.ok(ms !== null && ms >= 1_000 && ms < 2_500, `closed after ${ms}`);
    assert.equal(server.stats.timedOut.idle, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveGuarded shutdown waits for requests in flight and closes idle connections", async () => {
  let release = () => {};
  const { server } = start({}, async () => {
    await new Promise<void>((r) => release = r);
    return new Response("done");
  });
  const port = server.addr.port;
  const idle = await Deno.connect({ hostname: "127.0.0.1", port });
  const pending = fetch(`http://127.0.0.1:${port}/`);
  await new Promise((r) => setTimeout(r, 100));
  let stopped = false;
  const stopping = server.shutdown().then(() => stopped = true);
  const idleClosed = await closedAfter(idle, 2_000);
  assert.ok(idleClosed.ms !== null, "the idle connection stayed open");
  assert.equal(stopped, false);
  release();
  assert.equal(await (await pending).text(), "done");
  await stopping;
  await server.finished;
});

Deno.test("a connection: close answer ends its connection after a short linger", async () => {
  const { server } = start(
    { idleTimeoutMs: 10_000 },
    () => new Response("no", { status: 413, headers: { connection: "close" } }),
  );
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    // A body is declared and never sent.
    await conn.write(
      enc.encode(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
      ),
    );
    const { ms, text } = await closedAfter(conn, 6_000);
    assert.match(text, /^HTTP\/1\.1 413/);
    assert.ok(ms !== null && ms < 3_500, `closed after ${ms}`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("defaultMaxConnections keeps a quarter of the descriptors, at least 64", () => {
  assert.equal(defaultMaxConnections(256), 192);
  assert.equal(defaultMaxConnections(20_000), 15_000);
  assert.equal(defaultMaxConnections(100), 36);
  assert.equal(defaultMaxConnections(null), 3072);
});
