/**
 * The main thread's side of `ctx.client`: takes `control.request` messages
 * from replicas, runs them against the control API in-process (no token, no
 * HTTP hop) with the replica's API as the caller, so its policy applies
 * (src/control/policy.ts), and answers with `control.response` (and
 * `control.chunk`s for a log stream).
 *
 * Which API a call comes from is what the server knows about the replica
 * that sent it, never what the message says. A malformed message is
 * answered with 400 when it has a usable id and otherwise dropped; nothing
 * a replica sends makes this throw.
 *
 * @module
 */

import { noControlGrants } from "../config/no_control_grants.ts";
import type { ControlGrants } from "../config/resolved_config.ts";
import { MAX_BODY_BYTES } from "../control/_http.ts";
import type { ControlTarget } from "../control/control_target.ts";
import {
  type ControlRouter,
  createControlRouter,
} from "../control/control_routes.ts";
import type {
  ControlFromReplica,
  ControlToReplica,
} from "../control/proxy_messages.ts";

/** Most calls one replica may have open at once (log streams included). */
export const MAX_OPEN_CALLS = 32;

/** Longest control path accepted. */
const MAX_PATH_LENGTH = 2048;

const METHODS = new Set(["GET", "POST", "PATCH", "DELETE"]);

/** Where a control message came from. */
export interface ControlSender {
  /** The API the replica serves, as the server knows it. */
  api: string;
  /** Sends a message back to that replica. */
  send(msg: ControlToReplica): void;
}

/** Options of {@linkcode ControlProxy}. */
export interface ControlProxyOptions {
  /** Answers calls; default: `createControlRouter(target)`. */
  router?: ControlRouter;
  /** Most open calls per replica (default {@linkcode MAX_OPEN_CALLS}). */
  maxOpen?: number;
}

/** Carries replicas' control calls to the control API. */
export class ControlProxy {
  readonly #target: ControlTarget;
  readonly #router: ControlRouter;
  readonly #maxOpen: number;
  /** Open calls by replica (any object identifying it), by id. */
  readonly #open = new Map<object, Map<number, AbortController>>();

  /**
   * @param target The server's control target: the router runs on it and
   *   the caller's grants are read from it at every call.
   * @param opts Options.
   */
  constructor(target: ControlTarget, opts: ControlProxyOptions = {}) {
    this.#target = target;
    this.#router = opts.router ?? createControlRouter(target);
    this.#maxOpen = opts.maxOpen ?? MAX_OPEN_CALLS;
  }

  /** The grants the API `name` runs with now (none once it is gone). */
  #grantsOf(name: string): ControlGrants {
    return this.#target.get(name)?.config.handler.control ?? noControlGrants();
  }

  /**
   * Handles a `control.*` message from a replica. Never throws.
   *
   * @param msg The message (its shape is checked here).
   * @param replica Identifies the replica (its open calls are kept under it).
   * @param from The API it serves and how to answer it.
   */
  onMessage(msg: unknown, replica: object, from: ControlSender): void {
    try {
      this.#onMessage(msg, replica, from);
    } catch {
      // A send to a replica that just ended; nothing to answer.
    }
  }

  #onMessage(msg: unknown, replica: object, from: ControlSender): void {
    const m = msg as Partial<Record<string, unknown>>;
    if (typeof m !== "object" || m === null) return;
    const id = m.id;
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) return;
    const open = this.#open.get(replica);
    if (m.type === "control.cancel") {
      open?.get(id)?.abort();
      open?.delete(id);
      return;
    }
    if (m.type !== "control.request") return;
    const answer = (status: number, error: string) =>
      from.send({
        type: "control.response",
        id,
        status,
        body: JSON.stringify({ error }),
      });
    const problem = requestProblem(m);
    if (problem !== null) return answer(400, problem);
    if (open?.has(id)) return answer(400, `Control call ${id} is already open`);
    if ((open?.size ?? 0) >= this.#maxOpen) {
      return answer(
        429,
        `Too many control calls open at once (at most ${this.#maxOpen} per replica)`,
      );
    }
    const abort = new AbortController();
    const calls = open ?? new Map<number, AbortController>();
    calls.set(id, abort);
    this.#open.set(replica, calls);
    const req = m as Extract<ControlFromReplica, { type: "control.request" }>;
    void this.#run(req, abort, from).finally(() => {
      calls.delete(id);
      if (calls.size === 0 && this.#open.get(replica) === calls) {
        this.#open.delete(replica);
      }
    });
  }

  async #run(
    msg: Extract<ControlFromReplica, { type: "control.request" }>,
    abort: AbortController,
    from: ControlSender,
  ): Promise<void> {
    const { id } = msg;
    try {
      const req = new Request(new URL(msg.path, "http://cortex.runtime"), {
        method: msg.method,
        headers: msg.body === null
          ? {}
          : { "content-type": "application/json" },
        body: msg.body,
        signal: abort.signal,
      });
      const res = await this.#router(req, {
        api: from.api,
        grants: this.#grantsOf(from.api),
      });
      const streamed = res.headers.get("content-type")?.startsWith(
        "text/event-stream",
      );
      if (!streamed || res.body === null) {
        const body = await res.text();
        if (!abort.signal.aborted) {
          from.send({ type: "control.response", id, status: res.status, body });
        }
        return;
      }
      from.send({
        type: "control.response",
        id,
        status: res.status,
        body: null,
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      abort.signal.addEventListener("abort", () => {
        reader.cancel().catch(() => {});
      }, { once: true });
      while (!abort.signal.aborted) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value) from.send({ type: "control.chunk", id, chunk: value });
      }
      if (!abort.signal.aborted) {
        from.send({ type: "control.chunk", id, chunk: null });
      }
    } catch (error) {
      if (abort.signal.aborted) return;
      try {
        from.send({
          type: "control.response",
          id,
          status: 500,
          body: JSON.stringify({
            error: `Control operation failed: ${(error as Error)?.message}`,
          }),
        });
      } catch {
        // The replica is gone.
      }
    }
  }

  /** Ends every call a replica still has open (it has exited). */
  forget(replica: object): void {
    const calls = this.#open.get(replica);
    this.#open.delete(replica);
    for (const abort of calls?.values() ?? []) abort.abort();
  }

  /** Open calls of all replicas (for tests). */
  get openCalls(): number {
    let n = 0;
    for (const calls of this.#open.values()) n += calls.size;
    return n;
  }
}

/** Why a `control.request` is malformed, or null. */
function requestProblem(m: Partial<Record<string, unknown>>): string | null {
  if (typeof m.method !== "string" || !METHODS.has(m.method)) {
    return "Control call method must be GET, POST, PATCH or DELETE";
  }
  if (
    typeof m.path !== "string" || !m.path.startsWith("/apis") ||
    m.path.length > MAX_PATH_LENGTH
  ) {
    return 'Control call path must start with "/apis"';
  }
  if (m.body !== null && typeof m.body !== "string") {
    return "Control call body must be JSON text or null";
  }
  if (typeof m.body === "string" && m.body.length > MAX_BODY_BYTES) {
    return `Control call body is over ${MAX_BODY_BYTES} bytes`;
  }
  if (m.body !== null && (m.method === "GET" || m.method === "DELETE")) {
    return `Control call ${m.method} takes no body`;
  }
  return null;
}
