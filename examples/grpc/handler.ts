import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  type GrpcCallInfo,
  GrpcError,
  type HandlerContext,
} from "cortex";
import type {
  EchoReplySchema,
  EchoRequest,
  EchoSummarySchema,
} from "./gen/echo_pb.ts";

/** A reply as a plain initialiser object (fields may be left out). */
type Reply = MessageInitShape<typeof EchoReplySchema>;
type Summary = MessageInitShape<typeof EchoSummarySchema>;

interface Config {
  prefix?: string;
}

export class Handler {
  #prefix: string;

  constructor(config: Config, ctx: HandlerContext) {
    this.#prefix = config.prefix ?? "";
    ctx.logger.info("Echo handler ready");
  }

  /** Unary. */
  Say(req: EchoRequest, info: GrpcCallInfo): Reply {
    if (req.text === "") {
      throw new GrpcError(Code.INVALID_ARGUMENT, 'Field "text" is empty');
    }
    info.setTrailer("x-request-id", info.requestId);
    return { text: this.#prefix + req.text, at: now() };
  }

  /** Client streaming: the payload is an async iterable of requests. */
  async Collect(reqs: AsyncIterable<EchoRequest>): Promise<Summary> {
    const texts: string[] = [];
    for await (const req of reqs) texts.push(req.text);
    return { count: texts.length, joined: texts.join(" ") };
  }

  /** Server streaming: an async generator method. */
  async *Repeat(req: EchoRequest, info: GrpcCallInfo): AsyncGenerator<Reply> {
    const n = Math.min(Math.max(req.repeat, 1), 100);
    for (let index = 0; index < n && !info.signal.aborted; index++) {
      yield { text: this.#prefix + req.text, index, at: now() };
    }
  }

  /** Bidirectional: answers each request as soon as it arrives. */
  async *Chat(reqs: AsyncIterable<EchoRequest>): AsyncGenerator<Reply> {
    let index = 0;
    for await (const req of reqs) {
      yield { text: this.#prefix + req.text, index: index++, at: now() };
    }
  }
}

function now(): { seconds: bigint; nanos: number } {
  const ms = Date.now();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}
