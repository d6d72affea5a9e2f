/**
 * The contract "Payload, by Content-Type": what the handler receives for each
 * kind of body, and the 400s for bodies that do not parse.
 */

import assert from "node:assert/strict";
import { fixture, withServer } from "./_server.ts";

const PROJECT = fixture("payload");

async function post(url: string, body: BodyInit | null, contentType?: string) {
  const headers = new Headers();
  if (contentType !== undefined) headers.set("content-type", contentType);
  const res = await fetch(`${url}/payload`, { method: "POST", body, headers });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    body: await res.json(),
  };
}

Deno.test("payload: each Content-Type gives the documented value", async (t) => {
  await withServer(PROJECT, {}, async ({ url }) => {
    await t.step("application/json → parsed value", async () => {
      const r = await post(
        url,
        JSON.stringify({ a: [1, "x"] }),
        "application/json",
      );
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { type: "json", value: { a: [1, "x"] } });
    });

    await t.step("application/vnd.api+json → parsed value", async () => {
      const r = await post(
        url,
        "[true,null]",
        "application/vnd.api+json; charset=utf-8",
      );
      assert.deepEqual(r.body, { type: "json", value: [true, null] });
    });

    await t.step("JSON scalar bodies are parsed too", async () => {
      const r = await post(url, "7", "application/json");
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
        const r = await post(url, form);
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
      const r = await post(url, new URLSearchParams({ a: "1", b: "é & ü" }));
      assert.deepEqual(r.body, {
        type: "FormData",
        entries: [{ name: "a", value: "1" }, { name: "b", value: "é & ü" }],
      });
    });

    await t.step("text/plain without charset is decoded as utf-8", async () => {
      const r = await post(
        url,
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
          url,
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
        const r = await post(url, "abc", "text/plain; charset=klingon-8");
        assert.equal(r.status, 400);
        assert.equal(r.type, "application/json");
        assert.match(r.body.error, /klingon-8/);
      },
    );

    await t.step("text/plain with invalid utf-8 bytes → 400", async () => {
      const r = await post(
        url,
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
          url,
          new Uint8Array([5, 6, 7]),
          "application/x-custom",
        );
        assert.deepEqual(r.body, { type: "Uint8Array", length: 3, first: 5 });
      },
    );

    await t.step("no content type → Uint8Array of the raw body", async () => {
      const r = await post(url, new Uint8Array([200, 1]));
      assert.deepEqual(r.body, { type: "Uint8Array", length: 2, first: 200 });
    });

    await t.step("GET with no body → undefined", async () => {
      const res = await fetch(`${url}/payload`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { type: "undefined" });
    });

    await t.step("POST with no body → undefined", async () => {
      const r = await post(url, null);
      assert.deepEqual(r.body, { type: "undefined" });
    });

    await t.step(
      "bad JSON → 400 with an error naming the problem",
      async () => {
        const r = await post(url, '{"a": 1,', "application/json");
        assert.equal(r.status, 400);
        assert.equal(r.type, "application/json");
        assert.match(r.body.error, /JSON/);
      },
    );

    await t.step("broken multipart → 400", async () => {
      const body =
        '--XYZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue-without-end';
      const r = await post(url, body, "multipart/form-data; boundary=XYZ");
      assert.equal(r.status, 400);
      assert.match(r.body.error, /multipart/);
    });

    await t.step("multipart without a boundary → 400", async () => {
      const r = await post(url, "whatever", "multipart/form-data");
      assert.equal(r.status, 400);
      assert.match(r.body.error, /multipart/);
    });
  });
});
