import assert from "node:assert/strict";
import { HandlerSocket } from "./handler_socket.ts";
import { RelayedTransport } from "./relayed_transport.ts";

/** A relayed transport recording what it sends, and a socket over it. */
function setup(maxMessageBytes = 16) {
  const sent: unknown[] = [];
  const closes: [number | undefined, string | undefined][] = [];
  const errors: unknown[] = [];
  const transport = new RelayedTransport({
    send: (data) => sent.push(data),
    close: (code, reason) => closes.push([code, reason]),
  });
  const socket = new HandlerSocket("http://x/ws", transport, {
    maxMessageBytes,
    onListenerError: (error) => errors.push(error),
  });
  return { transport, socket, sent, closes, errors };
}

Deno.test("HandlerSocket: on* handlers and listeners get open, message and close", () => {
  const { transport, socket } = setup();
  const seen: string[] = [];
  socket.onopen = () => seen.push("onopen");
  socket.addEventListener("open", () => seen.push("listener open"));
  socket.onmessage = (e) => seen.push(`message ${e.data}`);
  const onClose = (e: Event) => seen.push(`close ${(e as CloseEvent).code}`);
  socket.addEventListener("close", onClose);
  assert.equal(socket.readyState, WebSocket.CONNECTING);
  transport.opened();
  assert.equal(socket.readyState, WebSocket.OPEN);
  transport.message("hi");
  transport.closed(1000, "bye");
  assert.equal(socket.readyState, WebSocket.CLOSED);
  assert.deepEqual(seen, [
    "onopen",
    "listener open",
    "message hi",
    "close 1000",
  ]);
});

Deno.test("HandlerSocket: binary messages follow binaryType; send passes bytes on", async () => {
  const { transport, socket, sent } = setup();
  const got: unknown[] = [];
  socket.onmessage = (e) => got.push(e.data);
  transport.opened();
  assert.equal(socket.binaryType, "arraybuffer");
  transport.message(new Uint8Array([1, 2]));
  socket.binaryType = "blob";
  transport.message(new Uint8Array([3]));
  assert.ok(got[0] instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(got[0] as ArrayBuffer)], [1, 2]);
  assert.ok(got[1] instanceof Blob);
  assert.deepEqual([...new Uint8Array(await (got[1] as Blob).arrayBuffer())], [
    3,
  ]);
  socket.send("text");
  socket.send(new Uint8Array([9, 8]).subarray(1));
  assert.equal(sent[0], "text");
  assert.deepEqual([...(sent[1] as Uint8Array)], [8]);
});

Deno.test("HandlerSocket: a message over the limit closes with 1009 unseen", () => {
  const { transport, socket, closes } = setup(4);
  const got: unknown[] = [];
  socket.onmessage = (e) => got.push(e.data);
  transport.opened();
  transport.message("four");
  transport.message("fives");
  assert.deepEqual(got, ["four"]);
  assert.equal(closes[0]![0], 1009);
  assert.match(closes[0]![1]!, /larger than 4 bytes/);
});

Deno.test("HandlerSocket: a throwing or rejecting listener closes with 1011, reported once", async () => {
  const { transport, socket, closes, errors } = setup();
  socket.onmessage = () => {
    throw new Error("sync boom");
  };
  transport.opened();
  transport.message("x");
  assert.equal(errors.length, 1);
  assert.deepEqual(closes, [[1011, "Internal server error"]]);

  const other = setup();
  other.socket.addEventListener(
    "message",
    () => Promise.reject(new Error("async boom")),
  );
  other.transport.opened();
  other.transport.message("x");
  await new Promise((r) => setTimeout(r, 0));
  assert.match(String(other.errors[0]), /async boom/);
  assert.deepEqual(other.closes, [[1011, "Internal server error"]]);
});

Deno.test("HandlerSocket: fail() before the client's side opens closes once it does", () => {
  const { transport, socket, closes, errors } = setup();
  socket.fail(new Error("handleWebSocket threw"));
  assert.equal(errors.length, 1);
  assert.deepEqual(closes, []);
  transport.opened();
  assert.deepEqual(closes, [[1011, "Internal server error"]]);
});

Deno.test("RelayedTransport: send before open throws, after close is dropped; bad close codes throw", () => {
  const { transport, socket, sent, closes } = setup();
  assert.throws(() => socket.send("early"), /not open/);
  transport.opened();
  assert.throws(() => socket.close(999), /Invalid close code/);
  assert.throws(() => socket.close(1000, "x".repeat(124)), /123 bytes/);
  socket.close(4000, "done");
  assert.equal(socket.readyState, WebSocket.CLOSING);
  socket.send("late");
  assert.deepEqual(sent, []);
  assert.deepEqual(closes, [[4000, "done"]]);
});
