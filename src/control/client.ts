/**
 * The Cortex client: talks to a running server's control API. The `cortex`
 * control commands reach it over loopback with the token; handlers get one
 * as `ctx.client` whose calls the runtime carries to the control API itself
 * (no token, no network) under the calling API's policy
 * (src/control/policy.ts).
 *
 * @module
 */

import type { ApiStatus } from "./control_target.ts";
import { readSse } from "./sse.ts";

export type { ApiStatus };

/** Where the control API is and the token it requires. */
export interface ControlEndpoint {
  /** E.g. `http://127.0.0.1:41234`. */
  url: string;
  token: string;
}

/** One API as `get` and `list` describe it. */
export interface ApiDescription {
  /** The API's name in cortex.yaml. */
  name: string;
  /** `RealtimeAPI`. */
  kind: string;
  /** Ready (`live`), starting or rolling out (`updating`), or failing (`error`). */
  status: "live" | "updating" | "error";
  /** Why the API is in error, or why its last roll-out failed; else null. */
  error: string | null;
  /** Replica counts. */
  replicas: {
    /** Replicas serving now. */
    ready: number;
    /** Replicas the autoscaler (or a patch) asks for. */
    desired: number;
    /** Local cap: min(autoscaling.max_replicas, --max-replicas-per-api). */
    cap: number;
  };
  /** Admitted requests: running, queued and pending callbacks. */
  inFlight: number;
  /** Admitted requests waiting for a handler slot. */
  queued: number;
  /** Replicas replaced after a crash, hang or memory overrun. */
  restarts: number;
  /** `http://host:port/path` or `grpc://host:port`. */
  endpoint: string;
  /** The configuration in cortex.yaml form. */
  spec: Record<string, unknown>;
}

/** What `deploy` did with one API. */
export interface DeployResult {
  /** The API's name. */
  name: string;
  /** What deploy did with it. */
  action: "created" | "updated" | "unchanged";
}

/** What to deploy: a project directory, or API specs as YAML text. */
export type DeploySpec =
  | { projectDir: string }
  | { yaml: string; file?: string };

/** Raised when the control API refuses or fails a call. */
export class ControlError extends Error {
  /** The HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  /** Configuration problems, one `file:line: message` each (status 400). */
  readonly issues: string[];

  /**
   * Creates the error of a refused or failed control call.
   *
   * @param status The HTTP status (0: not reachable).
   * @param message What went wrong.
   * @param issues Configuration problems, when any.
   */
  constructor(status: number, message: string, issues: string[] = []) {
    super(message);
    this.name = "ControlError";
    this.status = status;
    this.issues = issues;
  }
}

/** Options of {@linkcode CortexClient}. */
export interface ClientOptions {
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /**
   * The API key {@linkcode CortexClient.call} sends (`x-api-key`) to APIs
   * with `networking.auth`, unless a call names its own.
   */
  apiKey?: string;
}

/** A request {@linkcode CortexClient.call} sends to an API. */
export interface CallInit {
  /** Below the API's endpoint, e.g. `/v2` (default: the endpoint itself). */
  path?: string;
  /** Default POST with a body, else GET. */
  method?: string;
  /** Sent as JSON (`content-type: application/json`). */
  json?: unknown;
  /** Sent as is (set `content-type` in `headers`); not with `json`. */
  body?: BodyInit;
  /** Request headers. */
  headers?: HeadersInit;
  /** This call's API key (default: the client's `apiKey`). */
  apiKey?: string;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** One control call, as a {@linkcode ControlTransport} carries it. */
export interface ControlCall {
  method: string;
  /** E.g. `/apis/iris` or `/apis/iris/logs?tail=5`. */
  path: string;
  /** JSON text, or null. */
  body: string | null;
  signal?: AbortSignal;
}

/**
 * Carries a control call to the control API and resolves with its response
 * (status and JSON body, or an event stream for logs); rejects when the
 * control API cannot be reached.
 */
export type ControlTransport = (call: ControlCall) => Promise<Response>;

/** A control API reached through a transport instead of a URL and token. */
export interface TransportEndpoint {
  transport: ControlTransport;
  /** What `url` shows (default `cortex:runtime`). */
  url?: string;
}

/**
 * A client for the control API.
 *
 * @example Scale an API from a handler
 * ```ts ignore
 * await ctx.client.patch("iris", { autoscaling: { min_replicas: 2 } });
 * const iris = await ctx.client.get("iris");
 * ```
 */
export class CortexClient {
  readonly #url: string;
  readonly #transport: ControlTransport;
  readonly #fetch: typeof fetch;
  readonly #apiKey: string | undefined;
  /** Calls go through the runtime (ctx.client): to `http://api-<name>:8888`. */
  readonly #inRuntime: boolean;

  /**
   * Creates a client of a running server's control API.
   *
   * @param endpoint The control API's URL and token, or a transport.
   * @param opts Options.
   */
  constructor(
    endpoint: ControlEndpoint | TransportEndpoint,
    opts: ClientOptions = {},
  ) {
    const fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#fetch = fetchFn;
    this.#apiKey = opts.apiKey;
    this.#inRuntime = "transport" in endpoint;
    if ("transport" in endpoint) {
      this.#url = endpoint.url ?? "cortex:runtime";
      this.#transport = endpoint.transport;
      return;
    }
    const { url, token } = endpoint;
    this.#url = url;
    this.#transport = (call) =>
      fetchFn(new URL(call.path, url), {
        method: call.method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(call.body === null ? {} : { "content-type": "application/json" }),
        },
        ...(call.body === null ? {} : { body: call.body }),
        ...(call.signal ? { signal: call.signal } : {}),
      });
  }

