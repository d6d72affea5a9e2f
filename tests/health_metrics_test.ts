/** GET /healthz and GET /metrics on a running server. */

import assert from "node:assert/strict";
import { example, withServer } from "./_server.ts";

Deno.test("/healthz: 200 with every API ready", async () => {
  await withServer(example("hello"), {}, async ({ url }) => {
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "ok");
    assert.ok(body.apis.hello.replicas >= 1);
  });
});

Deno.test("/metrics: cortex_requests_total counts the API's requests", async () => {
  await withServer(example("hello"), {}, async ({ url }) => {
    for (let i = 0; i < 3; i++) {
      await (await fetch(`${url}/hello`)).body?.cancel();
    }
    await (await fetch(`${url}/hello`, { method: "DELETE" })).body?.cancel();
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await res.text();
    const samples = text.split("\n").filter((l) =>
      l.startsWith("cortex_requests_total{")
    );
    const count = (status: string) =>
      samples
        .filter((l) =>
          l.includes('api="hello"') && l.includes(`status="${status}"`)
        )
        .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
    assert.equal(count("200"), 3, samples.join("\n"));
    assert.equal(count("405"), 1, samples.join("\n"));
    assert.match(text, /# TYPE cortex_requests_total counter/);
  });
});
