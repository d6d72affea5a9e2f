import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseApiConfigs } from "./parse_api_configs.ts";
import { errorLines, FILES } from "./_testing.ts";

const E = "cortex.yaml";

Deno.test("parseApiConfigs() accepts a single mapping and a list", () => {
  const single = parseApiConfigs(
    "name: iris\nhandler: {path: handler.ts}\n",
    E,
    FILES,
  );
  assert.deepEqual(single.map((a) => a.name), ["iris"]);
  const list = parseApiConfigs(
    "- name: iris\n  handler: {path: handler.ts}\n\n- name: text\n  handler: {path: src/handler.mjs}\n",
    E,
    FILES,
  );
  assert.deepEqual(list.map((a) => [a.name, a.line, a.networking.endpoint]), [
    ["iris", 1, "/iris"],
    ["text", 4, "/text"],
  ]);
});

Deno.test("parseApiConfigs() resolves anchors and aliases", () => {
  const apis = parseApiConfigs(
    "- name: a\n  handler: &h {path: handler.ts, log_level: debug}\n- name: b\n  handler: *h\n",
    E,
    FILES,
  );
  assert.deepEqual(apis.map((a) => a.handler.logLevel), ["debug", "debug"]);
});

Deno.test("parseApiConfigs() reports every issue at once, in line order, prefixed by API", () => {
  const yaml = [
    "- name: iris", // 1
    "  handler:",
    "    type: python",
    "    path: handler.ts",
    "  autoscaling: {max_replicas: 0}", // 5
    "- name: Text",
    "  handler: {path: nope.ts}",
    "  computee: {}",
  ].join("\n");
  assert.deepEqual(errorLines(yaml), [
    `${E}:3: api "iris": handler.type is "python": this runtime serves TypeScript handlers; set handler.type to "typescript" or remove it`,
    `${E}:5: api "iris": autoscaling.max_replicas is 0: must be at least 1`,
    `${E}:6: api #2: name is "Text": must be a lower-case DNS label: a-z, 0-9 and "-", starting with a letter, not ending with "-", at most 42 characters`,
    `${E}:7: api #2: handler.path is "nope.ts": no such file in the project (files excluded by .cortexignore are not part of it)`,
    `${E}:8: api #2: computee is not a known field: did you mean "compute"?`,
  ]);
});

Deno.test("parseApiConfigs() throws ConfigError with structured issues", () => {
  let error: unknown;
  try {
    parseApiConfigs(
      "name: iris\nhandler: {path: x.ts}\n",
      "dir/cortex.yaml",
      FILES,
    );
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError);
  assert.deepEqual(error.issues, [{
    file: "dir/cortex.yaml",
    line: 2,
    field: "handler.path",
    message:
      'handler.path is "x.ts": no such file in the project (files excluded by .cortexignore are not part of it)',
  }]);
});

Deno.test("parseApiConfigs() rejects duplicate names and endpoints", () => {
  const yaml = [
    "- name: iris",
    "  handler: {path: handler.ts}",
    "- name: iris",
    "  handler: {path: handler.ts}",
    "- name: text",
    "  handler: {path: handler.ts}",
    "  networking:",
    "    endpoint: /iris/",
  ].join("\n");
  assert.deepEqual(errorLines(yaml), [
    `${E}:3: api "iris": name is "iris": another API uses that name (line 1)`,
    `${E}:8: api "text": networking.endpoint is "/iris": API "iris" already uses it (line 1)`,
  ]);
});

Deno.test("parseApiConfigs() rejects files that are not lists of mappings", async (t) => {
  const cases: [string, string, string[]][] = [
    ["empty", "", [
      `${E}: the file is empty: expected a list of APIs, or one API as a mapping`,
    ]],
    ["comments only", "# nothing\n", [
      `${E}: the file is empty: expected a list of APIs, or one API as a mapping`,
    ]],
    ["scalar", "iris\n", [
      `${E}:1: the file holds "iris": expected a list of APIs, or one API as a mapping`,
    ]],
    ["empty list", "[]\n", [
      `${E}:1: the list of APIs is empty: expected at least one API`,
    ]],
    ["list of scalars", "- iris\n- name: b\n  handler: {path: handler.ts}\n", [
      `${E}:1: api #1 is "iris": expected a mapping`,
    ]],
  ];
  for (const [name, yaml, want] of cases) {
    await t.step(name, () => assert.deepEqual(errorLines(yaml), want));
  }
});

Deno.test("parseApiConfigs() turns YAML syntax errors into issues with lines", async (t) => {
  await t.step("bad indentation", () => {
    const lines = errorLines(
      "- name: iris\n  handler:\n    path: handler.ts\n   bad: [\n",
    );
    assert.ok(lines.length >= 1);
    assert.match(lines[0] ?? "", /^cortex\.yaml:4: invalid YAML: /);
  });
  await t.step("duplicate keys", () => {
    assert.deepEqual(
      errorLines("name: iris\nhandler: {path: handler.ts}\nname: b\n"),
      [
        `${E}:3: invalid YAML: Map keys must be unique`,
      ],
    );
  });
  await t.step("tab indentation", () => {
    const lines = errorLines("name: iris\nhandler:\n\tpath: handler.ts\n");
    assert.match(lines[0] ?? "", /^cortex\.yaml:3: invalid YAML: /);
  });
});
