/**
 * gRPC-Web's text mode (`application/grpc-web-text`): the binary gRPC-Web
 * body in base64, for browsers and proxies that cannot carry binary bodies.
 * The Connect-ES handlers speak only the binary mode, so text requests are
 * decoded into it and the answers encoded back.
 *
 * @module
 */

const TEXT = /^application\/grpc-web-text(?:\+proto)?$/i;
const BINARY = /^application\/grpc-web(?:\+proto)?$/i;

/** Whether `req` uses gRPC-Web's text mode. */
export function isGrpcWebText(req: Request): boolean {
  return TEXT.test(req.headers.get("content-type") ?? "");
}

/**
 * The same request in binary gRPC-Web.
 *
 * @throws {Error} naming the header when the body is not base64
 */
export async function fromGrpcWebText(req: Request): Promise<Request> {
  const text = (await req.text()).replace(/\s+/g, "");
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    // Several padded chunks may follow one another: decode each.
    const parts = text.match(/[^=]+=*/g) ?? [];
    const decoded = parts.map((p) =>
      Uint8Array.from(atob(p), (c) => c.charCodeAt(0))
    );
    bytes = new Uint8Array(decoded.reduce((n, d) => n + d.length, 0));
    let at = 0;
    for (const d of decoded) {
      bytes.set(d, at);
      at += d.length;
    }
  } catch {
    throw new Error(
      'Body of a "content-type: application/grpc-web-text" request is not base64',
    );
  }
  const headers = new Headers(req.headers);
  headers.set("content-type", "application/grpc-web+proto");
  headers.delete("content-length");
  return new Request(req.url, {
    method: req.method,
    headers,
    body: bytes,
    signal: req.signal,
  });
}

/** Base64 of `bytes`. */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * A binary gRPC-Web response in text mode; other responses (a 404 or 415
 * before the protocol starts) are returned as they are. The body is encoded
 * in runs of whole 3-byte groups, so the chunks join into one base64 text.
 */
export function toGrpcWebText(res: Response): Response {
  if (!BINARY.test(res.headers.get("content-type") ?? "")) return res;
  const headers = new Headers(res.headers);
  headers.set("content-type", "application/grpc-web-text+proto");
  headers.delete("content-length");
  let rest = new Uint8Array(0);
  const encoder = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const all = new Uint8Array(rest.length + chunk.length);
      all.set(rest);
      all.set(chunk, rest.length);
      const whole = all.length - (all.length % 3);
      rest = all.slice(whole);
      if (whole > 0) {
        controller.enqueue(
          new TextEncoder().encode(base64(all.subarray(0, whole))),
        );
      }
    },
    flush(controller) {
      if (rest.length > 0) {
        controller.enqueue(new TextEncoder().encode(base64(rest)));
      }
    },
  });
  return new Response(res.body?.pipeThrough(encoder) ?? null, {
    status: res.status,
    headers,
  });
}
