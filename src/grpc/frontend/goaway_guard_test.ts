import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { constants, type ServerHttp2Session } from "node:http2";
import { fileURLToPath } from "node:url";
import { guardSession } from "./goaway_guard.ts";
import { TestClient } from "./_test_client.ts";
import { loadRegistry } from "../common/registry.ts";
import { testDescriptors } from "../_testing.ts";

/** A session whose close() counts its calls, as node:http2's would close. */
function fakeSession() {
  const session = new EventEmitter() as EventEmitter & {
    closes: number;
    close(callback?: () => void): void;
  };
  session.closes = 0;
  session.close = () => void session.closes++;
  guardSession(session as unknown as ServerHttp2Session);
  return session;
}

Deno.test("guardSession() skips the close that follows a client's NO_ERROR GOAWAY", () => {
  const session = fakeSession();
  let closed = 0;
  session.emit("goaway", constants.NGHTTP2_NO_ERROR, 7);
  session.close(() => closed++); // what node:http2 runs next
  assert.equal(session.closes, 0);
  session.emit("close");
  assert.equal(closed, 1, "the skipped close's callback runs on close");
  session.close(); // a later close (server shutdown) is not skipped
  assert.equal(session.closes, 1);
});

Deno.test("guardSession() skips no close() after the GOAWAY's own turn", async () => {
  const session = fakeSession();
  session.emit("goaway", constants.NGHTTP2_NO_ERROR, 7);
  await Promise.resolve();
  session.close(); // e.g. grpc-js's shutdown, later
  assert.equal(session.closes, 1);
});

Deno.test("guardSession() keeps close() after a GOAWAY with an error code", () => {
  const session = fakeSession();
  session.emit("goaway", constants.NGHTTP2_PROTOCOL_ERROR, 7);
  session.close();
  assert.equal(session.closes, 1);
});

// The attack: clients that carried many calls close their connections. Deno
// 2.9's node:http2 aborted the server process on such a close (free():
// invalid pointer, or nghttp2's find_stream_on_goaway_func assertion) when
// calls were answered as fast as raw grpc-js answers them.
Deno.test("the gRPC server survives clients closing after concurrent calls", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-net=127.0.0.1",
      "--allow-sys",
      fileURLToPath(new URL("./testdata/goaway_server.ts", import.meta.url)),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await lines.read();
  const port = Number(first.value?.trim());
  assert.ok(port > 0, `no port from the server: ${first.value}`);
  const registry = loadRegistry(await testDescriptors());
  const ROUNDS = 6;
  let calls = 0;
  try {
    for (let round = 0; round < ROUNDS && !exited; round++) {
      const clients = Array.from(
        { length: 4 },
        () => new TestClient(`127.0.0.1:${port}`, registry),
      );
      const until = Date.now() + 300;
      await Promise.all(
        clients.flatMap((client) =>
          Array.from({ length: 8 }, async () => {
            while (Date.now() < until && !exited) {
              await client.unary("Unary", { text: "x" });
              calls++;
            }
          })
        ),
      );
      for (const client of clients) client.close();
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(calls > 0);
    if (exited) assert.fail(`The server died:\n${await stderr}`);
  } finally {
    await child.stdin.close().catch(() => {});
    await lines.cancel().catch(() => {});
    const { code, signal } = await status;
    if (!exited) assert.deepEqual({ code, signal }, { code: 0, signal: null });
    await stderr;
  }
});
