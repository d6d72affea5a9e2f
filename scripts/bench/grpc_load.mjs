/**
 * A closed-loop gRPC load generator on Node's `node:http2` (the machine has
 * Node.js for `./deno`'s install; h2load may be absent): `--connections`
 * HTTP/2 connections, one call in flight on each (as h2load `-m1`), each
 * call one length-prefixed request message. It counts calls, the response
 * messages they carried (for server streaming: messages/s) and calls that
 * did not end with `grpc-status: 0`, and prints one JSON line.
 *
 * Usage: node grpc_load.mjs --port N --path /pkg.Service/Method
 *   --message HEX --connections N --duration S [--warmup S]
 *
 * Output: `{"phase":"measure"}` when the warm-up ends, then, as soon as the
 * measured run ends (before the connections close),
 * {"calls","messages","errors","durationS","latenciesMs":[p50,p99]}. The
 * connections stay open from the warm-up to the end: closing connections
 * after concurrent calls can abort a grpc-js server under Deno
 * (denoland/deno#36788), so a caller reads CPU counters at these lines
 * rather than running the warm-up separately.
 *
 * @module
 */

import http2 from "node:http2";
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    path: { type: "string" },
    message: { type: "string", default: "" },
    connections: { type: "string", default: "1" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
  },
});
const body = Buffer.from(values.message, "hex");
const frame = Buffer.alloc(5 + body.length);
frame.writeUInt32BE(body.length, 1);
body.copy(frame, 5);
const connections = Number(values.connections);
const warmupMs = Number(values.warmup) * 1000;
const durationMs = Number(values.duration) * 1000;
const headers = {
  ":method": "POST",
  ":path": values.path,
  "content-type": "application/grpc",
  "te": "trailers",
};

let measuring = false;
let stopped = false;
let calls = 0;
let messages = 0;
let errors = 0;
const latencies = [];

/** Counts the gRPC messages in a response body's chunks (5-byte prefixes). */
function messageCounter() {
  let need = 5; // bytes until the next prefix ends (header) or body ends
  let inHeader = true;
  let header = Buffer.alloc(0);
  let count = 0;
  return {
    push(chunk) {
      let at = 0;
      while (at < chunk.length) {
        if (inHeader) {
          const take = Math.min(need, chunk.length - at);
          header = Buffer.concat([header, chunk.subarray(at, at + take)]);
          at += take;
          need -= take;
          if (need === 0) {
            need = header.readUInt32BE(1);
            header = Buffer.alloc(0);
            inHeader = false;
            count++;
            if (need === 0) {
              inHeader = true;
              need = 5;
            }
          }
        } else {
          const take = Math.min(need, chunk.length - at);
          at += take;
          need -= take;
          if (need === 0) {
            inHeader = true;
            need = 5;
          }
        }
      }
    },
    get count() {
      return count;
    },
  };
}

function loop(session) {
  if (stopped || session.closed || session.destroyed) return;
  const started = performance.now();
  const stream = session.request(headers);
  const counter = messageCounter();
  let status = null;
  stream.on("response", (h) => {
    if (h["grpc-status"] !== undefined) status = h["grpc-status"];
  });
  stream.on("trailers", (t) => {
    status = t["grpc-status"];
  });
  stream.on("data", (chunk) => counter.push(chunk));
  stream.on("error", () => {});
  stream.on("close", () => {
    if (measuring) {
      calls++;
      messages += counter.count;
      if (status !== "0") errors++;
      latencies.push(performance.now() - started);
    }
    loop(session);
  });
  stream.end(frame);
}

const sessions = [];
for (let i = 0; i < connections; i++) {
  const session = http2.connect(`http://127.0.0.1:${values.port}`);
  session.on("error", () => {});
  sessions.push(session);
  loop(session);
}
await new Promise((r) => setTimeout(r, warmupMs));
process.stdout.write(JSON.stringify({ phase: "measure" }) + "\n");
measuring = true;
const start = performance.now();
await new Promise((r) => setTimeout(r, durationMs));
measuring = false;
const elapsedS = (performance.now() - start) / 1000;
stopped = true;
latencies.sort((a, b) => a - b);
const pick = (p) =>
  latencies.length === 0 ? 0 : latencies[
    Math.min(latencies.length - 1, Math.floor(latencies.length * p))
  ];
process.stdout.write(
  JSON.stringify({
    calls,
    messages,
    errors,
    durationS: elapsedS,
    latenciesMs: [pick(0.5), pick(0.99)],
  }) + "\n",
);
// A graceful close (GOAWAY after the last call): an abrupt one after
// concurrent calls can abort a grpc-js server under Deno (denoland/deno#36788).
await Promise.all(
  sessions.map((session) =>
    new Promise((resolve) => {
      session.close(resolve);
      setTimeout(resolve, 2000);
    })
  ),
);
process.exit(0);
