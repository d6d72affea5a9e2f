import assert from "node:assert/strict";
import { isWebSocketUpgrade, takesWebSockets } from "./upgrade.ts";

Deno.test("isWebSocketUpgrade(): GET with upgrade: websocket (any case, in a list)", () => {
  const req = (method: string, upgrade?: string) =>
    new Request("http://x/ws", {
      method,
      headers: upgrade === undefined ? {} : { upgrade },
    });
  assert.equal(isWebSocketUpgrade(req("GET", "websocket")), true);
  assert.equal(isWebSocketUpgrade(req("GET", "WebSocket")), true);
  assert.equal(isWebSocketUpgrade(req("GET", "h2c, websocket")), true);
  assert.equal(isWebSocketUpgrade(req("GET", "h2c")), false);
  assert.equal(isWebSocketUpgrade(req("GET", "websockets")), false);
  assert.equal(isWebSocketUpgrade(req("GET")), false);
  assert.equal(isWebSocketUpgrade(req("POST", "websocket")), false);
});

Deno.test("takesWebSockets(): handleWebSocket or handle_web_socket", () => {
  assert.equal(takesWebSockets(["handleGet", "handleWebSocket"]), true);
  assert.equal(takesWebSockets(["handle_web_socket"]), true);
  assert.equal(takesWebSockets(["handleGet", "handleWebsocket"]), false);
});
