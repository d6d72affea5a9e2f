/**
 * A gRPC server for goaway_guard_test.ts, run as a child process (node:http2
 * can take a process down): `startGrpcServer` with the in-process test
 * replica, so calls are answered within the turn that reads them, as raw
 * grpc-js answers. Prints its port, then serves until stdin closes.
 *
 * @module
 */

import { withServer } from "../../_testing.ts";

await withServer(async ({ server }) => {
  Deno.stdout.writeSync(new TextEncoder().encode(`${server.port}\n`));
  for await (const _ of Deno.stdin.readable) {
    // Serve until the test closes stdin.
  }
});
