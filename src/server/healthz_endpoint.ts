/**
 * `GET /healthz`: 200 once every API is ready, 503 with the reason before,
 * and 503 from the moment the server starts draining.
 *
 * @module
 */

/** What health needs to know about one API. */
export interface ApiHealth {
  name: string;
  ready: number;
  status: string;
  error: string | null;
}

/** Builds the /healthz response. */
export function healthResponse(apis: ApiHealth[], draining: boolean): Response {
  const notReady = apis.filter((a) => a.ready === 0);
  const ok = !draining && notReady.length === 0;
  const body = {
    status: draining ? "draining" : ok ? "ok" : "unavailable",
    apis: Object.fromEntries(apis.map((a) => [a.name, {
      status: a.status,
      replicas: a.ready,
      ...(a.error ? { error: a.error } : {}),
    }])),
    ...(ok ? {} : {
      reason: draining
        ? "Server is shutting down"
        : notReady.map((a) =>
          `API "${a.name}" is not ready${a.error ? `: ${a.error}` : ""}`
        ).join("; "),
    }),
  };
  return new Response(JSON.stringify(body), {
    status: ok ? 200 : 503,
    headers: { "content-type": "application/json" },
  });
}
