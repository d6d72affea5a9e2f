import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseYaml, toPlain } from "./yaml_tree.ts";

Deno.test("parseYaml() records the line of every key and value", () => {
  const root = parseYaml("# c\na: 1\nb:\n  - x\n  - {y: true}\n", "f.yaml");
  assert.ok(root?.kind === "map");
  assert.deepEqual(root.entries.map((e) => [e.key, e.line, e.value.line]), [
    ["a", 2, 2],
    ["b", 3, 4],
  ]);
  const list = root.entries[1]?.value;
  assert.ok(list?.kind === "seq");
  assert.deepEqual(list.items.map((i) => i.line), [4, 5]);
});

Deno.test("parseYaml() reads core schema scalars and stringifies keys", () => {
  const root = parseYaml("1: one\ntrue: yes\nn: null\nf: 1.5\ns: '1'\n", "f");
  assert.ok(root !== null);
  assert.deepEqual(toPlain(root), {
    "1": "one",
    "true": "yes",
    n: null,
    f: 1.5,
    s: "1",
  });
});

Deno.test("parseYaml() returns null for an empty document", () => {
  assert.equal(parseYaml("", "f"), null);
  assert.equal(parseYaml("# only a comment\n", "f"), null);
});

Deno.test("parseYaml() throws ConfigError naming the file and line", () => {
  try {
    parseYaml("a: 1\nb: [\n", "dir/x.yaml");
    assert.fail("expected an error");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.issues[0]?.file, "dir/x.yaml");
    assert.ok((error.issues[0]?.line ?? 0) >= 2);
    assert.match(error.message, /^dir\/x\.yaml:\d+: invalid YAML: /);
  }
});

Deno.test("parseYaml() rejects self-referencing aliases", () => {
  assert.throws(() => parseYaml("a: &x [*x]\n", "f"), ConfigError);
});

Deno.test("toPlain() keeps a __proto__ key as data", () => {
  const root = parseYaml("__proto__: {polluted: true}\n", "f");
  assert.ok(root !== null);
  const plain = toPlain(root) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(plain), Object.prototype);
  assert.deepEqual(Object.keys(plain), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
