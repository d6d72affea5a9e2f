/**
 * The serving process's handle on one replica process: starting it with its
 * flags, checking and passing on what it sends, its load and memory, and its
 * end (drained, crashed, killed).
 *
 * A replica is a separate OS process so that whatever its handler does
 * (loop forever, allocate without bound, crash) ends with that process:
 * unlike a Worker, a process can always be killed, and its heap is its own.
 *
 * @module
 */

import { explainPermissionText } from "../errors/permission_hints.ts";
import { FrameTooLarge, FrameWriter } from "../grpc/common/frames.ts";
import { Logger } from "../log/logger.ts";
import type {
  FromReplica,
  ReplicaInit,
  ToReplica,
} from "../wire/replica_messages.ts";
import { ownLines } from "../wire/replica_log_check.ts";
import { OutputLines } from "../log/output_lines.ts";
import { accessRecordRenderer } from "../log/access_record.ts";
import {
  BadReplicaMessage,
  checkFromReplica,
} from "../wire/replica_message_check.ts";
import type { ReplicaProcess } from "./replica_process.ts";
import { ALONE_BYTES, carriedBytes } from "../wire/channel_limits.ts";

/** Lifecycle of a replica. */
export type ReplicaState = "starting" | "ready" | "draining" | "stopped";

/** Why a replica ended. */
export interface ReplicaExit {
  reason: "drained" | "crashed" | "failed" | "killed" | "hung" | "memory";
  message: string;
  stack?: string;
}

/** Receives a replica's checked messages (other than ready/failed/drained/load). */
export type ReplicaListener = (msg: FromReplica, replica: Replica) => void;

export type { ReplicaCommand } from "./replica_process.ts";
export { REPLICA_MALLOC_ENV } from "./replica_process.ts";

/**
 * Deno's notice that npm install scripts were not run (the runtime's own
 * dependencies have some; a replica could not run them anyway): not news.
 */
const SKIPPED_WARNING = /Ignored build scripts for packages:/;

/** Output kept to explain a crash. */
const STDERR_TAIL = 2_000;

/** One running replica process. */
export class Replica {
  readonly id: string;
  readonly api: string;
  state: ReplicaState = "starting";
  /** The handler's method names, once ready. */
  methods: string[] = [];
  listening = false;
  /** Work the replica last reported (running, queued, callbacks). */
  reportedLoad = 0;
  /** Requests it last reported waiting for a handler slot. */
  queued = 0;
  /** Resident memory it last reported, in bytes. */
  rss = 0;
  /** Requests it handed to other replicas (it reports the running total). */
  handedOff = 0;
  /** Clients it asked to reconnect (running total). */
  reconnects = 0;
  /** Requests and calls the serving process sent and that are not answered. */
  sent = 0;
  /** When it last sent anything (every message counts as a heartbeat). */
  lastSeen = Date.now();
  readonly startedAt = Date.now();
  readonly #child: Deno.ChildProcess;
  #writer: FrameWriter | null = null;
  #queue: ToReplica[] = [];
  readonly #ready = Promise.withResolvers<void>();
  readonly #exited = Promise.withResolvers<ReplicaExit>();
  #stderrTail = "";
  readonly #output: Logger;

