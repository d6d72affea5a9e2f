/**
 * Keeps node:http2 in Deno 2.9 from crashing the gRPC process when a client
 * closes its connection (denoland/deno#36788).
 *
 * A client that closes gracefully sends GOAWAY (NO_ERROR), waits for its
 * calls to end, then closes the socket. On that GOAWAY Deno's node:http2
 * closes the server's session at once (`session.close()`: a GOAWAY back, then
 * the native session destroyed as soon as no stream is open); that destroy
 * races the client's socket close and the native code aborts
 * (`free(): invalid pointer`, or nghttp2's assertion `stream->closed_next ==
 * NULL` in `find_stream_on_goaway_func`). Raw grpc-js under Deno died on the
 * first client close after a few hundred calls in 6 of 6 tries (8 connections,
 * 0.5 s of unary calls each, 2026-12-01); with the guard it survived 12 of 12.
 *
 * The guard skips only that one `close()`: the session then ends when the
 * client closes the socket, as the client said it would, and every other
 * close (a server shutdown, grpc-js's idle and keepalive limits) still runs.
 *
 * @module
 */

import { constants, type ServerHttp2Session } from "node:http2";

/** Anything that emits node:http2's server `session` event. */
export interface SessionSource {
  on(event: "session", listener: (session: ServerHttp2Session) => void): void;
}

/**
 * Guards every session `server` accepts from now on.
 *
 * @param server a node:http2 server (grpc-js's)
 */
export function guardClientGoaway(server: SessionSource): void {
  server.on("session", guardSession);
}

/**
 * Makes the `close()` node:http2 runs right after a client's NO_ERROR GOAWAY
 * a no-op for `session` (its callback still runs when the session closes).
 *
 * @param session a server session of node:http2
 */
export function guardSession(session: ServerHttp2Session): void {
  const close = session.close;
  let clientSaidGoaway = false;
  session.on("goaway", (code: number) => {
    // node:http2 calls close() right after emitting this event; only that
    // call is skipped, never a later one (shutdown).
    clientSaidGoaway = code === constants.NGHTTP2_NO_ERROR;
    queueMicrotask(() => clientSaidGoaway = false);
  });
  session.close = function (this: ServerHttp2Session, callback?: () => void) {
    if (clientSaidGoaway) {
      clientSaidGoaway = false;
      if (callback) this.once("close", callback);
      return;
    }
    return close.call(this, callback);
  };
}
