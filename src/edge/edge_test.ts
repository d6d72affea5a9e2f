import assert from "node:assert/strict";
import { DEFAULT_CORS, originAllowed, preflightResponse } from "./cors.ts";
import { Edge, type EdgeInit, type Take, verbsOf } from "./edge.ts";
import {
  hashKey,
  loadKeys,
  matchKey,
  parseKeysEnv,
  parseKeysFile,
  presentedKey,
} from "./keys.ts";
import { RateLimiter } from "./rate_limit.ts";
import { childTraceparent, parseTraceparent } from "./trace.ts";
import type { CorsConfig } from "../config/resolved_config.ts";

const hex = (b: Uint8Array) =>
  [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

const preflight = (origin: string, headers: Record<string, string> = {}) =>
  new Request("http://x/iris", {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      ...headers,
    },
  });

function edge(init: Partial<EdgeInit>, take: Take = () => 0): Edge {
  return new Edge(
    "iris",
    {
      cors: DEFAULT_CORS,
      keys: null,
      authMethods: null,
      rate: null,
      ...init,
    },
    take,
    matchKey,
  );
}

Deno.test("CORS: a browser preflight gets 204 with the API's methods and a max-age (it got 405)", () => {
  const res = edge({}).check(
    preflight("https://app.example.com", {
      "access-control-request-headers": "content-type, x-api-key",
    }),
    "1.2.3.4",
    () => ["POST", "GET", "HEAD"],
  ) as Response;
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.equal(
    res.headers.get("access-control-allow-methods"),
    "POST, GET, HEAD",
  );
  assert.equal(res.headers.get("access-control-max-age"), "600");
  assert.equal(
    res.headers.get("access-control-allow-headers"),
    "content-type, x-api-key",
  );
  assert.equal(res.headers.get("access-control-allow-credentials"), null);
});

Deno.test("CORS: never * with credentials; patterns; refused origins get 403 and no headers", () => {
  const cors: CorsConfig = {
    allowOrigins: ["https://app.example.com", "https://*.example.org"],
    allowHeaders: ["content-type"],
    exposeHeaders: ["x-request-id"],
    allowCredentials: true,
    maxAge: 60,
  };
  const ok = preflightResponse(cors, preflight("https://a.b.example.org"), [
    "POST",
  ]);
  assert.equal(ok.status, 204);
  assert.equal(
    ok.headers.get("access-control-allow-origin"),
    "https://a.b.example.org",
  );
  assert.equal(ok.headers.get("access-control-allow-credentials"), "true");
  assert.match(ok.headers.get("vary")!, /Origin/);
  const bad = preflightResponse(cors, preflight("https://evil.com"), ["POST"]);
  assert.equal(bad.status, 403);
  assert.equal(bad.headers.get("access-control-allow-origin"), null);
  assert.ok(!originAllowed(cors.allowOrigins, "https://example.org"));
  assert.ok(!originAllowed(cors.allowOrigins, "http://a.example.org"));
  assert.ok(!originAllowed(cors.allowOrigins, "https://a.example.org.evil"));
  assert.ok(!originAllowed(cors.allowOrigins, "https://evil.com/.example.org"));

  const e = edge({ cors });
  const req = new Request("http://x/iris", {
    headers: { origin: "https://app.example.com" },
  });
  const res = e.finish(req, new Response("{}"));
  assert.equal(
    res.headers.get("access-control-allow-origin"),
    "https://app.example.com",
  );
  assert.equal(
    res.headers.get("access-control-expose-headers"),
    "x-request-id",
  );
  const other = e.finish(
    new Request("http://x/iris", { headers: { origin: "https://evil.com" } }),
    new Response("{}"),
  );
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  // Immutable headers (a fetched Response) are copied.
  const frozen = e.finish(req, Response.redirect("http://x/", 302));
  assert.equal(frozen.headers.get("access-control-allow-credentials"), "true");
});

Deno.test("CORS off: a preflight reaches the handler, responses are untouched", () => {
  const e = edge({ cors: null });
  assert.equal(e.check(preflight("https://a.com"), "", () => []), null);
  const req = new Request("http://x/", {
    headers: { origin: "https://a.com" },
  });
  const res = e.finish(req, new Response(""));
  assert.equal(res.headers.get("access-control-allow-origin"), null);
});

Deno.test("keys: Bearer or x-api-key, 401 with WWW-Authenticate when missing or wrong", async () => {
  const keys = parseKeysEnv(" s3cret-one ,s3cret-two,", "IRIS_KEYS");
  assert.deepEqual(keys.map((k) => k.label), ["IRIS_KEYS#1", "IRIS_KEYS#2"]);
  const e = edge({ keys });
  const call = (headers: Record<string, string>, method = "POST") =>
    e.check(new Request("http://x/iris", { method, headers }), "", () => []);
  const missing = call({}) as Response;
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="iris"');
  const wrong = call({ "x-api-key": "s3cret-three" }) as Response;
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate")!, /invalid_token/);
  const body = await wrong.text();
  assert.ok(!body.includes("s3cret"), "the key is never echoed");
  assert.equal(call({ authorization: "Bearer s3cret-two" }), null);
  assert.equal(call({ authorization: "bearer  s3cret-one" }), null);
  assert.equal(call({ "x-api-key": "s3cret-one" }), null);
  assert.equal(
    (call({ authorization: "Basic s3cret-one" }) as Response).status,
    401,
  );
  // Preflights never need a key.
  assert.equal(
    (e.check(preflight("https://a.com"), "", () => []) as Response).status,
    204,
  );
});

