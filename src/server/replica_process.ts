/**
 * Starting a replica's OS process: its command line (src/server/
 * replica_command.ts), a blank environment but for what Deno and the
 * allocator read, and a one-time nonce on the replica socket. Apart from
 * replica.ts so the serving process can start its first replicas before it
 * loads the rest of itself (src/server/replica_prestart.ts).
 *
 * @module
 */

import { replicaTraceEnv } from "../trace/config.ts";
import { replicaProcessArgv } from "../wire/replica_process_args.ts";
import type { ReplicaConn, ReplicaSocket } from "./replica_socket.ts";

/** How to start the process: the command and its arguments before the socket. */
export interface ReplicaCommand {
  command: string;
  args: string[];
  /** The process's working directory (the project directory). */
  cwd?: string;
}

/**
 * glibc's allocator of a replica process. By default it raises its mmap
 * threshold after the first large block is freed, so later large blocks
 * (a WASM engine reads its 14 MB `.wasm` into a buffer, V8 copies it) come
 * from the heap and stay resident after they are freed. A fixed 8 MiB
 * threshold gives those back (about 25 MB less per replica with
 * onnxruntime-web, README "Model inference") while request bodies of a few
 * MiB still come from the heap: at 1 MiB every 1 MiB upload was mapped and
 * unmapped again, which halved upload throughput (measured).
 */
export const REPLICA_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: "8388608" };

/** A started replica process, not yet told what to run. */
export interface ReplicaProcess {
  /** What it was started with. */
  readonly launch: ReplicaCommand;
  readonly child: Deno.ChildProcess;
  /** Resolves when it has connected and presented its nonce. */
  readonly conn: Promise<ReplicaConn>;
  /** Forgets its nonce (it ended; it will never connect). */
  cancel(): void;
}

/** Starts `launch` with a fresh nonce of `socket`. */
export function spawnReplicaProcess(
  launch: ReplicaCommand,
  socket: ReplicaSocket,
): ReplicaProcess {
  const { nonce, conn } = socket.expect();
  const child = new Deno.Command(launch.command, {
    args: [
      ...launch.args,
      ...replicaProcessArgv.toArgv({ address: socket.address, nonce }),
    ],
    cwd: launch.cwd,
    // The serving process's environment holds the control token: blank it
    // (a replica has no env permission, but nothing secret should be in
    // its process at all).
    // Likewise the collector's address and credentials, and Deno's
    // built-in OpenTelemetry, which exports regardless of permissions.
    env: {
      NO_COLOR: "1",
      CORTEX_CONTROL_TOKEN: "",
      ...replicaTraceEnv(),
      ...REPLICA_MALLOC_ENV,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { launch, child, conn, cancel: () => socket.cancel(nonce) };
}

/** Whether two commands start the same process (same flags and grants). */
export function sameCommand(a: ReplicaCommand, b: ReplicaCommand): boolean {
  return a.command === b.command && a.cwd === b.cwd &&
    a.args.length === b.args.length && a.args.every((x, i) => x === b.args[i]);
}

/** Ends a process that will not be used: killed, its nonce and pipes dropped. */
export function abandonReplicaProcess(proc: ReplicaProcess): void {
  proc.cancel();
  try {
    proc.child.kill("SIGKILL");
  } catch { /* already gone */ }
  void proc.child.stdout.cancel().catch(() => {});
  void proc.child.stderr.cancel().catch(() => {});
  void proc.child.status.catch(() => {});
}
