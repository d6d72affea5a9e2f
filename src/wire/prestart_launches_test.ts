import assert from "node:assert/strict";
import {
  encodePrestartLaunches,
  parsePrestartLaunches,
  type PrestartLaunch,
} from "./prestart_launches.ts";

const LAUNCH: PrestartLaunch = {
  api: "hello",
  replicaId: "hello-1",
  command: "/usr/bin/deno",
  args: ["run", "--allow-read=/p", "/r/process_main.ts"],
  cwd: "/p",
};

Deno.test("prestart launches: read back as written", () => {
  assert.deepEqual(
    parsePrestartLaunches(encodePrestartLaunches([LAUNCH])),
    [LAUNCH],
  );
});

Deno.test("prestart launches: anything else is named", () => {
  assert.throws(() => parsePrestartLaunches("{}"), /a JSON array/);
  assert.throws(
    () => parsePrestartLaunches(JSON.stringify([{ ...LAUNCH, args: [1] }])),
    /launch 0: expected/,
  );
  assert.throws(
    () => parsePrestartLaunches(JSON.stringify([LAUNCH, { api: "x" }])),
    /launch 1: expected/,
  );
  assert.throws(() => parsePrestartLaunches("["), SyntaxError);
});
