import assert from "node:assert/strict";
import { ConfigError, formatIssue, IssueList } from "./config_error.ts";

Deno.test("formatIssue() writes file:line: message, without line 0", () => {
  assert.equal(
    formatIssue({
      file: "a/cortex.yaml",
      line: 12,
      field: "x",
      message: "x is 0: must be at least 1",
    }),
    "a/cortex.yaml:12: x is 0: must be at least 1",
  );
  assert.equal(
    formatIssue({
      file: "a/cortex.yaml",
      line: 0,
      field: "",
      message: "no such file",
    }),
    "a/cortex.yaml: no such file",
  );
});

Deno.test("ConfigError sorts issues by line and keeps one per message line", () => {
  const list = new IssueList("c.yaml");
  list.add(5, "b", "b is bad");
  list.add(2, "a", "a is bad");
  list.add(5, "c", "c is bad");
  const error = new ConfigError(list.issues);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ConfigError");
  assert.deepEqual(error.issues.map((i) => i.field), ["a", "b", "c"]);
  assert.equal(
    error.message,
    "c.yaml:2: a is bad\nc.yaml:5: b is bad\nc.yaml:5: c is bad",
  );
});

Deno.test("IssueList.throwIfAny() throws only when there are issues", () => {
  const list = new IssueList("c.yaml");
  list.throwIfAny();
  list.add(1, "", "broken");
  assert.throws(() => list.throwIfAny(), ConfigError);
});
