/**
 * Hostile clients of the gRPC port. In Deno 2.9 a `node:net` server (grpc-js's
 * HTTP/2 server) stops accepting for good after one failed accept (EMFILE),
 * silently: a client that opened more connections than the gRPC process has
 * descriptors took the gRPC port down until a restart, even after closing
 * them all. The gRPC process now probes its own port and restarts when it
 * stops accepting (src/grpc_process/listener_watch.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fixture, type LogLine, withServer } from "./_server.ts";
import {
  E2eClient,
  freePort,
  pollUntil,
  registryOf,
} from "./fixtures/grpc_support/client.ts";

const PROJECT = fixture("grpc_e2e");
const PREFACE = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
);
const msg = (l: LogLine) => String(l.message ?? "");

Deno.test("gRPC: connections beyond the gRPC process's descriptors never leave the port dead", async () => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  // A fixed port: with --grpc-port 0 the process may not connect to its own.
  const grpcPort = await freePort();
  await withServer(
    PROJECT,
    { grpcPort, wrap: ["prlimit", "--nofile=256:256"] },
    async ({ waitForLine }) => {
      // Each client on a connection of its own, as a new client would be.
      const connect = () =>
        new E2eClient(grpcPort, registry, "e2e.v1.E2e", {
          "grpc.use_local_subchannel_pool": 1,
        });
      const first = connect();
      assert.equal(
        (await first.unary("Unary", { text: "before" })).message.text,
        "BEFORE",
      );
      first.close();
      // 400 HTTP/2 connections against 256 descriptors, then let go.
      const conns: Deno.TcpConn[] = [];
      for (let i = 0; i < 400; i++) {
        const conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: grpcPort,
        });
        conns.push(conn);
        await conn.write(PREFACE).catch(() => 0);
      }
      await new Promise((r) => setTimeout(r, 1_000));
      for (const conn of conns) conn.close();

      const reply = await pollUntil(
        "a gRPC call on a new connection after the others closed",
        async () => {
          const client = connect();
          try {
            const { message } = await client.unary("Unary", { text: "after" }, {
              deadline: new Date(Date.now() + 1_000),
            });
            return message;
          } finally {
            client.close();
          }
        },
        30_000,
        200,
      );
      assert.equal(reply.text, "AFTER");
      const line = await waitForLine((l) =>
        /^The gRPC port \d+ has accepted no connection for \d+ s/.test(msg(l))
      );
      assert.equal(line.reason, "listener");
    },
  );
});
