/**
 * Deno's internal HTTP servers (ext/http/00_serve.ts), taken when this module
 * loads. A replica removes `Deno[Deno.internal]` before its handler loads
 * (src/replica/process_guards.ts) and loads this module statically, before
 * that; the server that can upgrade WebSockets (src/http/upgradable_server.ts)
 * loads later, only for a handler with `handleWebSocket`, and takes its
 * function from here.
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
const internals = (Deno as any)[(Deno as any).internal];

/** `serveHttpOnConnection`: serves one accepted connection, or undefined. */
export const SERVE_ON_CONNECTION: unknown = internals?.serveHttpOnConnection;

/** `serveHttpOnListener`: serves a listener (can upgrade), or undefined. */
export const SERVE_ON_LISTENER: unknown = internals?.serveHttpOnListener;
