/**
 * Requests the main thread hands to a replica (chained calls, requests that
 * arrived on another API's replica, the fallback listener) and the answers
 * it waits for. A replica that dies fails only the requests it held.
 *
 * @module
 */

import { atLimitResponse, errorResponse } from "../http/response.ts";
import {
  BodyTooLarge,
  fromWireResponse,
  toWireRequest,
  type WireRequest,
  type WireResponse,
} from "../wire/replica_messages.ts";
import type { Replica, ReplicaExit } from "./replica.ts";
import { ReceivedStream } from "../wire/stream_forward.ts";
import type { ReplicaPool } from "./replica_pool.ts";

interface Pending {
  replica: Replica;
  pool: ReplicaPool;
  resolve(res: Response): void;
}

/** Streamed answers of replicas (passed on in chunks, not buffered). */
const streamedAnswers = new WeakSet<Response>();

/** True for a replica's answer that arrives in chunks. */
export function isStreamedAnswer(res: Response): boolean {
  return streamedAnswers.has(res);
}

/** Responses made on the main thread, which no replica counted. */
const localAnswers = new WeakSet<Response>();

function localAnswer(
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const res = errorResponse(status, message, extra, headers);
  localAnswers.add(res);
  return res;
}

/** 503 when `pool` has no replica at all (all crashed, or starting). */
function noReplica(pool: ReplicaPool): Response | null {
  if (pool.leastLoaded() !== null) return null;
  // Say so, not "at limit".
  return localAnswer(503, `API "${pool.api.name}" has no ready replica`, {}, {
    "retry-after": "1",
  });
}

/**
 * `wire` with the Content-Length of the body it carries (and none of
 * another framing), whatever the sender declared.
 */
function withBodyLength(wire: WireRequest): WireRequest {
  const headers = wire.headers.filter(([k]) => {
    const name = k.toLowerCase();
    return name !== "content-length" && name !== "transfer-encoding";
  });
  if (wire.body !== null) {
    headers.push(["content-length", String(wire.body.byteLength)]);
  }
  return { ...wire, headers };
}

/** Sends requests into pools and matches the responses. */
export class Forwarding {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #streams = new Map<
    number,
    { replica: Replica; stream: ReceivedStream }
  >();

  /**
   * Admits `req` into `pool` and resolves with the replica's response.
   * Answers decided here (503, 400, a dead replica's 500/504) are counted in
   * the pool's main-thread stats, since no replica saw them.
   */
  async send(pool: ReplicaPool, req: Request): Promise<Response> {
    const started = performance.now();
    const res = await this.#send(pool, req);
    if (localAnswers.has(res)) {
      pool.mainStats.observe(res.status, (performance.now() - started) / 1000);
    }
    return res;
  }

  /**
   * Admits a request that arrived as plain data (a replica's chained call,
   * its body already checked against the API's limit) into `pool`, without
   * reading it again into a Request, and resolves with the answer.
   */
  async sendWire(
    pool: ReplicaPool,
    wire: WireRequest,
    signal: AbortSignal,
  ): Promise<Response> {
    const started = performance.now();
    const res = await this.#sendWire(pool, withBodyLength(wire), signal);
    if (localAnswers.has(res)) {
      pool.mainStats.observe(res.status, (performance.now() - started) / 1000);
    }
    return res;
  }

