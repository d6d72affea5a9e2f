/**
 * A replica process's command line: `process_main.ts <address> <nonce>`
 * (src/replica/process_main.ts), or `<binary> --cortex-replica <address>
 * <nonce>` when a compiled binary starts itself as a replica
 * (src/compile/binary_main.ts). The serving process writes it
 * (src/server/replica.ts, replica_command.ts). Everything else the replica
 * needs arrives over the socket, in its `init` message.
 *
 * @module
 */

import { type ArgvCodec, UsageError } from "./argv.ts";

/** Where a replica connects and how it introduces itself. */
export interface ReplicaProcessArgs {
  /** The serving process's replica socket: `unix:<path>` or `host:port`. */
  address: string;
  /** The one-time nonce the replica's hello must carry. */
  nonce: string;
}

/** The first argument by which a compiled binary runs as a replica. */
export const BINARY_REPLICA_ROLE = "--cortex-replica";

const WHAT = "replica process";

/** A replica process's command line, both ways. */
export const replicaProcessArgv: ArgvCodec<ReplicaProcessArgs> = {
  toArgv: (a) => [a.address, a.nonce],
  parseArgv: (argv) => {
    const [address, nonce, extra] = argv;
    if (!address || !nonce) {
      throw new UsageError(
        `${WHAT}: expected <address> <nonce>, got ${argv.length} arguments`,
      );
    }
    if (extra !== undefined || address.startsWith("-")) {
      throw new UsageError(
        `${WHAT}: unexpected argument "${
          address.startsWith("-") ? address : extra
        }"`,
      );
    }
    return { address, nonce };
  },
};
