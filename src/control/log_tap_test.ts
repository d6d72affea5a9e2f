import assert from "node:assert/strict";
import { lineMatchesApi, LogFanout } from "./log_tap.ts";

Deno.test("LogFanout.publish() splits chunks into lines, joining partial ones", () => {
  const tap = new LogFanout();
  const got: string[] = [];
  const stop = tap.subscribe((l) => got.push(l));
  tap.publish('{"a":1}\n{"b"');
  tap.publish(':2}\n\n{"c":3}\n');
  stop();
  tap.publish('{"d":4}\n');
  assert.deepEqual(got, ['{"a":1}', '{"b":2}', '{"c":3}']);
  assert.equal(tap.subscribers, 0);
});

Deno.test("LogFanout.recent() keeps the last lines", () => {
  const tap = new LogFanout({ history: 2 });
  tap.publish("1\n");
  assert.deepEqual(tap.recent(), ["1"]);
  tap.publish("2\n3\n");
  assert.deepEqual(tap.recent(), ["2", "3"]);
  tap.publish("4\n5\n6\n");
  assert.deepEqual(tap.recent(), ["5", "6"]);
  const none = new LogFanout({ history: 0 });
  none.publish("x\n");
  assert.deepEqual(none.recent(), []);
});

Deno.test("LogFanout survives a throwing subscriber", () => {
  const tap = new LogFanout();
  const got: string[] = [];
  tap.subscribe(() => {
    throw new Error("boom");
  });
  tap.subscribe((l) => got.push(l));
  tap.publish("x\n");
  assert.deepEqual(got, ["x"]);
});

Deno.test("lineMatchesApi() matches labels.apiName or the server's api field", () => {
  assert.equal(
    lineMatchesApi('{"message":"m","labels":{"apiName":"iris"}}', "iris"),
    true,
  );
  assert.equal(
    lineMatchesApi('{"message":"scaling","api":"iris","labels":{}}', "iris"),
    true,
  );
  assert.equal(
    lineMatchesApi('{"message":"m","labels":{"apiName":"iris2"}}', "iris"),
    false,
  );
  assert.equal(
    lineMatchesApi('{"message":"iris","labels":{"apiName":"other"}}', "iris"),
    false,
  );
  assert.equal(lineMatchesApi('not json "iris"', "iris"), false);
});
