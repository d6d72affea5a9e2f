import assert from "node:assert/strict";
import { checkMessageInit } from "./init_check.ts";
import { loadRegistry } from "./registry.ts";
import { testDescriptors } from "../_testing.ts";

const registry = loadRegistry(await testDescriptors());
const Res = registry.getMessage("test.v1.Res")!;

Deno.test("checkMessageInit() accepts valid initialisers", async (t) => {
  const cases: [string, unknown][] = [
    ["empty", {}],
    ["scalars", { text: "a", count: 1n, data: new Uint8Array(2) }],
    ["int64 as number and string", { count: 5 }],
    ["int64 as decimal string", { count: "-12" }],
    ["nested message", { stamp: { at: { seconds: 1n, nanos: 2 } } }],
    ["unboxed wrapper", { note: "n" }],
    ["repeated", { numbers: [1, 2, 3] }],
    ["oneof", { choice: { case: "word", value: "w" } }],
    ["unset oneof", { choice: { case: undefined } }],
    ["nulls are unset", { text: null, stamp: undefined }],
    ["with $typeName", { $typeName: "test.v1.Res", text: "x" }],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => checkMessageInit(Res, value));
  }
});

Deno.test("checkMessageInit() names the field that does not fit", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["not an object", "x", /the message is "x": expected a test\.v1\.Res/],
    ["string field", { text: 5 }, /field "text" is 5: expected a string/],
    ["int64", { count: 1.5 }, /field "count" is 1\.5: expected int64/],
    ["bytes", { data: "abc" }, /field "data" is "abc": expected a Uint8Array/],
    [
      "nested",
      { stamp: { at: { nanos: "1" } } },
      /field "stamp\.at\.nanos" is "1": expected an int32/,
    ],
    ["list", { numbers: [1, "2"] }, /field "numbers\[1\]" is "2"/],
    ["unknown", { txt: "x" }, /unknown field "txt" for message test\.v1\.Res/],
    [
      "oneof case",
      { choice: { case: "nope", value: 1 } },
      /field "choice\.case" is "nope": expected one of "word", "digit"/,
    ],
    [
      "oneof value",
      { choice: { case: "digit", value: "7" } },
      /field "choice\.digit" is "7"/,
    ],
    ["wrong type", { $typeName: "test.v1.Req" }, /not test\.v1\.Req/],
  ];
  for (const [name, value, re] of cases) {
    await t.step(
      name,
      () => assert.throws(() => checkMessageInit(Res, value), re),
    );
  }
});
