/**
 * The contract "Payload, by Content-Type": what the handler receives for each
 * kind of body, and the 400s for bodies that do not parse. The cases run
 * in-process through `loadHandler` (the replica core); one smoke test sends
 * bodies over a real server's socket.
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";
import { type HandlerHarness, loadHandler } from "../mod.ts";

const PROJECT = fixture("payload");

/** Sends a request: in-process (a harness) or over a socket (a base URL). */
type Send = (path: string, init?: RequestInit) => Promise<Response>;

function over(url: string): Send {
  return (path, init) => fetch(`${url}${path}`, init);
}

function inProcess(h: HandlerHarness): Send {
  return (path, init) => h.request(path, init);
}

async function post(send: Send, body: BodyInit | null, contentType?: string) {
  const headers = new Headers();
  if (contentType !== undefined) headers.set("content-type", contentType);
  const res = await send("/payload", { method: "POST", body, headers });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    body: await res.json(),
  };
}

Deno.test("payload: each Content-Type gives the documented value", async (t) => {
  const h = await loadHandler(PROJECT);
  try {
    const send = inProcess(h);
    await t.step("application/json → parsed value", async () => {
      const r = await post(
        send,
        JSON.stringify({ a: [1, "x"] }),
        "application/json",
      );
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { type: "json", value: { a: [1, "x"] } });
    });

    await t.step("application/vnd.api+json → parsed value", async () => {
      const r = await post(
        send,
        "[true,null]",
        "application/vnd.api+json; charset=utf-8",
      );
      assert.deepEqual(r.body, { type: "json", value: [true, null] });
    });

    await t.step("JSON scalar bodies are parsed too", async () => {
      const r = await post(send, "7", "application/json");
      assert.deepEqual(r.body, { type: "json", value: 7 });
    });

    await t.step(
      "multipart/form-data → FormData with strings and Files",
      async () => {
        const form = new FormData();
        form.append("title", "report");
        form.append(
          "upload",
          new File([new Uint8Array(1234)], "data.bin", {
            type: "application/x-test",
          }),
        );
        const r = await post(send, form);
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, {
          type: "FormData",
          entries: [
            { name: "title", value: "report" },
            {
              name: "upload",
              file: "data.bin",
              size: 1234,
              contentType: "application/x-test",
            },
          ],
        });
      },
    );

    await t.step("application/x-www-form-urlencoded → FormData", async () => {
      const r = await post(send, new URLSearchParams({ a: "1", b: "é & ü" }));
      assert.deepEqual(r.body, {
        type: "FormData",
        entries: [{ name: "a", value: "1" }, { name: "b", value: "é & ü" }],
      });
    });

    await t.step("text/plain without charset is decoded as utf-8", async () => {
      const r = await post(
        send,
        new TextEncoder().encode("naïve ☃"),
        "text/plain",
      );
      assert.deepEqual(r.body, { type: "string", value: "naïve ☃" });
    });

    await t.step(
      "text/plain; charset=iso-8859-1 is decoded with that charset",
      async () => {
        // "café" in Latin-1: é is the single byte 0xE9 (invalid as UTF-8).
        const r = await post(
          send,
          new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
          "text/plain; charset=iso-8859-1",
        );
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, { type: "string", value: "café" });
      },
    );

    await t.step(
      "text/plain with an unknown charset → 400 naming it",
      async () => {
        const r = await post(send, "abc", "text/plain; charset=klingon-8");
        assert.equal(r.status, 400);
        assert.equal(r.type, "application/json");
        assert.match(r.body.error, /klingon-8/);
      },
    );

    await t.step("text/plain with invalid utf-8 bytes → 400", async () => {
      const r = await post(
        send,
        new Uint8Array([0x61, 0xff, 0xfe, 0x62]),
        "text/plain; charset=utf-8",
      );
      assert.equal(r.status, 400);
      assert.match(r.body.error, /utf-8/i);
    });

    await t.step(
      "an unknown content type → Uint8Array of the raw body",
      async () => {
        const r = await post(
          send,
          new Uint8Array([5, 6, 7]),
          "application/x-custom",
        );
        assert.deepEqual(r.body, { type: "Uint8Array", length: 3, first: 5 });
      },
    );

    await t.step("no content type → Uint8Array of the raw body", async () => {
      const r = await post(send, new Uint8Array([200, 1]));
      assert.deepEqual(r.body, { type: "Uint8Array", length: 2, first: 200 });
    });

    await t.step("GET with no body → undefined", async () => {
      const res = await send("/payload");
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { type: "undefined" });
    });

    await t.step("POST with no body → undefined", async () => {
      const r = await post(send, null);
      assert.deepEqual(r.body, { type: "undefined" });
    });

    await t.step(
      "bad JSON → 400 with an error naming the problem",
      async () => {
        const r = await post(send, '{"a": 1,', "application/json");
        assert.equal(r.status, 400);
        assert.equal(r.type, "application/json");
        assert.match(r.body.error, /JSON/);
      },
    );

    await t.step("broken multipart → 400", async () => {
      const body =
        '--XYZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue-without-end';
      const r = await post(send, body, "multipart/form-data; boundary=XYZ");
      assert.equal(r.status, 400);
      assert.match(r.body.error, /multipart/);
    });

    await t.step("multipart without a boundary → 400", async () => {
      const r = await post(send, "whatever", "multipart/form-data");
      assert.equal(r.status, 400);
      assert.match(r.body.error, /multipart/);
    });
  } finally {
    await h.close();
  }
});

Deno.test("payload: bodies over a real socket (smoke)", async () => {
  await withServer(PROJECT, {}, async ({ url }) => {
    const send = over(url);
    const json = await post(send, '{"a":[1,"x"]}', "application/json");
    assert.deepEqual(json.body, { type: "json", value: { a: [1, "x"] } });
    const form = new FormData();
    form.append("title", "report");
    form.append("upload", new File([new Uint8Array(1234)], "data.bin"));
    const multipart = await post(send, form);
    assert.equal(multipart.body.entries[1].size, 1234);
    const bad = await post(send, '{"a": 1,', "application/json");
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /JSON/);
  });
});
