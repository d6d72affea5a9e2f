import * as assert from "node:assert/strict";
import { cpuLine, roleOf } from "./cpu_split.ts";

Deno.test("cpuLine() prints each process's user and system time and their sums", () => {
  const line = cpuLine({
    rate: 1000,
    errors: 0,
    usPerUnit: [
      { role: "serving process", us: 5, userUs: 4, systemUs: 1 },
      { role: "replica", us: 30, userUs: 22.5, systemUs: 7.5 },
    ],
  }, "request");
  assert.equal(
    line,
    "CPU us/request: serving process 5.00 (user 4.0, sys 1.0), " +
      "replica 30.00 (user 22.5, sys 7.5); total 35.00 (user 26.5, sys 8.5)",
  );
});

Deno.test("roleOf() names the runtime's processes by their command lines", () => {
  assert.equal(roleOf("deno run ... src/replica/process_main.ts"), "replica");
  assert.equal(
    roleOf("deno run ... src/server/serve_main.ts"),
    "serving process",
  );
  assert.equal(roleOf("deno run ... cli.ts serve ."), "supervisor");
  assert.equal(roleOf("deno task --quiet serve"), "deno task");
});
