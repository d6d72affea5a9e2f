import assert from "node:assert/strict";
import { parseApiConfigs } from "../config/parse_api_configs.ts";
import type { ApiConfig } from "../config/resolved_config.ts";
import { warmup } from "./warmup.ts";

/** An API named `iris` with `warmup` as its handler.warmup YAML. */
function apiWith(warmupYaml: string): ApiConfig {
  return parseApiConfigs(
    `name: iris\nhandler: {path: handler.ts, warmup: ${warmupYaml}}\n`,
    "cortex.yaml",
    new Set(["handler.ts"]),
  )[0]!;
}

/** A pipeline that records its calls and answers with `status`. */
function recorder(status = 200) {
  const calls: Array<{ method: string; body: string; type: string | null }> =
    [];
  const ids: string[] = [];
  const serve = async (req: Request, opts: { requestId: string }) => {
    ids.push(opts.requestId);
    calls.push({
      method: req.method,
      body: await req.text(),
      type: req.headers.get("content-type"),
    });
    return new Response(status >= 400 ? "boom" : "{}", { status });
  };
  return { serve, calls, ids };
}

Deno.test("warmup(): POST with the JSON payload, count times, at the endpoint", async () => {
  const r = recorder();
  await warmup(apiWith("{payload: {x: 1}, count: 3}"), r.serve, [
    "GET",
    "POST",
  ]);
  assert.deepEqual(r.ids, ["warmup-1", "warmup-2", "warmup-3"]);
  assert.deepEqual(r.calls[0], {
    method: "POST",
    body: '{"x":1}',
    type: "application/json",
  });
});

Deno.test("warmup(): a string payload is sent as text; GET when there is no POST", async () => {
  const text = recorder();
  await warmup(apiWith('{payload: "hi", count: 1}'), text.serve, ["POST"]);
  assert.deepEqual(text.calls, [{
    method: "POST",
    body: "hi",
    type: "text/plain",
  }]);
  const get = recorder();
  await warmup(apiWith('{payload: "hi", count: 2}'), get.serve, ["GET"]);
  assert.deepEqual(get.calls.map((c) => [c.method, c.body]), [
    ["GET", ""],
    ["GET", ""],
  ]);
});

Deno.test("warmup(): a failing call names its number, method, endpoint, status and body", async () => {
  const r = recorder(503);
  await assert.rejects(
    () => warmup(apiWith("{count: 2}"), r.serve, ["POST"]),
    /handler\.warmup call 1 of 2 \(POST \/iris\) failed with status 503: boom/,
  );
  assert.equal(r.calls.length, 1, "no call after the failed one");
});

Deno.test("warmup(): a handler without handlePost or handleGet is refused", async () => {
  await assert.rejects(
    () => warmup(apiWith("{count: 1}"), recorder().serve, ["PUT"]),
    /needs a handlePost or handleGet/,
  );
});
