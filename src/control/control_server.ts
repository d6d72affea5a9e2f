/**
 * Serves the control API on 127.0.0.1 only, on its own port.
 *
 * @module
 */

import type { ControlTarget } from "./control_target.ts";
import { createControlHandler } from "./control_routes.ts";

/** The only address the control API listens on. */
export const CONTROL_HOST = "127.0.0.1";

/** Options of {@linkcode startControlServer}. */
export interface ControlServerOptions {
  target: ControlTarget;
  token: string;
  /** The port; 0 (the default) picks a free one. */
  port?: number;
  /**
   * Listen with SO_REUSEPORT: a replacement serving process binds the same
   * fixed port while the one it replaces drains (Linux: same user only).
   */
  reusePort?: boolean;
}

/** A running control server. */
export interface ControlServer {
  /** The port it listens on. */
  port: number;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Ends log streams and stops listening. */
  shutdown(): Promise<void>;
}

/**
 * Starts the control API on `127.0.0.1:<port>`.
 *
 * @param opts The target, token and port.
 * @returns Where it listens, and how to stop it.
 *
 * @example Usage
 * ```ts
 * import { startControlServer } from "./control_server.ts";
 * import { sampleTarget, TEST_TOKEN } from "./_testing.ts";
 *
 * const target = sampleTarget();
 * const control = await startControlServer({ target, token: TEST_TOKEN });
 * // ... write control.port and the token to the state file
 * const res = await fetch(`http://127.0.0.1:${control.port}/apis`, {
 *   headers: { authorization: `Bearer ${TEST_TOKEN}` },
 * });
 * if (res.status !== 200) throw new Error(await res.text());
 * await res.body?.cancel();
 * await control.shutdown();
 * ```
 */
export async function startControlServer(
  opts: ControlServerOptions,
): Promise<ControlServer> {
  const handler = createControlHandler(opts.target, opts.token);
  const closing = new AbortController();
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: CONTROL_HOST,
    port: opts.port ?? 0,
    reusePort: opts.reusePort ?? false,
    onListen: ({ port }) => listening.resolve(port),
    onError: () => new Response('{"error":"Internal error"}', { status: 500 }),
  }, (req) => {
    // Log streams never end on their own: shutting down ends them (a client
    // going away cancels the stream). req.signal is not used: under Deno's
    // legacy behaviour it also aborts after every successful response.
    return handler(
      new Request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: closing.signal,
      }),
    );
  });
  const port = await Promise.race([
    listening.promise,
    server.finished.then(() => {
      throw new Error(
        `Cannot start the control API on ${CONTROL_HOST}:${opts.port ?? 0}`,
      );
    }),
  ]);
  return {
    port,
    url: `http://${CONTROL_HOST}:${port}`,
    async shutdown() {
      closing.abort();
      await server.shutdown();
    },
  };
}
