/** The projects in examples/ serve what their READMEs say. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { example, withServer } from "./_server.ts";

Deno.test("examples/hello: POST JSON gets a greeting, GET the labels", async () => {
  await withServer(example("hello"), {}, async ({ url, waitForLine }) => {
    const res = await fetch(`${url}/hello`, {
      method: "POST",
      body: JSON.stringify({ name: "Ada", label: 1 }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.message, "Hello, Ada!");
    assert.equal(body.label, "versicolor");
    assert.match(body.replica, /^hello-\d+$/);
    const get = await fetch(`${url}/hello`);
    assert.deepEqual(await get.json(), {
      labels: ["setosa", "versicolor", "virginica"],
    });
    const line = await waitForLine((l) => l.message === "Greeting");
    assert.equal(line.name, "Ada");
  });
});

Deno.test("examples/upload: a multipart upload gets name, size and SHA-256", async () => {
  await withServer(example("upload"), {}, async ({ url }) => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    const form = new FormData();
    form.append(
      "file",
      new File([bytes], "weights.bin", { type: "application/octet-stream" }),
    );
    const res = await fetch(`${url}/upload`, { method: "POST", body: form });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      name: "weights.bin",
      size: 300_000,
      type: "application/octet-stream",
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });

    const missing = await fetch(`${url}/upload`, {
      method: "POST",
      body: new FormData(),
    });
    assert.equal(missing.status, 400);
    assert.match((await missing.json()).error, /"file"/);

    const json = await fetch(`${url}/upload`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    assert.equal(json.status, 415);
    await json.body?.cancel();
  });
});

Deno.test("examples/text: text/plain in utf-8 and iso-8859-1 comes back as a string", async () => {
  await withServer(example("text"), {}, async ({ url }) => {
    const post = (body: Uint8Array<ArrayBuffer>, type: string) =>
      fetch(`${url}/text`, {
        method: "POST",
        body,
        headers: { "content-type": type },
      });

    const utf8 = await post(
      new TextEncoder().encode("crème brûlée"),
      "text/plain",
    );
    assert.equal(utf8.status, 200);
    assert.equal(utf8.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await utf8.text(), "echo: CRÈME BRÛLÉE (12 characters)");

    const latin1 = await post(
      new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
      "text/plain; charset=iso-8859-1",
    );
    assert.equal(await latin1.text(), "echo: CAFÉ (4 characters)");

    const unknown = await post(
      new Uint8Array([0x61]),
      "text/plain; charset=x-nope",
    );
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json()).error, /x-nope/);
  });
});

Deno.test("examples/stream: SSE tokens, and a WebSocket chat room", async () => {
  await withServer(example("stream"), {}, async ({ url, port }) => {
    const res = await fetch(`${url}/stream?prompt=rivers`, {
      headers: { accept: "text/event-stream" },
    });
    assert.equal(
      res.headers.get("content-type"),
      "text/event-stream; charset=utf-8",
    );
    const text = await res.text();
    assert.match(text, /^event: token\nid: 0\ndata: You\n\n/);
    assert.match(text, /data: rivers\.\n\n/);
    assert.match(text, /event: done\ndata: \n\n$/);

    const join = async (name: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/stream?name=${name}`);
      const seen: string[] = [];
      ws.onmessage = (e) => seen.push(String(e.data));
      await new Promise((r) => (ws.onopen = r));
      return { ws, seen };
    };
    const until = async (seen: string[], line: string) => {
      const deadline = Date.now() + 5_000;
      while (!seen.includes(line)) {
        if (Date.now() > deadline) throw new Error(`no "${line}" in ${seen}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const ann = await join("ann");
    const bob = await join("bob");
    await until(ann.seen, "bob joined");
    ann.ws.send("hi");
    await until(bob.seen, "ann: hi");
    bob.ws.close();
    await until(ann.seen, "bob left");
    ann.ws.close();
  });
});
