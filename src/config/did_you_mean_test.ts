import assert from "node:assert/strict";
import { closest, editDistance } from "./did_you_mean.ts";

Deno.test("editDistance() counts insertions, deletions and substitutions", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("max_replica", "max_replicas"), 1);
});

Deno.test("closest() suggests typos within 2 edits and prefixes", () => {
  const keys = ["min_replicas", "max_replicas", "window", "panic_window"];
  assert.equal(closest("max_replica", keys), "max_replicas");
  assert.equal(closest("Max_Replicas", keys), "max_replicas");
  assert.equal(closest("windwo", keys), "window");
  assert.equal(closest("panic", keys), "panic_window");
  assert.equal(closest("xyz", keys), null);
  assert.equal(closest("completely_other", keys), null);
});

Deno.test("closest() prefers the smaller edit distance", () => {
  assert.equal(closest("cpus", ["cpu", "gpus"]), "cpu");
  assert.equal(closest("gpus", ["cpu", "gpu"]), "gpu");
});
