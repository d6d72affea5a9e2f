/**
 * The messages that carry a handler's `ctx.client` calls between a replica
 * and the serving process's main thread (src/replica/control_client.ts and
 * src/server/control_proxy.ts). They are members of the `FromReplica` and
 * `ToReplica` unions of src/wire/replica_messages.ts; plain data only. No token
 * crosses: the main thread knows which API a replica serves and applies that
 * API's policy.
 *
 * @module
 */

/** Replica → main thread: one control call, or the end of interest in one. */
export type ControlFromReplica =
  | {
    type: "control.request";
    /** Chosen by the replica, unique among its open calls. */
    id: number;
    /** GET, POST, PATCH or DELETE. */
    method: string;
    /** The control API path, e.g. `/apis/iris` or `/apis/iris/logs?tail=5`. */
    path: string;
    /** JSON text, or null. */
    body: string | null;
  }
  | {
    /** The caller gave up (aborted, or stopped reading a log stream). */
    type: "control.cancel";
    id: number;
  };

/** Main thread → replica: the answer to a `control.request`. */
export type ControlToReplica =
  | {
    type: "control.response";
    id: number;
    status: number;
    /** The JSON answer, or null when the body follows as `control.chunk`s. */
    body: string | null;
  }
  | {
    /** A piece of a streamed body (logs); null ends the stream. */
    type: "control.chunk";
    id: number;
    chunk: string | null;
  };