Deno.test("keys: scoped to methods; HEAD counts as GET", () => {
  const e = edge({ keys: parseKeysEnv("k", "K"), authMethods: ["POST"] });
  const call = (method: string) =>
    e.check(new Request("http://x/iris", { method }), "", () => []);
  assert.equal(call("GET"), null);
  assert.equal(call("HEAD"), null);
  assert.equal((call("POST") as Response).status, 401);
});

Deno.test("keys: hashed file, every hash compared, labels; a bad line never shows its text", () => {
  const a = hex(hashKey("alpha"));
  const b = hex(hashKey("beta"));
  const keys = parseKeysFile(
    `# keys\n${a} team-a\n\nsha256:${b.toUpperCase()}\n`,
    "keys.txt",
  );
  assert.equal(matchKey(keys, "alpha"), "team-a");
  assert.equal(matchKey(keys, "beta"), "keys.txt:4");
  assert.equal(matchKey(keys, "gamma"), null);
  assert.throws(
    () => parseKeysFile("alpha-plain-key\n", "keys.txt"),
    (e: Error) =>
      /keys.txt:1: expected a SHA-256/.test(e.message) &&
      !e.message.includes("alpha-plain-key"),
  );
  assert.throws(
    () =>
      loadKeys(
        { keysEnv: "NOPE", keysFile: null, methods: null },
        "/nonexistent",
        "iris",
        () => undefined,
      ),
    /API "iris" requires keys \(networking.auth\) but the environment variable NOPE holds none/,
  );
  assert.equal(presentedKey(() => null), null);
});

Deno.test("rate limit: a token bucket holds the configured rate within 10%, bursts first", () => {
  const limiter = new RateLimiter({ rps: 50, burst: 10 });
  let admitted = 0;
  // 10 seconds of 500 req/s, on a simulated clock.
  for (let t = 0; t < 10_000; t += 2) {
    if (limiter.take("api", t) === 0) admitted++;
  }
  const rate = (admitted - 10) / 10;
  assert.ok(Math.abs(rate - 50) <= 5, `admitted ${rate}/s`);
  // Retry-After: seconds until the next token.
  const l2 = new RateLimiter({ rps: 0.5, burst: 1 });
  assert.equal(l2.take("api", 0), 0);
  assert.equal(l2.take("api", 0), 2);
});

Deno.test("rate limit: 429 with Retry-After; per key and per client get their own buckets", async () => {
  const buckets: string[] = [];
  const limiter = new RateLimiter({ rps: 1, burst: 1 });
  const take = (b: string) => {
    buckets.push(b);
    return limiter.take(b, 0);
  };
  const keys = parseKeysEnv("k1,k2", "K");
  const byKey = edge({ keys, rate: { rps: 1, burst: 1, per: "key" } }, take);
  const req = (key: string) =>
    new Request("http://x/iris", {
      method: "POST",
      headers: { "x-api-key": key },
    });
  assert.equal(byKey.check(req("k1"), "", () => []), null);
  assert.equal(byKey.check(req("k2"), "", () => []), null);
  const limited = byKey.check(req("k1"), "", () => []) as Response;
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), "1");
  assert.match(
    await limited.text(),
    /rate limit of 1 requests per second per key/,
  );
  assert.deepEqual(buckets, ["key:K#1", "key:K#2", "key:K#1"]);
  // An async take (a replica asks the serving process).
  const byClient = edge(
    { rate: { rps: 1, burst: 1, per: "client" } },
    (b) => Promise.resolve(b === "client:10.0.0.1" ? 3 : 0),
  );
  const r = new Request("http://x/iris");
  assert.equal(await byClient.check(r, "10.0.0.2", () => []), null);
  assert.equal(
    (await byClient.check(r, "10.0.0.1", () => []))?.headers.get("retry-after"),
    "3",
  );
  // A missing key is refused before it costs a token.
  buckets.length = 0;
  assert.equal(
    (byKey.check(req("nope"), "", () => []) as Response).status,
    401,
  );
  assert.deepEqual(buckets, []);
});

Deno.test("rate limit: buckets are bounded", () => {
  const limiter = new RateLimiter({ rps: 1, burst: 5 });
  for (let i = 0; i < 25_000; i++) limiter.take(`client:${i}`, i / 1000);
  assert.ok(limiter.size <= 10_000);
});

Deno.test("verbsOf() maps handler method names to verbs, HEAD with GET", () => {
  assert.deepEqual(verbsOf(["handlePost", "handle_get", "constructor"]), [
    "POST",
    "GET",
    "HEAD",
  ]);
});

Deno.test("traceparent: parsed per W3C, invalid ones ignored; a child keeps the trace id", () => {
  const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const t = parseTraceparent(tp)!;
  assert.equal(t.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  for (
    const bad of [
      "",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      `${tp}-extra`,
    ]
  ) assert.equal(parseTraceparent(bad), null, bad);
  const child = parseTraceparent(childTraceparent(t))!;
  assert.equal(child.traceId, t.traceId);
  assert.notEqual(child.spanId, t.spanId);
  assert.equal(child.flags, "01");
});

Deno.test("Edge.needed(): without keys or a limit, only browsers' requests and OPTIONS", () => {
  const plain = edge({});
  assert.equal(plain.needed(new Request("http://x/")), false);
  assert.equal(
    plain.needed(
      new Request("http://x/", { headers: { origin: "https://a.com" } }),
    ),
    true,
  );
  assert.equal(
    plain.needed(new Request("http://x/", { method: "OPTIONS" })),
    true,
  );
  assert.equal(
    edge({ cors: null }).needed(
      new Request("http://x/", { method: "OPTIONS" }),
    ),
    false,
  );
  assert.equal(edge({ keys: [] }).needed(new Request("http://x/")), true);
});
