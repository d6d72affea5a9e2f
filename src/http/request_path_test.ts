import assert from "node:assert/strict";
import {
  normalizedRequest,
  normalizePath,
  requestPath,
  routeFor,
} from "./request_path.ts";

Deno.test("normalizePath() resolves dot segments, empty segments and backslashes", () => {
  const table: [string, string][] = [
    ["/", "/"],
    ["/hello", "/hello"],
    ["/hello/", "/hello/"],
    ["/hello/x/y", "/hello/x/y"],
    ["/bad/../good", "/good"],
    ["/good/../bad", "/bad"],
    ["/good/../bad/x", "/bad/x"],
    ["//x", "/x"],
    ["//good", "/good"],
    ["/hello//x", "/hello/x"],
    ["/hello//", "/hello/"],
    ["///", "/"],
    ["/a/./b", "/a/b"],
    ["/a/.", "/a/"],
    ["/a/b/..", "/a/"],
    ["/..", "/"],
    ["/../../etc", "/etc"],
    ["/%2e%2e/x", "/x"],
    ["/bad/%2E%2E/good", "/good"],
    ["/bad/.%2e/good", "/good"],
    ["/bad/%2e./good", "/good"],
    ["/a/%2e/b", "/a/b"],
    ["/bad\\..\\good", "/good"],
    ["/a//../b", "/b"],
    // Other escapes are kept: %2f is not a separator.
    ["/a/..%2f..%2fb", "/a/..%2f..%2fb"],
    ["/%2fx", "/%2fx"],
    ["/a%20b", "/a%20b"],
    ["/...", "/..."],
    ["/a/.b", "/a/.b"],
    // Escaped as the URL parser does.
    ["/ä", "/%C3%A4"],
    ["/a b", "/a%20b"],
    ["/a{b}", "/a%7Bb%7D"],
  ];
  for (const [raw, want] of table) {
    assert.equal(normalizePath(raw), want, raw);
    assert.equal(normalizePath(want), want, `${want} is stable`);
  }
});

Deno.test("normalizePath() agrees with URL parsing on dot segments (no empty segments)", () => {
  for (
    const raw of [
      "/bad/../good",
      "/a/./b",
      "/%2e%2e/x",
      "/a/b/..",
      "/a/.%2E/b",
      "/bad\\..\\good",
      "/ä/x",
    ]
  ) {
    assert.equal(
      normalizePath(raw),
      new URL(raw, "http://h").pathname,
      raw,
    );
  }
});

Deno.test("requestPath() takes the path of req.url, also in absolute form", () => {
  assert.equal(requestPath("http://h/bad/../good?x=/../y#f"), "/good");
  assert.equal(requestPath("http://h//x"), "/x");
  assert.equal(requestPath("http://evil/abs/../path"), "/path");
  assert.equal(requestPath("http://h"), "/");
  assert.equal(requestPath("http://h?x=/a"), "/");
  assert.equal(requestPath("http://h/a#/../b"), "/a");
});

Deno.test("normalizedRequest() keeps a normal request and rebuilds the rest", async () => {
  const plain = new Request("http://h/hello?x=1");
  assert.equal(normalizedRequest(plain), plain);
  const abort = new AbortController();
  const odd = new Request("http://h/x/../hello//a?q=/../#", {
    method: "POST",
    headers: { "x-test": "1" },
    body: "payload",
    signal: abort.signal,
  });
  // new Request() parses its URL: build a raw one as Deno.serve gives it.
  Object.defineProperty(odd, "url", { value: "http://h/x/../hello//a?q=/../" });
  const fixed = normalizedRequest(odd);
  assert.equal(fixed.url, "http://h/hello/a?q=/../");
  assert.equal(fixed.method, "POST");
  assert.equal(fixed.headers.get("x-test"), "1");
  assert.equal(await fixed.text(), "payload");
  abort.abort();
  assert.equal(fixed.signal.aborted, true);
});

Deno.test("routeFor() matches the endpoint or a path below it", () => {
  const routes = [
    { endpoint: "/good", api: "good" },
    { endpoint: "/bad", api: "bad" },
  ];
  assert.equal(routeFor(routes, "/good")?.api, "good");
  assert.equal(routeFor(routes, "/good/x")?.api, "good");
  assert.equal(routeFor(routes, "/goodness"), null);
  assert.equal(routeFor(routes, "/bad/"), routes[1]);
  assert.equal(routeFor([{ endpoint: "/", api: "root" }], "/x")?.api, "root");
});