  /** The control API's URL. */
  get url(): string {
    return this.#url;
  }

  async #send(
    method: string,
    path: string,
    init: { body?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    let res: Response;
    try {
      res = await this.#transport({
        method,
        path,
        body: init.body ?? null,
        signal: init.signal,
      });
    } catch (error) {
      throw new ControlError(
        0,
        `Cannot reach the control API at ${this.#url}: ${
          (error as Error).message
        }`,
      );
    }
    if (res.ok) return res;
    const text = await res.text();
    let data: { error?: unknown; issues?: unknown } = {};
    try {
      data = JSON.parse(text);
    } catch {
      // Not ours: the status says enough.
    }
    const issues = Array.isArray(data.issues) ? data.issues.map(String) : [];
    throw new ControlError(
      res.status,
      typeof data.error === "string"
        ? data.error
        : `Control API answered ${res.status}`,
      issues,
    );
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#send(
      method,
      path,
      body === undefined ? {} : { body: JSON.stringify(body) },
    );
    return await res.json() as T;
  }

  /** Lists the APIs of the server. */
  async list(): Promise<ApiDescription[]> {
    return (await this.#json<{ apis: ApiDescription[] }>("GET", "/apis")).apis;
  }

  /**
   * Gets one API: spec, status, replicas, in-flight, endpoint.
   *
   * @throws {ControlError} Status 404 when there is no such API.
   */
  get(name: string): Promise<ApiDescription> {
    return this.#json("GET", apiPath(name));
  }

  /**
   * Deploys a project directory (absolute path, on the server's machine) or
   * API specs as YAML text. New APIs start; updated ones roll out without
   * dropping in-flight requests.
   *
   * @throws {ControlError} Status 400 with `issues` for a bad spec.
   */
  async deploy(spec: DeploySpec): Promise<DeployResult[]> {
    return (await this.#json<{ apis: DeployResult[] }>("POST", "/apis", spec))
      .apis;
  }

  /**
   * Changes an API in place with a partial cortex.yaml-style object, e.g.
   * `{ autoscaling: { max_replicas: 4 } }` (`null` removes a field).
   *
   * @returns The API after the change was accepted.
   */
  patch(
    name: string,
    changes: Record<string, unknown>,
  ): Promise<ApiDescription> {
    return this.#json("PATCH", apiPath(name), changes);
  }

  /** Restarts an API's replicas without dropping requests. */
  async refresh(name: string): Promise<void> {
    await this.#json("POST", `${apiPath(name)}/refresh`);
  }

  /** Deletes an API; its in-flight requests finish. */
  async delete(name: string): Promise<void> {
    await this.#json("DELETE", apiPath(name));
  }

  /**
   * Sends a request to an HTTP API of the server and returns its response,
   * whatever its status (a 401 when the API wants a key and none or a wrong
   * one was sent). The key goes in `x-api-key`. From a handler
   * (`ctx.client`), the call is a chained call to `http://api-<name>:8888`,
   * which needs no key.
   *
   * @example Call an API that requires a key
   * ```ts ignore
   * const client = new CortexClient(endpoint, { apiKey: Deno.env.get("CORTEX_API_KEY") });
   * const res = await client.call("iris", { json: { sepal_length: 5.1 } });
   * console.log(res.status, await res.json());
   * ```
   *
   * @throws {ControlError} Status 404 when there is no such API, 400 when
   * it is a gRPC API.
   */
  async call(name: string, init: CallInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const body = bodyOf(init, headers);
    const key = init.apiKey ?? this.#apiKey;
    if (key !== undefined && key !== "") headers.set("x-api-key", key);
    const method = init.method ?? (body === null ? "GET" : "POST");
    const path = init.path ?? "";
    if (path !== "" && !path.startsWith("/")) {
      throw new TypeError(
        `CortexClient.call(): path "${path}" does not start with "/"`,
      );
    }
    let base: string;
    if (this.#inRuntime) {
      // Chained: the runtime routes by the host name, as a cluster does.
      base = `http://api-${name}:8888`;
    } else {
      const api = await this.get(name);
      if (!api.endpoint.startsWith("http")) {
        throw new ControlError(
          400,
          `API "${name}" is served over gRPC (${api.endpoint}): call it with a gRPC client`,
        );
      }
      base = api.endpoint.replace(/\/$/, "");
    }
    return await this.#fetch(base + (path || (this.#inRuntime ? "/" : "")), {
      method,
      headers,
      ...(body === null ? {} : { body }),
      ...(init.signal ? { signal: init.signal } : {}),
    });
  }

  /**
   * Follows an API's JSON log lines, starting with up to `tail` recent ones.
   * Ends when `signal` aborts or the server closes the stream.
   */
  async *logs(
    name: string,
    opts: { signal?: AbortSignal; tail?: number } = {},
  ): AsyncGenerator<string> {
    const query = opts.tail === undefined ? "" : `?tail=${opts.tail}`;
    const res = await this.#send("GET", `${apiPath(name)}/logs${query}`, {
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!res.body) return;
    try {
      yield* readSse(res.body);
    } catch (error) {
      if (opts.signal?.aborted) return;
      throw error;
    }
  }
}

/** `json` or `body` as a request body, with its content type. */
function bodyOf(init: CallInit, headers: Headers): BodyInit | null {
  if (init.json !== undefined && init.body !== undefined) {
    throw new TypeError("CortexClient.call(): give json or body, not both");
  }
  if (init.json === undefined) return init.body ?? null;
  if (!headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  return JSON.stringify(init.json);
}

function apiPath(name: string): string {
  return `/apis/${encodeURIComponent(name)}`;
}