  constructor(
    init: ReplicaInit,
    proc: ReplicaProcess,
    onMessage: ReplicaListener,
    log: (chunk: string) => void,
  ) {
    this.id = init.replicaId;
    this.api = init.api.name;
    this.#ready.promise.catch(() => {});
    const owner = {
      apiName: init.api.name,
      apiKind: init.api.kind,
      replicaId: init.replicaId,
    };
    const wrapped: string[] = [];
    this.#output = new Logger({
      level: "debug",
      labels: {
        apiName: init.api.name,
        apiKind: init.api.kind,
        replicaId: this.id,
      },
      write: (lines) => wrapped.push(...lines),
    });
    const wrap = (level: "info" | "warning" | "error", source: string) =>
    (
      text: string,
    ) => {
      this.#output[level](text, { extra: { source } });
      return wrapped.splice(0).join("\n");
    };
    const { conn } = proc;
    this.#child = proc.child;
    // A piece of an overlong line is text of the replica, whatever it holds.
    const stdoutText = wrap("info", "stdout");
    void this.#pipeOutput(
      this.#child.stdout,
      (t) => log(ownLines(t, owner, stdoutText)),
      (t) => log(stdoutText(t) + "\n"),
    );
    // What a replica prints on stderr is Deno's (an uncaught error and its
    // stack, a warning) or the handler's: one line of the replica per chunk.
    const stderrText = (t: string) => {
      this.#stderrTail = (this.#stderrTail + t).slice(-STDERR_TAIL);
      const text = t.trimEnd();
      if (text.length === 0 || SKIPPED_WARNING.test(text)) return;
      const level = /^error: /m.test(text) ? "error" : "warning";
      log(wrap(level, "stderr")(explainPermissionText(text)) + "\n");
    };
    const stderrDone = this.#pipeOutput(
      this.#child.stderr,
      stderrText,
      stderrText,
    );
    const forged = wrap("warning", "unlabelled log line");
    // Access records come only over the channel (never from stdout), and
    // render as lines of this replica alone.
    const render = accessRecordRenderer(owner, proc.child.pid);
    void this.#child.status.then(async (status) => {
      // What it printed last says why it ended (its stderr closes with it).
      await Promise.race([stderrDone, new Promise((r) => setTimeout(r, 200))]);
      proc.cancel();
      const why = status.signal
        ? `killed by ${status.signal}`
        : `exited with code ${status.code}`;
      // Deno prints "error: Uncaught ..." and then the stack; V8 prints
      // "Fatal JavaScript out of memory" when the heap limit is reached.
      const printed = this.#stderrTail.split("\n").map((l) => l.trim())
        .filter(Boolean);
      const oom = printed.find((l) => /out of memory/i.test(l));
      const tail = oom ?? printed.find((l) => /^error: /.test(l)) ??
        printed.at(-1);
      const message = tail ? `${why}: ${tail.replace(/^#\s*/, "")}` : why;
      this.#ready.reject(new Error(message));
      this.#end({
        reason: oom
          ? "memory"
          : this.state === "starting"
          ? "failed"
          : "crashed",
        message: oom ? `its heap reached the limit (${message})` : message,
      }, false);
    });
    void conn.then((c) => {
      if (this.state === "stopped") {
        c.conn.close();
        return;
      }
      this.#writer = new FrameWriter(c.conn, {
        onError: () => this.kill("crashed", "its channel failed"),
      });
      this.#writer.send(init);
      for (const msg of this.#queue.splice(0)) this.#write(this.#writer, msg);
      return c.read((raw) =>
        this.#receive(
          raw,
          onMessage,
          (chunk) => log(ownLines(chunk, owner, forged, render)),
        )
      );
    }).catch((error) =>
      this.kill(
        "crashed",
        error instanceof FrameTooLarge
          ? error.message // "sent a frame of N bytes (...), over the limit of M bytes"
          : `its channel failed: ${(error as Error).message}`,
      )
    );
  }

  #receive(
    raw: unknown,
    onMessage: ReplicaListener,
    log: (chunk: string) => void,
  ): void {
    if (this.state === "stopped") return;
    let msg: FromReplica;
    try {
      // A text frame is a batch of log lines (FrameWriter.sendText).
      msg = checkFromReplica(
        typeof raw === "string" ? { type: "log", chunk: raw } : raw,
      );
    } catch (error) {
      if (!(error instanceof BadReplicaMessage)) throw error;
      this.kill(
        this.state === "starting" ? "failed" : "crashed",
        `sent an invalid message (${error.message}); replaced`,
      );
      return;
    }
    this.lastSeen = Date.now();
    switch (msg.type) {
      case "load":
        this.reportedLoad = msg.load;
        this.queued = msg.queued;
        this.rss = msg.rss;
        this.handedOff = msg.handedOff;
        this.reconnects = msg.reconnects;
        return;
      case "log":
        log(msg.chunk);
        return;
      case "ready":
        if (this.state !== "starting") return;
        this.state = "ready";
        this.methods = msg.methods;
        this.listening = msg.listening;
        this.#ready.resolve();
        break;
      case "failed":
        this.#ready.reject(
          Object.assign(new Error(msg.message), { stack: msg.stack }),
        );
        this.#end({ reason: "failed", message: msg.message, stack: msg.stack });
        break;
      case "drained":
        if (this.state !== "draining") return;
        this.#end({ reason: "drained", message: "drained" });
        break;
    }
    onMessage(msg, this);
  }

  /**
   * Passes a replica's output on in lines; a line too long to wait for its
   * end (src/log/output_lines.ts) goes in pieces, each through `piece`.
   */
  async #pipeOutput(
    stream: ReadableStream<Uint8Array>,
    write: (text: string) => void,
    piece: (text: string) => void,
  ): Promise<void> {
    const lines = new OutputLines({ lines: write, piece });
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        lines.push(text);
      }
    } catch { /* the process is gone */ }
    lines.end();
  }

  /** Work it holds: what it reported, or what was sent to it if more. */
  get load(): number {
    return Math.max(this.reportedLoad, this.sent);
  }

  /** Resolves when the handler is constructed and the replica serves. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Resolves once, when the replica has ended for any reason. */
  get exited(): Promise<ReplicaExit> {
    return this.#exited.promise;
  }

  /** The process id (for tests and logs). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Sends a message to the replica. */
  send(msg: ToReplica): void {
    if (this.state === "stopped") return;
    if (this.#writer) this.#write(this.#writer, msg);
    else this.#queue.push(msg);
  }

  /**
   * gRPC call messages go as call frames (no `node:v8` cost); a message
   * carrying a large body or WebSocket message in a frame of its own.
   */
  #write(writer: FrameWriter, msg: ToReplica): void {
    if (msg.type === "grpc") writer.sendCall(msg.msg, msg);
    else if (carriedBytes(msg) > ALONE_BYTES) writer.sendAlone(msg);
    else writer.send(msg);
  }

  /** Stops taking new requests; ends once in-flight work and callbacks are done. */
  drain(): void {
    if (this.state === "stopped" || this.state === "draining") return;
    if (this.state === "starting") {
      this.kill("killed", "stopped while starting");
      return;
    }
    this.state = "draining";
    this.send({ type: "drain" });
  }

  /** Kills the process at once. */
  kill(reason: ReplicaExit["reason"] = "killed", message = "terminated"): void {
    this.#ready.reject(new Error(message));
    this.#end({ reason, message });
  }

  #end(exit: ReplicaExit, kill = true): void {
    if (this.state === "stopped") return;
    this.state = "stopped";
    if (kill) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    this.#exited.resolve(exit);
  }
}
