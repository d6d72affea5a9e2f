import assert from "node:assert/strict";
import { BackendFallbackNotes } from "./backend_fallback.ts";

Deno.test("BackendFallbackNotes: tfjs's backend failure line says it falls back and why", () => {
  const notes = new BackendFallbackNotes();
  assert.equal(notes.rewrite("loading"), "loading");
  const denial =
    'Aborted(RuntimeError: Aborted(NotCapable: Permission denied: read access to "/x/a.wasm": hint (see x)). Build with -sASSERTIONS for more info.)';
  assert.equal(notes.rewrite(denial), denial);
  const line = notes.rewrite("Initialization of backend wasm failed");
  assert.match(line, /^Initialization of backend wasm failed: tfjs falls back/);
  assert.match(line, /"cpu"/);
  assert.match(line, /tf\.setBackend\("wasm"\)/);
  assert.match(
    line,
    /Why: Permission denied: read access to "\/x\/a\.wasm": hint \(see x\)$/,
  );
  // The reason is used once; a later failure without one says no reason.
  const again = notes.rewrite("Initialization of backend wasm failed");
  assert.doesNotMatch(again, /Why:/);
});
