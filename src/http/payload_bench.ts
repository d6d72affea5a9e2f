/**
 * Cost budget (issue 17), payload parse: a JSON request body to the
 * handler's payload (`deno task bench:stages`). Each iteration needs a fresh
 * Request, so the stage's cost is "new Request + parsePayload" minus
 * "new Request". The Request is built in memory: Deno.serve's requests read
 * their body from the connection instead, which this does not measure.
 *
 * @module
 */

import { parsePayload } from "./payload.ts";

const BODY = JSON.stringify({
  name: "bench",
  label: 1,
  features: [5.1, 3.5, 1.4, 0.2, 4.9, 3.0, 1.4, 0.2],
  options: { topK: 3, explain: false, model: "iris-v1" },
});
const URL_ = "http://127.0.0.1:8080/echo";
const request = () =>
  new Request(URL_, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "content-length": String(BODY.length),
    },
    body: BODY,
  });

Deno.bench({
  name: "payload: new Request (JSON body), no parse",
  group: "payload parse",
  baseline: true,
}, () => {
  request();
});

Deno.bench({
  name: "payload: new Request + parsePayload (JSON)",
  group: "payload parse",
}, async () => {
  await parsePayload(request());
});

Deno.bench({
  name: "payload: new Request + req.json() (raw Deno)",
  group: "payload parse",
}, async () => {
  await request().json();
});
