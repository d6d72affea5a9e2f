import { HttpError } from "cortex";
import type { HandlerContext, RequestInfo } from "cortex";

/** Hex SHA-256 of some bytes, with Web Crypto. */
async function sha256(bytes: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

export class Handler {
  #ctx: HandlerContext;

  constructor(_config: Record<string, unknown>, ctx: HandlerContext) {
    this.#ctx = ctx;
  }

  /** `curl -F file=@photo.jpg http://localhost:8888/upload` */
  async handlePost(payload: unknown, req: RequestInfo) {
    if (!(payload instanceof FormData)) {
      throw new HttpError(415, 'Send multipart/form-data with a "file" field');
    }
    const file = payload.get("file");
    if (!(file instanceof File)) {
      throw new HttpError(400, 'Missing the "file" field (a file upload)');
    }
    const result = {
      name: file.name,
      size: file.size,
      type: file.type,
      sha256: await sha256(await file.arrayBuffer()),
    };
    req.logger.info("Received upload", {
      extra: { name: result.name, size: result.size },
    });
    this.#ctx.logger.debug("Upload hashed", {
      extra: { sha256: result.sha256 },
    });
    return result;
  }
}
