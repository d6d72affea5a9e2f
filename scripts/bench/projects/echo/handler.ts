/**
 * Echo for `deno task bench`: JSON comes back as is, a binary body as its
 * length, a multipart form as its field count and total size. The raw
 * `Deno.serve` baseline (scripts/bench/raw/http_echo.ts) does the same.
 */
export class Handler {
  handlePost(payload: unknown): unknown {
    if (payload instanceof Uint8Array) return { bytes: payload.byteLength };
    if (payload instanceof FormData) {
      let fields = 0;
      let bytes = 0;
      for (const [, value] of payload) {
        fields++;
        bytes += typeof value === "string" ? value.length : value.size;
      }
      return { fields, bytes };
    }
    return payload;
  }

  handleGet(): { ok: boolean } {
    return { ok: true };
  }
}
