import assert from "node:assert/strict";
import { join } from "node:path";
import { readPatch, sleep } from "./control_io.ts";
import { UsageError } from "../wire/serve_options.ts";

Deno.test("readPatch() builds nested objects from --set, parsing JSON values", async () => {
  assert.deepEqual(
    await readPatch(undefined, [
      "autoscaling.max_replicas=4",
      "autoscaling.window=10s",
      "handler.config.on=true",
      "compute.mem=null",
    ]),
    {
      autoscaling: { max_replicas: 4, window: "10s" },
      handler: { config: { on: true } },
      compute: { mem: null },
    },
  );
});

Deno.test("readPatch() reads inline JSON and YAML files, then applies --set on top", async () => {
  assert.deepEqual(
    await readPatch('{"autoscaling": {"min_replicas": 2}}', [
      "autoscaling.max_replicas=3",
    ]),
    {
      autoscaling: { min_replicas: 2, max_replicas: 3 },
    },
  );
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "patch.yaml");
    await Deno.writeTextFile(file, "autoscaling:\n  max_replicas: 5\n");
    assert.deepEqual(await readPatch(file, []), {
      autoscaling: { max_replicas: 5 },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readPatch() rejects nothing to patch, bad --set and non-mappings", async () => {
  await assert.rejects(readPatch(undefined, []), UsageError);
  await assert.rejects(
    readPatch(undefined, ["novalue"]),
    /expected path=value/,
  );
  await assert.rejects(readPatch(undefined, ["__proto__.x=1"]), /reserved key/);
  await assert.rejects(readPatch("{", []), /invalid YAML/);
});

Deno.test("sleep() resolves early when aborted", async () => {
  const abort = new AbortController();
  const started = Date.now();
  const done = sleep(10_000, abort.signal);
  abort.abort();
  await done;
  assert.ok(Date.now() - started < 1000);
});
