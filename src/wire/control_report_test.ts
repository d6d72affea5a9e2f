import assert from "node:assert/strict";
import { join } from "node:path";
import { readControlReport, writeControlReport } from "./control_report.ts";

Deno.test("readControlReport() reads what writeControlReport() wrote, and takes only TCP port numbers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cortex_report_" });
  try {
    const path = join(dir, "control.json");
    assert.equal(await readControlReport(path), null, "not written yet");
    const good = { port: 40001, httpPort: 8080, grpcPort: 0 };
    await writeControlReport(path, good);
    assert.deepEqual(await readControlReport(path), good);
    // The supervisor grants the gRPC process `<host>:<grpcPort>` and binds
    // it there: nothing but a port number may reach that flag.
    for (
      const bad of [
        { ...good, grpcPort: 50051.5 },
        { ...good, grpcPort: -1 },
        { ...good, grpcPort: 65536 },
        { ...good, grpcPort: "50051,0.0.0.0" },
        { ...good, port: 1e300 },
        { ...good, httpPort: null },
      ]
    ) {
      await Deno.writeTextFile(path, JSON.stringify(bad));
      assert.equal(await readControlReport(path), null, JSON.stringify(bad));
    }
    await Deno.writeTextFile(path, '{"port": 1, "httpPo');
    assert.equal(await readControlReport(path), null, "half written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
