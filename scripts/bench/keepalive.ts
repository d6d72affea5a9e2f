/**
 * A closed-loop HTTP/1.1 client on one kept-alive TCP connection, for the
 * keep-alive scale-up scenario: unlike `fetch`, whose pool may open a new
 * connection whenever none is idle, it keeps exactly its connection, and
 * reconnects only when the server closes it (counted).
 *
 * @module
 */

import { percentileOfSorted } from "./stats.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF2 = encoder.encode("\r\n\r\n");

/** One response. */
export interface KeptAliveResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * Parses one complete response at the start of `buf`.
 *
 * @returns the response and the bytes it took, or null when `buf` does not
 *   hold all of it yet
 * @throws {SyntaxError} on a malformed response
 */
export function parseResponse(
  buf: Uint8Array,
): { response: KeptAliveResponse; used: number } | null {
  const headEnd = indexOf(buf, CRLF2);
  if (headEnd === -1) return null;
  const lines = decoder.decode(buf.subarray(0, headEnd)).split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (!m) throw new SyntaxError(`Not an HTTP/1.1 status line: "${lines[0]}"`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(
        line.slice(0, colon).trim().toLowerCase(),
        line.slice(colon + 1).trim(),
      );
    }
  }
  let at = headEnd + 4;
  const length = headers.get("content-length");
  if (length !== undefined) {
    const n = Number(length);
    if (buf.length < at + n) return null;
    return {
      response: {
        status: Number(m[1]),
        headers,
        body: decoder.decode(buf.subarray(at, at + n)),
      },
      used: at + n,
    };
  }
  if (!/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    throw new SyntaxError("Response has neither Content-Length nor chunks");
  }
  const parts: Uint8Array[] = [];
  while (true) {
    const lineEnd = indexOf(buf, CRLF2.subarray(0, 2), at);
    if (lineEnd === -1) return null;
    const size = parseInt(decoder.decode(buf.subarray(at, lineEnd)), 16);
    if (!Number.isFinite(size)) throw new SyntaxError("Bad chunk size");
    const start = lineEnd + 2;
    if (buf.length < start + size + 2) return null;
    if (size === 0) {
      // No trailers expected: the last chunk is "0\r\n\r\n".
      const body = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) {
        body.set(p, o);
        o += p.length;
      }
      return {
        response: { status: Number(m[1]), headers, body: decoder.decode(body) },
        used: start + 2,
      };
    }
    parts.push(buf.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** A GET client on one kept-alive connection. */
export class KeptAliveClient {
  readonly #host: string;
  readonly #port: number;
  readonly #request: Uint8Array;
  #conn: Deno.TcpConn | null = null;
  #buf = new Uint8Array(0);
  /** Connections opened (1 when the server never closed one). */
  connects = 0;

  constructor(hostname: string, port: number, path: string) {
    this.#host = hostname;
    this.#port = port;
    this.#request = encoder.encode(
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`,
    );
  }

  /** Opens the connection now (else the first request does). */
  async connect(): Promise<void> {
    if (this.#conn) return;
    this.#conn = await Deno.connect({ hostname: this.#host, port: this.#port });
    this.#conn.setNoDelay(true);
    this.#buf = new Uint8Array(0);
    this.connects++;
  }

  /**
   * Sends one GET and reads its response. When the server closed the idle
   * connection before answering, reconnects once and retries.
   */
  async get(): Promise<KeptAliveResponse> {
    for (let attempt = 0;; attempt++) {
      await this.connect();
      const conn = this.#conn!;
      let got = false;
      try {
        await conn.write(this.#request);
        const res = await this.#read(conn, () => got = true);
        if (/close/i.test(res.headers.get("connection") ?? "")) this.close();
        return res;
      } catch (error) {
        this.close();
        // Only a connection that ended before any byte of the answer is retried.
        if (got || attempt > 0 || !isClosed(error)) throw error;
      }
    }
  }

  async #read(
    conn: Deno.TcpConn,
    onBytes: () => void,
  ): Promise<KeptAliveResponse> {
    const chunk = new Uint8Array(64 * 1024);
    while (true) {
      const parsed = parseResponse(this.#buf);
      if (parsed) {
        this.#buf = this.#buf.slice(parsed.used);
        return parsed.response;
      }
      const n = await conn.read(chunk);
      if (n === null) throw new Deno.errors.ConnectionReset("closed by server");
      onBytes();
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }

  /** Closes the connection (the next request opens a new one). */
  close(): void {
    try {
      this.#conn?.close();
    } catch {
      // Already closed.
    }
    this.#conn = null;
  }
}

function isClosed(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted;
}

/** One finished request of a {@linkcode KeptAliveLoad}. */
export interface Sample {
  /** `performance.now()` when the response was read. */
  end: number;
  latencyMs: number;
  ok: boolean;
  /** `replica` of the JSON body, when there is one. */
  replica: string | null;
}

/** What a window of samples shows. */
export interface WindowStats {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  servedBy: number;
}

/** Stats of the samples that ended within [from, to] (ms). */
export function windowStats(
  samples: readonly Sample[],
  from: number,
  to: number,
): WindowStats {
  const inside = samples.filter((s) => s.end >= from && s.end <= to);
  const good = inside.filter((s) => s.ok);
  const latencies = good.map((s) => s.latencyMs).sort((a, b) => a - b);
  const durationS = (to - from) / 1000;
  return {
    requests: good.length,
    durationS,
    rps: durationS > 0 ? good.length / durationS : NaN,
    p50Ms: percentileOfSorted(latencies, 50),
    p99Ms: percentileOfSorted(latencies, 99),
    errors: inside.length - good.length,
    servedBy: new Set(good.map((s) => s.replica).filter((r) => r !== null))
      .size,
  };
}

/** `clients` closed-loop clients, each on its own kept-alive connection. */
export class KeptAliveLoad {
  readonly clients: KeptAliveClient[];
  readonly samples: Sample[] = [];
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(hostname: string, port: number, path: string, clients: number) {
    this.clients = Array.from(
      { length: clients },
      () => new KeptAliveClient(hostname, port, path),
    );
  }

  /** Opens every connection. */
  async connect(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.connect()));
  }

  /** Starts sending, back to back on every connection. */
  start(): void {
    this.#running = true;
    this.#loops = this.clients.map(async (client) => {
      while (this.#running) {
        const t0 = performance.now();
        let ok = false;
        let replica: string | null = null;
        try {
          const res = await client.get();
          ok = res.status === 200;
          try {
            replica = (JSON.parse(res.body) as { replica?: string }).replica ??
              null;
          } catch {
            // Not JSON: no replica to count.
          }
        } catch {
          // Counted as an error; the next request reconnects.
          await new Promise((r) => setTimeout(r, 10));
        }
        const end = performance.now();
        this.samples.push({ end, latencyMs: end - t0, ok, replica });
      }
    });
  }

  /** Measures for `seconds`, the load running. */
  async measure(seconds: number): Promise<WindowStats> {
    const from = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return windowStats(this.samples, from, performance.now());
  }

  /** Lets the requests in flight finish, then closes the connections. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    for (const c of this.clients) c.close();
  }

  /** Connections opened so far by all clients. */
  get connections(): number {
    return this.clients.reduce((s, c) => s + c.connects, 0);
  }
}
