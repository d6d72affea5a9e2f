/**
 * Checks that the gRPC port still accepts connections. In Deno 2.9 a
 * `node:net` server (grpc-js's HTTP/2 server is one) stops accepting for
 * good after a failed accept (EMFILE: the process's descriptors are all in
 * use), without an error event: one client holding enough connections took
 * the gRPC port down until a restart, even after it let them go. The watch
 * connects to the port now and then as a client would and waits for the
 * server's first HTTP/2 frame (its SETTINGS); when several probes in a row
 * get none, the listener is dead and the process restarts (dropping every
 * connection it held).
 *
 * @module
 */

/** How a probe of the listener went. */
export type ProbeResult =
  /** The server answered the HTTP/2 preface. */
  | "accepted"
  /** Connected, but nothing came back in time: nobody accepted it. */
  | "silent"
  /** Could not even connect (e.g. no descriptor left here): no verdict. */
  | "unknown";

const PREFACE = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);
/** An empty SETTINGS frame: the rest of a client's connection preface. */
const SETTINGS = new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0]);

/**
 * Connects to `hostname:port`, sends the HTTP/2 client preface and waits up
 * to `timeoutMs` for the server's first frame.
 *
 * @param hostname Where to connect (the listening address).
 * @param port The gRPC port.
 * @param timeoutMs How long to wait for the server's answer.
 * @returns "accepted", "silent" or "unknown".
 */
export async function probeListener(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname, port });
  } catch {
    return "unknown";
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const preface = new Uint8Array(PREFACE.length + SETTINGS.length);
    preface.set(PREFACE);
    preface.set(SETTINGS, PREFACE.length);
    const answer = (async () => {
      await conn.write(preface);
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      // A frame header is 9 bytes; type 4 is SETTINGS.
      return n !== null && n >= 4 && buf[3] === 4;
    })();
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return (await Promise.race([answer.catch(() => false), timeout]))
      ? "accepted"
      : "silent";
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** Options of {@linkcode watchListener}. */
export interface ListenerWatchOptions {
  hostname: string;
  port: number;
  /** Between probes (default 2 s). */
  intervalMs?: number;
  /** How long a probe waits for the server (default 2 s). */
  timeoutMs?: number;
  /** Silent probes in a row that mean the listener is dead (default 3). */
  silentProbes?: number;
  /** Called once when the listener is found dead. */
  onDead(silentMs: number): void;
  /** The probe, for tests (default {@linkcode probeListener}). */
  probe?: (
    hostname: string,
    port: number,
    timeoutMs: number,
  ) => Promise<ProbeResult>;
}

/**
 * Probes the listener every `intervalMs` until stopped; calls `onDead` when
 * `silentProbes` probes in a row were silent (an "unknown" probe neither
 * counts nor resets them).
 *
 * @param opts Where to probe, how often, and what to do.
 * @returns A function that stops the watch.
 *
 * @example Usage
 * ```ts ignore
 * const stop = watchListener({
 *   hostname: "127.0.0.1",
 *   port: 9000,
 *   onDead: () => Deno.exit(75),
 * });
 * stop();
 * ```
 */
export function watchListener(opts: ListenerWatchOptions): () => void {
  const interval = opts.intervalMs ?? 2_000;
  const timeout = opts.timeoutMs ?? 2_000;
  const needed = opts.silentProbes ?? 3;
  const probe = opts.probe ?? probeListener;
  let silent = 0;
  let firstSilentAt = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    const result = await probe(opts.hostname, opts.port, timeout);
    if (stopped) return;
    if (result === "accepted") silent = 0;
    else if (result === "silent") {
      if (silent === 0) firstSilentAt = Date.now();
      if (++silent >= needed) {
        stopped = true;
        opts.onDead(Date.now() - firstSilentAt + timeout);
        return;
      }
    }
    timer = setTimeout(tick, interval);
  };
  timer = setTimeout(tick, interval);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
