/** Unary echo: the same work as scripts/bench/raw/grpc_echo.ts. */
export class Handler {
  Say(req: { text: string }): { text: string } {
    return { text: req.text };
  }
}
