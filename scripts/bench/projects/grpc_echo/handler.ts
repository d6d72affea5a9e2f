/** Unary echo and server streaming: the same work as scripts/bench/raw/grpc_echo.ts. */

/** Replies per Stream call (the raw server sends as many). */
export const STREAM_REPLIES = 100;

export class Handler {
  Say(req: { text: string }): { text: string } {
    return { text: req.text };
  }

  *Stream(req: { text: string }): Generator<{ text: string }> {
    for (let i = 0; i < STREAM_REPLIES; i++) yield { text: req.text };
  }
}
