/**
 * Entry point of a replica process: `process_main.ts <socket> <nonce>`.
 *
 * It connects to the serving process's replica socket, introduces itself
 * with the nonce it was started with, gives up its access to the socket's
 * path (so nothing in this process can open a second channel), and runs the
 * replica described by the `init` message it receives. It exits when the
 * serving process closes the channel.
 *
 * @module
 */

import { FrameWriter, readMessages } from "../grpc/frames.ts";
import type { FromReplica, ToReplica } from "./messages.ts";
import { type ParentChannel, startReplica } from "./runtime.ts";

const [socketPath, nonce] = Deno.args;
if (!socketPath || !nonce) {
  throw new TypeError("Usage: process_main.ts <socket> <nonce>");
}

// The serving process decides when a replica stops (it drains, then ends
// it): a signal sent to the whole process group must not cut requests short.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {});
}

const conn = await Deno.connect({ transport: "unix", path: socketPath });
for (
  const descriptor of [
    { name: "net", host: `unix:${socketPath}` },
    { name: "read", path: socketPath },
    { name: "write", path: socketPath },
  ] as const
) {
  Deno.permissions.revokeSync(descriptor);
}

const exit = Deno.exit;
const writer = new FrameWriter(conn, {
  // The serving process is gone: nothing left to serve for.
  onError: () => exit(0),
});
let receive: ((msg: ToReplica) => void) | null = null;
const early: ToReplica[] = [];
const channel: ParentChannel = {
  post: (msg: FromReplica) => writer.send(msg),
  onMessage: (fn) => {
    receive = fn;
    for (const msg of early.splice(0)) fn(msg);
  },
  flushed: () => writer.flushed(),
};
writer.send({ type: "hello", nonce });

let started = false;
readMessages(conn, (message) => {
  const msg = message as ToReplica;
  if (!started && msg.type === "init") {
    started = true;
    startReplica(msg, channel).catch(async (error: Error) => {
      channel.post({
        type: "failed",
        message: String(error?.message ?? error),
        stack: String(error?.stack ?? error),
      });
      await channel.flushed();
      exit(1);
    });
  } else if (receive) receive(msg);
  else early.push(msg);
}).then(() => exit(0), () => exit(0));
