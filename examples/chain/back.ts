import type { RequestInfo } from "cortex";

export class Handler {
  async handlePost(
    payload: { text?: string; delayMs?: number },
    req: RequestInfo,
  ) {
    if (payload?.delayMs) {
      await new Promise((resolve) => setTimeout(resolve, payload.delayMs));
    }
    return {
      upper: String(payload?.text ?? "").toUpperCase(),
      // The caller's request id travels with the chained call.
      requestId: req.requestId,
    };
  }
}
