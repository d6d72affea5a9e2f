import assert from "node:assert/strict";
import {
  explainPermissionError,
  explainPermissionText,
} from "./permission_hints.ts";

const WASM =
  "/root/.cache/deno/npm/registry.npmjs.org/onnxruntime-web/1.30.0/dist/ort-wasm-simd-threaded.wasm";

Deno.test("explainPermissionText(): a denial nested in a library's message gets the runtime's hint, not --allow-read", () => {
  const nested =
    `no available backend found. ERR: [wasm] RuntimeError: Aborted(NotCapable: Requires read access to "${WASM}", run again with the --allow-read flag). Build with -sASSERTIONS for more info.`;
  const out = explainPermissionText(nested);
  assert.doesNotMatch(out, /--allow-read/);
  assert.match(
    out,
    /Permission denied: read access to ".*ort-wasm-simd-threaded\.wasm": it belongs to the npm package onnxruntime-web@1\.30\.0, which is not in the handler's module graph/,
  );
  assert.match(out, /import "npm:onnxruntime-web@1\.30\.0"/);
  assert.match(out, /deno\.json "imports"/);
  assert.match(out, /^no available backend found\. ERR: \[wasm\]/);
  assert.match(out, /\)\. Build with -sASSERTIONS for more info\.$/);
});

Deno.test("explainPermissionText(): scoped packages, other kinds, and text without a denial", () => {
  assert.match(
    explainPermissionText(
      'Requires read access to "/d/npm/registry.npmjs.org/@tensorflow/tfjs-backend-wasm/4.22.0/dist/tfjs-backend-wasm.wasm", run again with the --allow-read flag',
    ),
    /npm package @tensorflow\/tfjs-backend-wasm@4\.22\.0/,
  );
  const ffi = explainPermissionText(
    'Requires ffi access to "/x/onnxruntime_binding.node", run again with the --allow-ffi flag',
  );
  assert.match(
    ffi,
    /^Permission denied: ffi access to "\/x\/onnxruntime_binding\.node": handlers may not load native libraries .*no ffi access.*onnxruntime-web\)$/,
  );
  assert.equal(
    explainPermissionText(
      'Requires read access to "/srv/app/.env", run again with the --allow-read flag',
    ),
    'Permission denied: read access to "/srv/app/.env": handlers may read only their project\'s files (not dotfiles, cortex.yaml or files matched by .cortexignore) and ctx.scratchDir',
  );
  assert.equal(explainPermissionText("nothing to see"), "nothing to see");
});

Deno.test("explainPermissionError(): an npm cache path names the package", () => {
  const error = new Deno.errors.NotCapable(
    `Requires read access to "${WASM}", run again with the --allow-read flag`,
  );
  explainPermissionError(error);
  assert.match(error.message, /npm package onnxruntime-web@1\.30\.0/);
});
