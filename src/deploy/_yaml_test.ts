import assert from "node:assert/strict";
import { fromYaml, fromYamlAll, toYaml } from "./_yaml.ts";

Deno.test("toYaml() quotes strings that would parse as other types", () => {
  assert.equal(
    toYaml({ a: "2", b: "true", c: 2, d: "60s" }),
    'a: "2"\nb: "true"\nc: 2\nd: 60s\n',
  );
});

Deno.test("toYaml() never folds long strings", () => {
  const long = "x ".repeat(100).trim();
  assert.equal(toYaml({ long }).split("\n").length, 2);
});

Deno.test("fromYaml() throws SyntaxError on bad YAML", () => {
  assert.throws(() => fromYaml("a: [1, 2"), SyntaxError);
  assert.throws(() => fromYamlAll("a: 1\n---\nb: [1"), SyntaxError);
});

Deno.test("fromYamlAll() returns one value per document", () => {
  assert.deepEqual(fromYamlAll("a: 1\n---\nb: 2\n"), [{ a: 1 }, { b: 2 }]);
});

Deno.test("toYaml() writes shared objects out instead of aliasing them", () => {
  const labels = { app: "x" };
  assert.equal(
    toYaml({ a: labels, b: labels }),
    "a:\n  app: x\nb:\n  app: x\n",
  );
});
