/**
 * A raw HTTP/1.1 client over TCP for end-to-end tests: sends exactly the
 * bytes given (methods as written, truncated bodies, half-closes), which
 * `fetch` would normalise or refuse.
 *
 * @module
 */

/** A response as read off the socket. */
export interface RawResponse {
  status: number;
  headers: Headers;
  /** Everything after the head, until the connection closed or went quiet. */
  body: string;
  raw: string;
}

/** Options of {@linkcode rawRequest}. */
export interface RawOptions {
  /** Half-close (shut down writing) after sending. */
  halfClose?: boolean;
  /** Stop reading after this long without a byte (default 2 s). */
  quietMs?: number;
  /** Give up after this long in all (default 10 s). */
  timeoutMs?: number;
}

/** Parses the head of an HTTP/1.1 response. */
export function parseResponse(raw: string): RawResponse | null {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) return null;
  const [statusLine, ...lines] = raw.slice(0, end).split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "");
  if (!m) return null;
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
  }
  return { status: Number(m[1]), headers, body: raw.slice(end + 4), raw };
}

/**
 * Sends `request` (a string with CRLFs, sent as is) to 127.0.0.1:`port`
 * and reads one response: up to its Content-Length, else until the
 * connection closes or is quiet for `quietMs`.
 */
export async function rawRequest(
  port: number,
  request: string,
  opts: RawOptions = {},
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const decoder = new TextDecoder();
  let raw = "";
  try {
    await conn.write(new TextEncoder().encode(request));
    if (opts.halfClose) await conn.closeWrite();
    const buf = new Uint8Array(64 * 1024);
    const end = Date.now() + (opts.timeoutMs ?? 10_000);
    while (Date.now() < end) {
      const quiet = Math.min(opts.quietMs ?? 2_000, end - Date.now());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"quiet">((r) =>
          timer = setTimeout(() => r("quiet"), quiet)
        ),
      ]).finally(() => clearTimeout(timer));
      if (n === "quiet" || n === null) break;
      raw += decoder.decode(buf.subarray(0, n), { stream: true });
      const res = parseResponse(raw);
      const length = res?.headers.get("content-length");
      const isHead = request.startsWith("HEAD ");
      if (
        res && length !== null && length !== undefined &&
        (isHead || new TextEncoder().encode(res.body).length >= Number(length))
      ) break;
    }
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the server.
    }
  }
  const res = parseResponse(raw);
  if (!res) {
    throw new Error(
      `No HTTP response, got ${JSON.stringify(raw.slice(0, 200))}`,
    );
  }
  return res;
}
