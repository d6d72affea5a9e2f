import assert from "node:assert/strict";
import type { ApiDescription } from "../control/client.ts";
import {
  paintStatus,
  renderApiDetail,
  renderApiTable,
} from "./control_table.ts";

function api(over: Partial<ApiDescription>): ApiDescription {
  return {
    name: "iris",
    kind: "RealtimeAPI",
    status: "live",
    error: null,
    replicas: { ready: 1, desired: 2, cap: 8 },
    inFlight: 12,
    queued: 0,
    restarts: 0,
    endpoint: "http://localhost:8888/iris",
    spec: {
      autoscaling: {
        min_replicas: 1,
        max_replicas: 8,
        max_replica_concurrency: 1024,
      },
    },
    ...over,
  };
}

Deno.test("renderApiTable() aligns columns without colour", () => {
  const text = renderApiTable([
    api({}),
    api({
      name: "a-longer-name",
      status: "updating",
      inFlight: 0,
      spec: {
        handler: {
          control: {
            read_env: [],
            logs: ["*"],
            patch: ["iris", "a-longer-name"],
          },
        },
      },
    }),
  ], { color: false });
  assert.equal(
    text,
    [
      "NAME            KIND          STATUS     REPLICAS   IN-FLIGHT   ENDPOINT                     CONTROL",
      "iris            RealtimeAPI   live       1/2        12          http://localhost:8888/iris   read",
      "a-longer-name   RealtimeAPI   updating   1/2        0           http://localhost:8888/iris   read; logs: *; patch: iris,a-longer-name",
    ].join("\n"),
  );
  assert.equal(renderApiTable([], { color: false }), "No APIs are deployed");
});

Deno.test("paintStatus() colours live green, updating yellow, error red, only when asked", () => {
  assert.equal(paintStatus("live", true), "\x1b[32mlive\x1b[0m");
  assert.equal(paintStatus("updating", true), "\x1b[33mupdating\x1b[0m");
  assert.equal(paintStatus("error", true), "\x1b[31merror\x1b[0m");
  assert.equal(paintStatus("error", false), "error");
});

Deno.test("renderApiTable() keeps alignment when colouring", () => {
  const plain = renderApiTable([api({}), api({ name: "b", status: "error" })], {
    color: false,
  });
  const colored = renderApiTable(
    [api({}), api({ name: "b", status: "error" })],
    { color: true },
  );
  assert.equal(
    colored.replace(new RegExp(`${"\x1b"}\\[\\d+m`, "g"), ""),
    plain,
  );
});

Deno.test("renderApiDetail() adds queue, restarts, cap, error and a curl example", () => {
  const text = renderApiDetail(api({ error: "boom", queued: 3 }), {
    color: false,
  });
  assert.match(text, /queued: {13}3/);
  assert.match(text, /replica cap: {8}8 \(local\)/);
  assert.match(text, /ctx\.client may: {5}read \(handler\.control\)/);
  assert.match(text, /autoscaling: {8}min 1, max 8, max concurrency 1024/);
  assert.match(text, /error: {14}boom/);
  assert.match(text, /curl http:\/\/localhost:8888\/iris -X POST/);
  assert.doesNotMatch(
    renderApiDetail(api({ endpoint: "grpc://localhost:9000" }), {
      color: false,
    }),
    /curl/,
  );
});
