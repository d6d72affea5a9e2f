/**
 * Entry point of a replica process: `process_main.ts <address> <nonce>`
 * (a compiled binary runs the same as `<binary> --cortex-replica <address>
 * <nonce>`; both are src/wire/replica_process_args.ts).
 *
 * It connects to the serving process's replica socket (`unix:<path>`, or
 * `127.0.0.1:<port>` in a compiled binary), introduces itself with the nonce
 * it was started with, gives up its access to that address (so nothing in
 * this process can open a second channel), and runs the replica described
 * by the `init` message it receives. It exits when the serving process
 * closes the channel.
 *
 * @module
 */

import { FrameWriter, readMessages } from "../grpc/common/frames.ts";
import {
  ALONE_BYTES,
  carriedBytes,
  LOG_FRAME_CHARS,
  MIN_FRAME_BYTES,
  replicaFrameLimit,
  splitLogBatch,
} from "../wire/channel_limits.ts";
import type {
  FromReplica,
  ReplicaInit,
  ToReplica,
} from "../wire/replica_messages.ts";
import { type ParentChannel, startReplica } from "./runtime.ts";
import { explainPermissionText } from "../errors/permission_hints.ts";
import { EXIT } from "../wire/exit_codes.ts";
import { replicaProcessArgv } from "../wire/replica_process_args.ts";

async function connect(address: string): Promise<Deno.Conn> {
  if (address.startsWith("unix:")) {
    const path = address.slice(5);
    const conn = await Deno.connect({ transport: "unix", path });
    Deno.permissions.revokeSync({ name: "net", host: address });
    Deno.permissions.revokeSync({ name: "read", path });
    Deno.permissions.revokeSync({ name: "write", path });
    return conn;
  }
  const at = address.lastIndexOf(":");
  const conn = await Deno.connect({
    hostname: address.slice(0, at),
    port: Number(address.slice(at + 1)),
  });
  Deno.permissions.revokeSync({ name: "net", host: address });
  return conn;
}

/**
 * Runs one replica process until the serving process closes its channel.
 *
 * @param narrow called with the init message before the handler loads: a
 *   compiled binary, which starts with the serving process's permissions,
 *   gives up what the replica must not have here.
 */
export async function runReplicaProcess(
  address: string,
  nonce: string,
  narrow: (init: ReplicaInit) => void = () => {},
): Promise<void> {
  // The serving process decides when a replica stops (it drains, then ends
  // it): a signal sent to the whole process group must not cut requests.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => {});
  }
  const exit = Deno.exit;
  const conn = await connect(address);
  const writer = new FrameWriter(conn, {
    // The serving process is gone: nothing left to serve for.
    onError: () => exit(EXIT.ok),
  }, {
    // What the serving process takes whatever the APIs' body limits (a
    // replica's own messages stay under it: src/wire/channel_limits.ts).
    maxFrameBytes: MIN_FRAME_BYTES,
  });
  let receive: ((msg: ToReplica) => void) | null = null;
  const early: ToReplica[] = [];
  const channel: ParentChannel = {
    // gRPC call messages go as call frames (no node:v8 cost).
    post: (msg: FromReplica) =>
      msg.type === "grpc"
        ? writer.sendCall(msg.msg, msg)
        : carriedBytes(msg) > ALONE_BYTES
        ? writer.sendAlone(msg)
        : writer.send(msg),
    // A batch over LOG_FRAME_CHARS (one huge line) goes in several frames.
    postLog: (chunk: string) => {
      if (chunk.length <= LOG_FRAME_CHARS) return writer.sendText(chunk);
      for (const piece of splitLogBatch(chunk)) writer.sendText(piece);
    },
    onMessage: (fn) => {
      receive = fn;
      for (const msg of early.splice(0)) fn(msg);
    },
    flushed: () => writer.flushed(),
  };
  writer.send({ type: "hello", nonce });
  // Deno creates the global `process` on its first use (~7-11 ms; it needs
  // no permission, so it is the same object whenever it is made). The env
  // shim and the process guards need it before the handler loads: made here,
  // once the hello is written, it overlaps the serving process's answer
  // (reading the hello, sending `init`) instead of following `init`.
  void writer.flushed().then(() =>
    (globalThis as { process?: unknown }).process
  );

  let started = false;
  const fail = async (error: Error) => {
    channel.post({
      type: "failed",
      message: explainPermissionText(String(error?.message ?? error)),
      stack: explainPermissionText(String(error?.stack ?? error)),
    });
    await channel.flushed();
    exit(EXIT.failure);
  };
  await readMessages(conn, (message) => {
    const msg = message as ToReplica;
    if (!started && msg.type === "init") {
      started = true;
      // Its hand-offs carry bodies up to its API's limit, which the serving
      // process's frame limit covers (the largest of the APIs').
      writer.maxFrameBytes = replicaFrameLimit(msg.api.handler.maxBodyBytes);
      try {
        narrow(msg);
      } catch (error) {
        void fail(error as Error);
        return;
      }
      startReplica(msg, channel).catch(fail);
    } else if (receive) receive(msg);
    else early.push(msg);
  }, { calls: (msg) => ({ type: "grpc", msg }) }).catch(() => {});
  exit(EXIT.ok);
}

if (import.meta.main) {
  const { address, nonce } = replicaProcessArgv.parseArgv(Deno.args);
  await runReplicaProcess(address, nonce);
}
