/**
 * What the serving process does when the pool's watchdog gives up on a
 * replica whose thread is stuck in a synchronous loop. The replica is
 * replaced in-process, but Deno 2.9 cannot stop that thread
 * (`worker.terminate()` does not interrupt it, denoland/deno#35657): it keeps
 * a core busy and its reusePort listener keeps taking a share of new
 * connections, which stall. Only the exit of the process ends it, so under
 * the supervisor this process asks to be replaced (once); elsewhere (compiled
 * binaries) it warns that only a restart reclaims the thread.
 *
 * @module
 */

import type { Server } from "./server.ts";
import { requestReplacement } from "../supervisor/replace_request.ts";

/**
 * Builds the `onStuckReplica` handler of a server.
 *
 * @param server The server (looked up late: the handler is built before it).
 * @param requestPath The supervisor's replace-request file, when supervised.
 */
export function stuckReplicaHandler(
  server: () => Server,
  requestPath: string | undefined,
): (api: string, replicaId: string) => void {
  let asked = false;
  return (api, replicaId) => {
    const s = server();
    const extra = { api, replicaId };
    if (requestPath === undefined) {
      s.logger.warning(
        `The thread of replica "${replicaId}" of API "${api}" is stuck and cannot be stopped (Deno bug denoland/deno#35657): it keeps a CPU core busy and its listener open until this process is restarted`,
        { extra },
      );
      return;
    }
    if (asked || s.draining) return;
    asked = true;
    s.logger.warning(
      `The thread of replica "${replicaId}" of API "${api}" is stuck and cannot be stopped (Deno bug denoland/deno#35657): asking the supervisor to replace this serving process`,
      { extra },
    );
    requestReplacement(
      requestPath,
      `the thread of replica "${replicaId}" of API "${api}" is stuck`,
    ).catch((error) => {
      asked = false;
      s.logger.exception("Cannot ask the supervisor for a replacement", error);
    });
  };
}
