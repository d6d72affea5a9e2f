import assert from "node:assert/strict";
import {
  generateToken,
  isAuthorized,
  resolveToken,
  tokensEqual,
} from "./token.ts";

Deno.test("generateToken() returns distinct 43-character base64url tokens", () => {
  const a = generateToken();
  const b = generateToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
});

Deno.test("tokensEqual() compares content and length", async (t) => {
  const cases: [string, string, boolean][] = [
    ["abc", "abc", true],
    ["abc", "abd", false],
    ["abc", "abcd", false],
    ["", "", true],
    ["", "a", false],
    ["é", "e", false],
  ];
  for (const [a, b, want] of cases) {
    await t.step(
      `"${a}" vs "${b}"`,
      () => assert.equal(tokensEqual(a, b), want),
    );
  }
});

Deno.test("isAuthorized() needs Authorization: Bearer with the exact token", () => {
  const req = (h?: string) =>
    new Request("http://x/", { headers: h ? { authorization: h } : {} });
  assert.equal(isAuthorized(req("Bearer secret-token"), "secret-token"), true);
  assert.equal(isAuthorized(req("bearer secret-token"), "secret-token"), true);
  assert.equal(isAuthorized(req("Bearer wrong"), "secret-token"), false);
  assert.equal(isAuthorized(req("Basic secret-token"), "secret-token"), false);
  assert.equal(isAuthorized(req(), "secret-token"), false);
  assert.equal(isAuthorized(req(), ""), false);
});

Deno.test("resolveToken() takes CORTEX_CONTROL_TOKEN, else generates one", () => {
  const long = "x".repeat(20);
  assert.equal(
    resolveToken((n) => n === "CORTEX_CONTROL_TOKEN" ? long : undefined),
    long,
  );
  assert.match(resolveToken(() => undefined), /^[A-Za-z0-9_-]{43}$/);
  assert.throws(() => resolveToken(() => "short"), /at least 16/);
});
