/**
 * The main thread's handle on one replica worker: starting it with its
 * permissions, the messages it sends, and its end (drained, crashed, killed).
 *
 * @module
 */

import type {
  FromReplica,
  ReplicaInit,
  ToReplica,
} from "../replica/messages.ts";
import type { WorkerPermissions } from "./permissions.ts";

/** Lifecycle of a replica. */
export type ReplicaState = "starting" | "ready" | "draining" | "stopped";

/** Why a replica ended. */
export interface ReplicaExit {
  reason: "drained" | "crashed" | "failed" | "killed" | "hung";
  message: string;
  stack?: string;
}

/** Receives a replica's messages (other than ready/failed/drained). */
export type ReplicaListener = (msg: FromReplica, replica: Replica) => void;

const WORKER_URL = new URL("../replica/worker.ts", import.meta.url);

/** One running replica worker. */
export class Replica {
  readonly id: string;
  readonly slot: number;
  state: ReplicaState = "starting";
  /** The handler's method names, once ready. */
  methods: string[] = [];
  listening = false;
  readonly #worker: Worker;
  readonly #ready = Promise.withResolvers<void>();
  readonly #exited = Promise.withResolvers<ReplicaExit>();

  constructor(
    init: ReplicaInit,
    permissions: WorkerPermissions,
    onMessage: ReplicaListener,
  ) {
    this.id = init.replicaId;
    this.slot = init.slot;
    this.#ready.promise.catch(() => {});
    this.#worker = new Worker(WORKER_URL, {
      type: "module",
      name: `${init.api.name}/${init.replicaId}`,
      // deno-lint-ignore no-explicit-any
      deno: { permissions } as any,
    });
    this.#worker.onmessage = (event: MessageEvent<FromReplica>) => {
      const msg = event.data;
      if (msg.type === "ready") {
        this.state = "ready";
        this.methods = msg.methods;
        this.listening = msg.listening;
        this.#ready.resolve();
      } else if (msg.type === "failed") {
        this.#ready.reject(
          Object.assign(new Error(msg.message), { stack: msg.stack }),
        );
        this.#end({ reason: "failed", message: msg.message, stack: msg.stack });
      } else if (msg.type === "drained") {
        this.#end({ reason: "drained", message: "drained" });
      }
      onMessage(msg, this);
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const message = event.message || "Replica crashed";
      this.#ready.reject(new Error(message));
      // A replica that never became ready failed to start: replacing it would loop.
      this.#end({
        reason: this.state === "starting" ? "failed" : "crashed",
        message,
      });
    };
    this.#worker.onmessageerror = () => {};
    this.#worker.postMessage(init);
  }

  /** Resolves when the handler is constructed and the replica serves. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Resolves once, when the replica has ended for any reason. */
  get exited(): Promise<ReplicaExit> {
    return this.#exited.promise;
  }

  /** Sends a message to the worker. */
  send(msg: ToReplica, transfer: Transferable[] = []): void {
    if (this.state !== "stopped") this.#worker.postMessage(msg, transfer);
  }

  /** Stops taking new requests; ends once in-flight work and callbacks are done. */
  drain(): void {
    if (this.state === "stopped" || this.state === "draining") return;
    this.state = "draining";
    this.send({ type: "drain" });
  }

  /** Terminates the worker at once. */
  kill(reason: ReplicaExit["reason"] = "killed", message = "terminated"): void {
    this.#end({ reason, message });
  }

  #end(exit: ReplicaExit): void {
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.#worker.terminate();
    this.#exited.resolve(exit);
  }
}
