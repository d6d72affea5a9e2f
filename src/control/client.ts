/**
 * The Cortex client: talks to a running server's control API (loopback only,
 * token required). Handlers get one as `ctx.client`.
 *
 * @module
 */

/** Where the control API is and the token it requires. */
export interface ControlEndpoint {
  url: string;
  token: string;
}

/** Raised when the control API refuses or fails a call. */
export class ControlError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ControlError";
    this.status = status;
  }
}

/** A client for the control API. */
export class CortexClient {
  readonly #endpoint: ControlEndpoint;

  constructor(endpoint: ControlEndpoint) {
    this.#endpoint = endpoint;
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(new URL(path, this.#endpoint.url), {
      method,
      headers: {
        authorization: `Bearer ${this.#endpoint.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) {
      throw new ControlError(res.status, data?.error ?? `Control API answered ${res.status}`);
    }
    return data;
  }

  /** Lists the APIs of the server. */
  list(): Promise<unknown> {
    return this.#call("GET", "/apis");
  }

  /** Gets one API: spec, status, replicas, in-flight, endpoint. */
  get(name: string): Promise<unknown> {
    return this.#call("GET", `/apis/${encodeURIComponent(name)}`);
  }

  /** Deploys a project directory or API specs (YAML text). */
  deploy(spec: { projectDir?: string; yaml?: string }): Promise<unknown> {
    return this.#call("POST", "/apis", spec);
  }

  /** Changes an API's settings in place (e.g. autoscaling). */
  patch(name: string, changes: Record<string, unknown>): Promise<unknown> {
    return this.#call("PATCH", `/apis/${encodeURIComponent(name)}`, changes);
  }

  /** Restarts an API's replicas without dropping requests. */
  refresh(name: string): Promise<unknown> {
    return this.#call("POST", `/apis/${encodeURIComponent(name)}/refresh`);
  }

  /** Deletes an API. */
  delete(name: string): Promise<unknown> {
    return this.#call("DELETE", `/apis/${encodeURIComponent(name)}`);
  }
}

/** The client a handler gets as `ctx.client`. */
export function createControlClient(endpoint: ControlEndpoint): CortexClient {
  return new CortexClient(endpoint);
}
