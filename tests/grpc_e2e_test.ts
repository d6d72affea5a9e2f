/**
 * The contract "gRPC", end to end: `cortex serve` on a fixture project, calls
 * over a real socket with @grpc/grpc-js, every call through Worker replicas.
 */

import assert from "node:assert/strict";
import {
  create,
  createFileRegistry,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { fixture, type LogLine, withServer } from "./_server.ts";
import {
  E2eClient,
  once,
  pollUntil,
  registryOf,
  rejected,
} from "./fixtures/grpc_support/client.ts";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../src/grpc/gen/grpc/health/v1/health_pb.ts";
import {
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../src/grpc/gen/grpc/reflection/v1/reflection_pb.ts";

const PROJECT = fixture("grpc_e2e");
const SERVICE = "e2e.v1.E2e";
const Code = grpc.status;

Deno.test("grpc e2e: every RPC kind and the error statuses through replicas", async (t) => {
  const registry = await registryOf(PROJECT, "e2e.proto");
  await withServer(
    PROJECT,
    {},
    async ({ grpcPort, waitForLine, lines }) => {
      const client = new E2eClient(grpcPort, registry, SERVICE);
      try {
        await t.step("unary", async () => {
          const { message, header } = await client.unary("Unary", {
            text: "hi",
            data: new Uint8Array([1, 2, 3]),
          });
          assert.equal(message.text, "HI");
          assert.deepEqual([...(message.data as Uint8Array)], [1, 2, 3]);
          assert.equal(message.count, 3n);
          assert.deepEqual(
            {
              s: (message.at as Record<string, unknown>).seconds,
              n: (message.at as Record<string, unknown>).nanos,
            },
            { s: 1_700_000_000n, n: 5 },
          );
          assert.ok(header.get("x-request-id")[0], "x-request-id header");
        });

        await t.step("client streaming", async () => {
          const res = await client.clientStream("Collect", [{ text: "a" }, {
            text: "b",
          }, { text: "c" }]);
          assert.equal(res.text, "a,b,c");
          assert.equal(res.count, 3n);
          const none = await client.clientStream("Collect", []);
          assert.equal(none.count, 0n);
        });

        await t.step("server streaming", async () => {
          const out = await client.serverStream("Repeat", {
            text: "r",
            repeat: 5,
          });
          assert.deepEqual(
            out.map((m) => [m.text, m.index]),
            [0, 1, 2, 3, 4].map((i) => ["r", i]),
          );
          assert.deepEqual(
            await client.serverStream("Repeat", { text: "r", repeat: 0 }),
            [],
          );
        });

        await t.step(
          "bidirectional, one reply per request as each arrives",
          async () => {
            const call = client.bidi("Chat");
            const replies: unknown[] = [];
            for (const text of ["one", "two", "three"]) {
              const next = once<Record<string, unknown>>(call, "data");
              call.write({ text });
              const reply = await next; // answered before the next request is written
              replies.push([reply.text, reply.index]);
            }
            const status = once<grpc.StatusObject>(call, "status");
            call.end();
            assert.equal((await status).code, Code.OK);
            assert.deepEqual(replies, [["chat:one", 0], ["chat:two", 1], [
              "chat:three",
              2,
            ]]);
          },
        );

        await t.step("an 8 MiB message round trip", async () => {
          const data = new Uint8Array(8 << 20);
          for (let i = 0; i < data.length; i += 4093) data[i] = i % 251;
          data[data.length - 1] = 7;
          const { message } = await client.unary("Unary", {
            text: "big",
            data,
          });
          assert.equal(message.count, BigInt(data.length));
          assert.equal((message.data as Uint8Array).length, data.length);
          assert.ok(
            Buffer.from(message.data as Uint8Array).equals(Buffer.from(data)),
            "data round trip",
          );
        });

        await t.step("100 concurrent unary calls", async () => {
          const results = await Promise.all(
            Array.from(
              { length: 100 },
              (_, i) => client.unary("Unary", { text: `c${i}` }),
            ),
          );
          assert.deepEqual(
            results.map((r) => r.message.text),
            Array.from({ length: 100 }, (_, i) => `C${i}`),
          );
        });

        await t.step("GrpcError → its code, message and metadata", async () => {
          const err = await rejected(
            client.unary("Unary", { text: "grpc-error" }),
          );
          assert.equal(err.code, Code.NOT_FOUND);
          assert.equal(err.details, 'Model "x" not found');
          assert.deepEqual(err.metadata.get("x-why"), ["missing"]);
          const empty = await rejected(client.unary("Unary", { text: "" }));
          assert.equal(empty.code, Code.INVALID_ARGUMENT);
          assert.equal(empty.details, 'Field "text" is empty');
        });

        await t.step(
          "a plain throw → INTERNAL with the request id, stack only in the log",
          async () => {
            const err = await rejected(
              client.unary("Unary", { text: "throw" }, {
                metadata: { "x-request-id": "e2e-throw-1" },
              }),
            );
            assert.equal(err.code, Code.INTERNAL);
            assert.match(err.details, /request id "e2e-throw-1"/);
            assert.doesNotMatch(err.details, /secret|handler\.ts|at /);
            const line = await waitForLine((l) =>
              "exc_info" in l && String(l.message).includes("e2e-throw-1")
            );
            assert.equal(line.levelname, "ERROR");
            assert.match(String(line.message), /e2e\.v1\.E2e\/Unary/);
            assert.match(String(line.exc_info), /secret e2e detail/);
            assert.match(String(line.exc_info), /handler\.ts/);
            assert.match(
              String(line.message),
              /request id "e2e-throw-1"/,
              "the log line names the request id the client got",
            );
          },
        );

        await t.step(
          "a method the handler lacks → UNIMPLEMENTED (warned at start)",
          async () => {
            const err = await rejected(client.unary("Missing", { text: "x" }));
            assert.equal(err.code, Code.UNIMPLEMENTED);
            assert.match(err.details, /e2e\.v1\.E2e\/Missing/);
            assert.ok(
              lines().some((l) =>
                l.levelname === "WARNING" &&
                String(l.message).includes('no method "Missing"')
              ),
            );
          },
        );

        await t.step(
          "undecodable request bytes → INVALID_ARGUMENT",
          async () => {
            // Field 1 (string) claims 5 bytes but carries 1.
            const err = await rejected(
              client.unaryRaw("Unary", new Uint8Array([0x0a, 0x05, 0x61])),
            );
            assert.equal(err.code, Code.INVALID_ARGUMENT);
            assert.match(err.details, /Cannot decode request as e2e\.v1\.Req/);
          },
        );

        await t.step(
          "a bad return value → INTERNAL naming the field",
          async () => {
            const err = await rejected(
              client.unary("Unary", { text: "bad-return" }),
            );
            assert.equal(err.code, Code.INTERNAL);
            assert.match(err.details, /field "at\.seconds" is "soon"/);
            assert.match(err.details, /e2e\.v1\.E2e\/Unary/);
          },
        );

        await t.step("metadata in and out", async () => {
          const { message, header, trailer } = await client.unary("Unary", {
            text: "metadata",
          }, {
            metadata: { "x-in": "v-in", "x-request-id": "e2e-md-1" },
          });
          assert.equal(message.text, "v-in|e2e-md-1");
          assert.deepEqual(header.get("x-header"), ["h1"]);
          assert.deepEqual(header.get("x-request-id"), ["e2e-md-1"]);
          assert.deepEqual(trailer.get("x-trailer"), ["t1"]);
        });

        await t.step(
          "client cancellation aborts the handler's signal",
          async () => {
            const { promise, resolve } = Promise.withResolvers<
              grpc.ServiceError | null
            >();
            const call = client.unaryCall("Slow", {
              text: "cancel-me",
              delayMs: 0,
            }, resolve);
            await waitForLine((l) =>
              l.message === "Slow started" && l.tag === "cancel-me"
            );
            call.cancel();
            assert.equal((await promise)?.code, Code.CANCELLED);
            const aborted = await waitForLine((l) =>
              l.message === "Slow aborted" && l.tag === "cancel-me"
            );
            assert.equal(aborted.code, Code.CANCELLED);
          },
        );

        await t.step("the deadline aborts the handler's signal", async () => {
          const err = await rejected(
            client.unary("Slow", { text: "deadline", delayMs: 0 }, {
              deadline: new Date(Date.now() + 300),
            }),
          );
          assert.equal(err.code, Code.DEADLINE_EXCEEDED);
          const aborted = await waitForLine((l) =>
            l.message === "Slow aborted" && l.tag === "deadline"
          );
          assert.equal(aborted.code, Code.DEADLINE_EXCEEDED);
        });

        await t.step(
          "over the admission limit → some UNAVAILABLE, the rest OK",
          async () => {
            const limited = new E2eClient(
              grpcPort,
              await registryOf(PROJECT, "limited.proto"),
              "limited.v1.Limited",
            );
            try {
              const results = await Promise.all(
                Array.from(
                  { length: 8 },
                  () =>
                    limited.unary("Slow", { delayMs: 1000 }).then(
                      () => ({ code: Code.OK, details: "" }),
                      (err: grpc.ServiceError) => ({
                        code: err.code,
                        details: err.details,
                      }),
                    ),
                ),
              );
              const codes = results.map((r) => r.code);
              const ok = codes.filter((c) => c === Code.OK).length;
              const unavailable = results.filter((r) =>
                r.code === Code.UNAVAILABLE
              );
              assert.equal(
                ok + unavailable.length,
                8,
                `only OK and UNAVAILABLE: ${JSON.stringify(results)}`,
              );
              assert.ok(ok >= 2, `at least 2 OK: ${codes}`);
              assert.ok(unavailable.length >= 1, `some UNAVAILABLE: ${codes}`);
              for (const u of unavailable) {
                assert.match(
                  u.details,
                  /API "grpc-limited" is at its concurrency limit/,
                );
              }
              // Capacity comes back once the slow calls end.
              await limited.unary("Slow", { delayMs: 1 });
            } finally {
              limited.close();
            }
          },
        );

        await t.step("no replica crashed or was replaced along the way", () => {
          const bad = lines().filter((l) =>
            /crashed|hung|replacing it/.test(String(l.message))
          );
          assert.deepEqual(bad.map((l) => l.message), []);
        });
      } finally {
        client.close();
      }
    },
  );
});

function healthCheck(client: grpc.Client, service: string): Promise<number> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (v: { service: string }) =>
        Buffer.from(
          toBinary(
            HealthCheckRequestSchema,
            create(HealthCheckRequestSchema, v),
          ),
        ),
      (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
      { service },
      (err, res) => err ? reject(err) : resolve(res!.status),
    );
  });
}

