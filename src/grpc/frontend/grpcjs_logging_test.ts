import assert from "node:assert/strict";
import { experimental, logVerbosity } from "@grpc/grpc-js";
import { routeGrpcLogs } from "./grpcjs_logging.ts";
import { MemoryLogger } from "../_testing.ts";

Deno.test("routeGrpcLogs() sends grpc-js log lines to the runtime logger", () => {
  const logger = new MemoryLogger();
  routeGrpcLogs(logger, "info");
  try {
    experimental.log(logVerbosity.ERROR, "boom");
    experimental.log(logVerbosity.INFO, "note");
    experimental.log(logVerbosity.DEBUG, "hidden");
    assert.deepEqual(logger.lines, [
      { level: "error", msg: "boom" },
      { level: "info", msg: "note" },
    ]);
  } finally {
    routeGrpcLogs(new MemoryLogger(), "error");
  }
});
