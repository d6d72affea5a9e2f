import assert from "node:assert/strict";
import { accessSampler, pathOf } from "./http_pipeline.ts";

Deno.test("accessSampler(): all, none, or a sample plus every 5xx", () => {
  const all = accessSampler(1);
  assert.ok([200, 404, 500].every(all));
  const none = accessSampler(0);
  assert.ok(![200, 404, 500, 503].some(none), "false means none, 5xx too");
  const draws = [0.05, 0.5, 0.09, 0.99];
  const tenth = accessSampler(0.1, () => draws.shift()!);
  assert.deepEqual([200, 200, 404, 200].map(tenth), [true, false, true, false]);
  assert.equal(draws.length, 0);
  assert.ok(
    [500, 502, 504].every(tenth),
    "5xx always, without drawing",
  );
});

Deno.test("pathOf() takes the path of a URL, without query or fragment", () => {
  const cases: [string, string][] = [
    ["http://h:1/echo", "/echo"],
    ["http://h/a/b?x=1", "/a/b"],
    ["http://h/a#frag?no", "/a"],
    ["http://h/?q", "/"],
    ["http://h", "/"],
    ["http://h/p%3F?x", "/p%3F"],
  ];
  for (const [url, path] of cases) assert.equal(pathOf(url), path, url);
});