  async #sendWire(
    pool: ReplicaPool,
    wire: WireRequest,
    signal: AbortSignal,
  ): Promise<Response> {
    const none = noReplica(pool);
    if (none) return none;
    const replica = pool.acquire();
    if (replica === null) {
      const res = atLimitResponse(pool.api.name);
      localAnswers.add(res);
      return res;
    }
    return await this.#dispatch(pool, replica, wire, signal);
  }

  async #send(pool: ReplicaPool, req: Request): Promise<Response> {
    const api = pool.api.name;
    const none = noReplica(pool);
    if (none) return none;
    let wire;
    const max = pool.api.handler.maxBodyBytes;
    try {
      wire = await toWireRequest(req, max);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        return localAnswer(
          413,
          `Request body is larger than the limit of ${max} bytes (handler.max_body_size)`,
        );
      }
      return localAnswer(
        400,
        `Cannot read request body: ${(error as Error).message}`,
      );
    }
    const replica = pool.acquire();
    if (replica === null) {
      const res = atLimitResponse(api);
      localAnswers.add(res);
      return res;
    }
    return await this.#dispatch(pool, replica, wire, req.signal);
  }

  /**
   * Runs a request that replica `from` admitted but has no free slot for on
   * another replica of the API with a free slot, or resolves null when there
   * is none (then `from` queues it itself).
   */
  async handOff(
    pool: ReplicaPool,
    from: Replica,
    wire: WireRequest,
    signal: AbortSignal,
  ): Promise<Response | null> {
    const replica = pool.acquireFree(from);
    if (replica === null) return null;
    return await this.#dispatch(pool, replica, wire, signal);
  }

  /** Sends an admitted request to `replica` and waits for its answer. */
  async #dispatch(
    pool: ReplicaPool,
    replica: Replica,
    wire: WireRequest,
    signal: AbortSignal,
  ): Promise<Response> {
    const id = this.#nextId++;
    const { promise, resolve } = Promise.withResolvers<Response>();
    this.#pending.set(id, { replica, pool, resolve });
    const onAbort = () => replica.send({ type: "http.cancel", id });
    signal.addEventListener("abort", onAbort, { once: true });
    replica.send({ type: "http.request", id, req: wire, admitted: true });
    try {
      return await promise;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * `replica` answered request `id`. An answer to a request that was not
   * sent to that replica is ignored: a replica can only answer its own.
   */
  resolve(
    id: number,
    res: WireResponse,
    replica: Replica,
    streaming = false,
  ): void {
    const p = this.#pending.get(id);
    if (!p || p.replica !== replica) return;
    this.#pending.delete(id);
    if (streaming) return p.resolve(this.#openStream(id, p, res));
    p.pool.release(replica);
    p.resolve(fromWireResponse(res));
  }

  /**
   * A streamed answer: in flight (the replica's slot in the pool held) until
   * its `http.end`; each chunk is asked for (`http.credit`) as the client
   * reads, at most STREAM_AHEAD ahead, so nothing piles up here.
   */
  #openStream(id: number, p: Pending, res: WireResponse): Response {
    const { replica, pool } = p;
    const stream = new ReceivedStream(res, {
      credit: (n) => replica.send({ type: "http.credit", id, n }),
      cancel: () => replica.send({ type: "http.cancel", id }),
    }, () => {
      this.#streams.delete(id);
      pool.release(replica);
    });
    this.#streams.set(id, { replica, stream });
    streamedAnswers.add(stream.response);
    return stream.response;
  }

  /** A chunk of streamed response `id` from `replica`. */
  chunk(id: number, chunk: Uint8Array, replica: Replica): void {
    const open = this.#streams.get(id);
    if (open?.replica === replica) open.stream.chunk(chunk);
  }

  /** Streamed response `id` from `replica` ended (`error`: cut short). */
  end(id: number, replica: Replica, error = false): void {
    const open = this.#streams.get(id);
    if (open?.replica === replica) open.stream.end(error);
  }

  /** Fails what a dead replica held: 504 when it hung, 500 otherwise. */
  replicaExited(replica: Replica, exit: ReplicaExit): void {
    for (const [id, open] of this.#streams) {
      if (open.replica === replica) this.end(id, replica, true);
    }
    for (const [id, p] of this.#pending) {
      if (p.replica !== replica) continue;
      this.#pending.delete(id);
      p.pool.release(replica);
      p.resolve(
        exit.reason === "hung"
          ? localAnswer(504, `Replica "${replica.id}" stopped answering`)
          : localAnswer(
            500,
            `Replica "${replica.id}" ended: ${exit.message}`,
          ),
      );
    }
  }
}
