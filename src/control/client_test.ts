import assert from "node:assert/strict";
import { ControlError, CortexClient } from "./client.ts";

/** A fetch that answers the control API's GET /apis/<name> and records the rest. */
function fakeFetch(endpoint: string) {
  const calls: Request[] = [];
  const fetch = ((input: string | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (new URL(req.url).pathname.startsWith("/apis/")) {
      return Promise.resolve(Response.json({ name: "iris", endpoint }));
    }
    calls.push(req);
    return Promise.resolve(new Response("ok", { status: 201 }));
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

Deno.test("CortexClient.call(): to the API's endpoint plus path, the key in x-api-key, JSON body", async () => {
  const { calls, fetch } = fakeFetch("http://localhost:8888/iris");
  const client = new CortexClient({ url: "http://127.0.0.1:1", token: "t" }, {
    fetch,
    apiKey: "k1",
  });
  const res = await client.call("iris", { path: "/v2", json: { a: 1 } });
  assert.equal(res.status, 201);
  const req = calls[0]!;
  assert.equal(req.url, "http://localhost:8888/iris/v2");
  assert.equal(req.method, "POST");
  assert.equal(req.headers.get("x-api-key"), "k1");
  assert.equal(req.headers.get("authorization"), null, "no control token");
  assert.equal(req.headers.get("content-type"), "application/json");
  assert.deepEqual(await req.json(), { a: 1 });
  // A call's own key wins; no body means GET.
  await client.call("iris", { apiKey: "k2" });
  assert.equal(calls[1]!.method, "GET");
  assert.equal(calls[1]!.headers.get("x-api-key"), "k2");
  assert.equal(calls[1]!.url, "http://localhost:8888/iris");
});

Deno.test("CortexClient.call(): refuses gRPC APIs, a path without /, json and body together", async () => {
  const grpc = new CortexClient({ url: "http://127.0.0.1:1", token: "t" }, {
    fetch: fakeFetch("grpc://localhost:9000").fetch,
  });
  await assert.rejects(
    () => grpc.call("iris"),
    (e: unknown) =>
      e instanceof ControlError && e.status === 400 &&
      /served over gRPC/.test(e.message),
  );
  await assert.rejects(() => grpc.call("iris", { path: "v2" }), TypeError);
  await assert.rejects(
    () => grpc.call("iris", { json: {}, body: "x" }),
    TypeError,
  );
});

Deno.test("CortexClient.call() from a handler (ctx.client) is a chained call to http://api-<name>:8888", async () => {
  const { calls, fetch } = fakeFetch("unused");
  const client = new CortexClient({
    transport: () => Promise.reject(new Error("no control call expected")),
  }, { fetch });
  await client.call("iris", { json: { a: 1 } });
  assert.equal(calls[0]!.url, "http://api-iris:8888/");
  assert.equal(calls[0]!.headers.get("x-api-key"), null);
});
