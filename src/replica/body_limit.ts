/**
 * Enforces the request body limit (413) without reading the body up front:
 * Content-Length is checked first, chunked bodies are counted as they stream.
 *
 * @module
 */

/** Wraps a request so its body errors once more than `max` bytes arrive. */
export function limitBody(
  req: Request,
  max: number,
  hasLength: boolean = req.headers.has("content-length"),
): { request: Request; exceeded: () => boolean } {
  let exceeded = false;
  // With a Content-Length the framing bounds the body (checked up front by
  // declaredTooLarge); only chunked bodies need counting, which costs a stream.
  if (hasLength || req.body === null) {
    return { request: req, exceeded: () => false };
  }
  let seen = 0;
  const counted = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > max) {
          exceeded = true;
          controller.error(new RangeError("Request body is over the limit"));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  const request = new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body: counted,
    signal: req.signal,
  });
  return { request, exceeded: () => exceeded };
}

/** True when the declared Content-Length (`length`, the header's value) is over `max`. */
export function declaredTooLarge(length: string | null, max: number): boolean {
  if (length === null) return false;
  const declared = Number(length);
  return Number.isFinite(declared) && declared > max;
}
