/**
 * Cost budget (issue 17), encode: a handler's return value (a plain object)
 * to the Response, x-request-id included (`deno task bench:stages`).
 *
 * @module
 */

import { encodeResult } from "./response.ts";

const RESULT = {
  name: "bench",
  label: 1,
  features: [5.1, 3.5, 1.4, 0.2, 4.9, 3.0, 1.4, 0.2],
  options: { topK: 3, explain: false, model: "iris-v1" },
};
const ID = "0b3c5d6e-8f90-4a1b-9c2d-3e4f5a6b7c8d";

Deno.bench({
  name: "encode: Response.json(object) (raw Deno)",
  group: "encode",
  baseline: true,
}, () => {
  Response.json(RESULT);
});

Deno.bench({
  name: "encode: encodeResult(object) with x-request-id",
  group: "encode",
}, () => {
  encodeResult(RESULT, ID);
});

const BODY = JSON.stringify(RESULT);

Deno.bench({
  name: "x-request-id: new Response(body, content-type), without it",
  group: "x-request-id",
  baseline: true,
}, () => {
  new Response(BODY, { headers: { "content-type": "application/json" } });
});

Deno.bench({
  name: "x-request-id: the same + headers.set(x-request-id)",
  group: "x-request-id",
}, () => {
  new Response(BODY, { headers: { "content-type": "application/json" } })
    .headers.set("x-request-id", ID);
});

Deno.bench({
  name: "x-request-id: new Response(body) with both headers in the init",
  group: "x-request-id",
}, () => {
  new Response(BODY, {
    headers: { "content-type": "application/json", "x-request-id": ID },
  });
});

Deno.bench({
  name: "x-request-id: new Response(body) with both headers as pairs",
  group: "x-request-id",
}, () => {
  new Response(BODY, {
    headers: [["content-type", "application/json"], ["x-request-id", ID]],
  });
});
