import assert from "node:assert/strict";
import { readSse, sseResponse } from "./sse.ts";

Deno.test("sseResponse() streams history then live lines until aborted; readSse() reads them", async () => {
  const abort = new AbortController();
  let push: (line: string) => void = () => {};
  let unsubscribed = false;
  const res = sseResponse({
    initial: ["one"],
    subscribe: (fn) => {
      push = fn;
      return () => unsubscribed = true;
    },
    signal: abort.signal,
  });
  assert.equal(
    res.headers.get("content-type"),
    "text/event-stream; charset=utf-8",
  );
  const lines = readSse(res.body!);
  assert.deepEqual(await lines.next(), { done: false, value: "one" });
  push('{"message":"two"}');
  assert.deepEqual(await lines.next(), {
    done: false,
    value: '{"message":"two"}',
  });
  abort.abort();
  assert.deepEqual(await lines.next(), { done: true, value: undefined });
  assert.equal(unsubscribed, true);
});
