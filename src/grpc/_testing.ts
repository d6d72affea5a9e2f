/**
 * Test support: a fake core backend that connects the gRPC server straight
 * to a replica side in the same thread (with structured cloning, as
 * postMessage does), a test Handler, and a grpc-js client.
 *
 * @module
 */

import type { FileRegistry } from "@bufbuild/protobuf";
import { fileURLToPath } from "node:url";
import { compileProto } from "./build/proto_compile.ts";
import { Code, GrpcError } from "./common/grpc_error.ts";
import type {
  GrpcBackend,
  GrpcFromReplica,
  GrpcLease,
  GrpcLogger,
} from "./common/protocol.ts";
import { loadRegistry } from "./common/registry.ts";
import { type MethodCodecs, methodCodecs } from "./common/message_codec.ts";
import { createGrpcReplicaSide } from "./replica/replica_side.ts";
import { type GrpcServer, startGrpcServer } from "./frontend/grpc_server.ts";
import type { GrpcCallInfo } from "./common/call_info.ts";
import { TestClient } from "./frontend/_test_client.ts";

/** The fixture project with test.proto. */
export const PROJECT = fileURLToPath(
  new URL("./testdata/project", import.meta.url),
);
/** The fixture project with protos that do not serve. */
export const BAD_PROJECT = fileURLToPath(
  new URL("./testdata/bad", import.meta.url),
);

let compiled: Promise<Uint8Array> | undefined;
/** test.proto compiled once per test process. */
export function testDescriptors(): Promise<Uint8Array> {
  return compiled ??= compileProto(PROJECT, "test.proto");
}

type Msg = Record<string, unknown>;

/** The Handler used by the server tests. */
export class TestHandler {
  /** Reasons of aborted signals, in order. */
  aborts: unknown[] = [];
  /** Resolves when Slow has been called (set by tests). */
  slowStarted = Promise.withResolvers<void>();

  Unary(req: Msg, info: GrpcCallInfo): unknown {
    switch (req.text) {
      case "grpc-error":
        throw new GrpcError(Code.NOT_FOUND, 'Model "x" not found', {
          "x-why": "missing",
        });
      case "throw":
        throw new Error("secret detail");
      case "bad-return":
        return { stamp: { at: { seconds: "soon" } } };
      case "unknown-field":
        return { txt: "typo" };
      case "metadata":
        info.setHeader("x-header", "h1");
        info.setTrailer("x-trailer", "t1");
        return { text: String(info.metadata["x-in"]) + "|" + info.requestId };
    }
    return {
      text: String(req.text).toUpperCase(),
      count: (req.count as bigint) + 1n,
      data: req.data,
      stamp: req.stamp,
      note: "wrapped",
      numbers: [1, 2],
      choice: { case: "digit", value: 7 },
    };
  }

  async clientStream(reqs: AsyncIterable<Msg>): Promise<unknown> {
    const texts: string[] = [];
    for await (const r of reqs) texts.push(String(r.text));
    return { text: texts.join(","), count: BigInt(texts.length) };
  }

  async *ServerStream(req: Msg): AsyncGenerator<unknown> {
    for (let i = 0n; i < (req.count as bigint); i++) {
      yield { text: `${req.text}-${i}`, count: i };
    }
  }

  Bidi(reqs: AsyncIterable<Msg>): AsyncIterable<unknown> {
    return (async function* () {
      for await (const r of reqs) yield { text: `echo:${r.text}` };
    })();
  }

  async Slow(_req: Msg, info: GrpcCallInfo): Promise<unknown> {
    this.slowStarted.resolve();
    await new Promise((resolve) => {
      info.signal.addEventListener("abort", resolve, { once: true });
    });
    this.aborts.push(info.signal.reason);
    throw info.signal.reason;
  }
}

/** A backend whose single replica runs in this thread. */
export class FakeBackend implements GrpcBackend {
  inFlight = 0;
  admitted = 0;
  limit = Infinity;
  errors: { message: string; err: unknown }[] = [];
  #nextId = 1;
  #listeners = new Map<number, (msg: GrpcFromReplica) => void>();
  #lost = new Map<number, (reason: string) => void>();
  #side;

  /**
   * @param codecs the API's codecs: requests arrive as bytes and replies
   *   leave as bytes, as between the gRPC process and a replica
   */
  constructor(handler: object, codecs: MethodCodecs) {
    this.#side = createGrpcReplicaSide({
      handler,
      codecs,
      post: (msg) => {
        const copy = structuredClone(msg);
        queueMicrotask(() => this.#listeners.get(copy.callId)?.(copy));
      },
      logError: (message, err) => this.errors.push({ message, err }),
      runWithSlot: (fn) => fn(),
    });
  }

  /** Reports every call as lost, as when the replica dies. */
  loseAll(reason: string): void {
    for (const listener of [...this.#lost.values()]) listener(reason);
  }

  admit(_api: string): GrpcLease | null {
    if (this.inFlight >= this.limit) return null;
    this.inFlight++;
    this.admitted++;
    const callId = this.#nextId++;
    let released = false;
    return {
      callId,
      post: (msg) => {
        const copy = structuredClone(msg);
        queueMicrotask(() => this.#side.onMessage(copy));
      },
      onMessage: (listener) => this.#listeners.set(callId, listener),
      onLost: (listener) => this.#lost.set(callId, listener),
      release: () => {
        if (released) throw new Error(`Lease ${callId} released twice`);
        released = true;
        this.#listeners.delete(callId);
        this.#lost.delete(callId);
        this.inFlight--;
      },
    };
  }
}

/** A logger that keeps its lines. */
export class MemoryLogger implements GrpcLogger {
  lines: { level: string; msg: string }[] = [];
  debug(msg: string): void {
    this.lines.push({ level: "debug", msg });
  }
  info(msg: string): void {
    this.lines.push({ level: "info", msg });
  }
  warning(msg: string): void {
    this.lines.push({ level: "warning", msg });
  }
  error(msg: string): void {
    this.lines.push({ level: "error", msg });
  }
}

/** What a server test gets. */
export interface ServerFixture {
  server: GrpcServer;
  client: TestClient;
  backend: FakeBackend;
  logger: MemoryLogger;
  handler: TestHandler;
  registry: FileRegistry;
}

/** Runs `fn` against a server on 127.0.0.1:0, then shuts everything down. */
export async function withServer(
  fn: (f: ServerFixture) => Promise<void>,
): Promise<void> {
  const descriptorSet = await testDescriptors();
  const handler = new TestHandler();
  const backend = new FakeBackend(
    handler,
    methodCodecs(descriptorSet, "test.proto"),
  );
  const logger = new MemoryLogger();
  const server = await startGrpcServer({
    apis: [{
      name: "test-api",
      protobufPath: "test.proto",
      descriptorSet,
      handlerMethods: ["Unary", "clientStream", "ServerStream", "Bidi", "Slow"],
    }],
    host: "127.0.0.1",
    port: 0,
    backend,
    logger,
    health: { isServing: () => true },
  });
  const registry = loadRegistry(descriptorSet);
  const client = new TestClient(`127.0.0.1:${server.port}`, registry);
  try {
    await fn({ server, client, backend, logger, handler, registry });
  } finally {
    client.close();
    await server.shutdown(2000);
  }
}
