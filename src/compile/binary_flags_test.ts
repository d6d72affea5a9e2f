/**
 * The permission flags a compiled binary carries (binary_flags.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { binaryPermissionFlags } from "./binary_flags.ts";
import { testProject } from "../deploy/testdata/project.ts";

Deno.test("binaryPermissionFlags(): the binary may read the keys_env variable", () => {
  const project = testProject();
  project.apis[0]!.networking = {
    endpoint: "/iris",
    auth: { keysEnv: "IRIS_KEYS", keysFile: "keys.sha256", methods: ["POST"] },
  };
  const flags = binaryPermissionFlags(project, {
    hostname: "0.0.0.0",
    scratchRoot: "/tmp/x",
  });
  const env = flags.find((f) => f.startsWith("--allow-env="))!;
  assert.ok(env.split("=")[1]!.split(",").includes("IRIS_KEYS"));
});