/** One reflection stream: sends every request, collects every response. */
function reflect(
  client: grpc.Client,
  requests: unknown[],
): Promise<ServerReflectionResponse[]> {
  return new Promise((resolve, reject) => {
    const out: ServerReflectionResponse[] = [];
    const call = client.makeBidiStreamRequest(
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      (v: unknown) =>
        Buffer.from(
          toBinary(
            ServerReflectionRequestSchema,
            create(ServerReflectionRequestSchema, v as never),
          ),
        ),
      (b: Buffer) => fromBinary(ServerReflectionResponseSchema, b),
    );
    call.on("data", (r: ServerReflectionResponse) => out.push(r));
    call.on("error", reject);
    call.on("status", (s) => s.code === Code.OK && resolve(out));
    for (const r of requests) call.write(r);
    call.end();
  });
}

Deno.test("grpc e2e: health checking and reflection work without the .proto", async (t) => {
  await withServer(PROJECT, {}, async ({ grpcPort }) => {
    const client = new grpc.Client(
      `127.0.0.1:${grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    try {
      await t.step('Check for each service and for "" → SERVING', async () => {
        for (const service of [SERVICE, "limited.v1.Limited", ""]) {
          assert.equal(
            await healthCheck(client, service),
            HealthCheckResponse_ServingStatus.SERVING,
            service,
          );
        }
        const err = await rejected(healthCheck(client, "nope.v1.Nope"));
        assert.equal(err.code, Code.NOT_FOUND);
      });

      await t.step(
        "list services, file containing symbol, then call with the decoded descriptors",
        async () => {
          const [list, files] = await reflect(client, [
            { messageRequest: { case: "listServices", value: "" } },
            {
              messageRequest: { case: "fileContainingSymbol", value: SERVICE },
            },
          ]);
          assert.equal(list!.messageResponse.case, "listServicesResponse");
          const names =
            (list!.messageResponse.value as { service: { name: string }[] })
              .service.map((s) => s.name);
          assert.deepEqual(names.sort(), [
            "e2e.v1.E2e",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "limited.v1.Limited",
          ]);
          assert.equal(files!.messageResponse.case, "fileDescriptorResponse");
          const protos = (files!.messageResponse.value as {
            fileDescriptorProto: Uint8Array[];
          }).fileDescriptorProto
            .map((b) => fromBinary(FileDescriptorProtoSchema, b));
          assert.ok(protos.some((p) => p.name === "e2e.proto"));
          assert.ok(
            protos.some((p) => p.name === "google/protobuf/timestamp.proto"),
            "dependencies are included",
          );
          // The requested file comes first; a registry wants dependencies first.
          const registry = createFileRegistry(
            create(FileDescriptorSetSchema, {
              file: dependenciesFirst(protos),
            }),
          );
          const svc = registry.getService(SERVICE)!;
          assert.deepEqual(svc.methods.map((m) => m.name), [
            "Unary",
            "Collect",
            "Repeat",
            "Chat",
            "Slow",
            "Missing",
          ]);
          const e2e = new E2eClient(grpcPort, registry, SERVICE);
          try {
            const { message } = await e2e.unary("Unary", { text: "reflected" });
            assert.equal(message.text, "REFLECTED");
          } finally {
            e2e.close();
          }
        },
      );
    } finally {
      client.close();
    }
  });
});

function dependenciesFirst(
  files: FileDescriptorProto[],
): FileDescriptorProto[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const out: FileDescriptorProto[] = [];
  const seen = new Set<string>();
  const visit = (f: FileDescriptorProto) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    for (const dep of f.dependency) {
      const d = byName.get(dep);
      assert.ok(d, `reflection left out dependency ${dep} of ${f.name}`);
      visit(d);
    }
    out.push(f);
  };
  files.forEach(visit);
  return out;
}

const apiLine = (name: string) => (l: LogLine) =>
  l.api === name && String(l.message).includes("failed to start");

Deno.test("grpc e2e: a .proto that does not compile fails its API with buf's file:line:col", async () => {
  await withServer(
    fixture("grpc_bad_proto"),
    {},
    async ({ url, waitForLine }) => {
      const failed = await waitForLine(apiLine("bad-grpc"));
      const text = JSON.stringify(failed);
      assert.match(
        text,
        /Cannot compile protobuf \\"broken\.proto\\": broken\.proto:4:3:/,
      );
      const res = await fetch(`${url}/healthz`);
      assert.equal(res.status, 503);
      const body = await res.json();
      assert.match(
        body.reason,
        /API "bad-grpc" is not ready: Cannot compile protobuf "broken\.proto": broken\.proto:4:3:/,
      );
      assert.equal(body.apis["ok-http"].status, "live");
      const ok = await fetch(`${url}/ok`);
      assert.deepEqual(await ok.json(), { ok: true });
    },
  );
});

Deno.test("grpc e2e: a .proto with two services fails its API saying it defines 2", async () => {
  await withServer(
    fixture("grpc_two_services"),
    {},
    async ({ url, waitForLine }) => {
      const failed = await waitForLine(
        (l) => JSON.stringify(l).includes("must define exactly one service"),
      );
      assert.match(
        JSON.stringify(failed),
        /it defines 2 \(\\"two\.v1\.A\\", \\"two\.v1\.B\\"\)/,
      );
      const res = await pollUntil("/healthz", async () => {
        const r = await fetch(`${url}/healthz`);
        return r.status === 503 ? r : (await r.body?.cancel(), null);
      }, 5_000);
      const body = await res.json();
      assert.match(body.reason, /API "two" is not ready: .*defines 2/);
      const ok = await fetch(`${url}/ok`);
      assert.deepEqual(await ok.json(), { ok: true });
    },
  );
});
