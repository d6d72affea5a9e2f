/**
 * Refuses, inside a replica, the calls that change state shared by the whole
 * process (every API of the server runs in it): the working directory, the
 * file mode mask, signal handlers, stdin (the supervisor's command channel),
 * closing stdout/stderr (the log stream), ending or aborting the process,
 * user and group ids, and new threads, which would start with none of these
 * guards. Each refusal is a `Deno.errors.NotCapable` naming the call, why it
 * is refused and what to do instead.
 *
 * Installed before the handler module loads. The guards replace properties
 * of `Deno` and of the `process` object (also the default export of
 * `node:process`) with non-writable, non-configurable ones, so a handler
 * cannot put the originals back, and `Object.getOwnPropertyDescriptor`
 * returns the guard. `Deno[Deno.internal]` (Deno's internal ops) is removed.
 *
 * Not covered, and why (see SECURITY.md): the named exports of
 * `node:process` (`import { chdir, abort } from "node:process"`) and Workers
 * from `node:worker_threads` are bound inside Deno to the original functions
 * and cannot be replaced from JavaScript.
 *
 * Self-contained (no imports) and idempotent: the replica entry may call it
 * more than once, and runtime code that needs an original must take it
 * before the call.
 *
 * @module
 */

const INSTALLED = Symbol.for("cortex.processGuards");

/** What is refused and why, per call. */
const EVERY_API = "of every API in this server";
const USE_PATHS = "use absolute paths (ctx.projectDir, ctx.scratchDir)";

/** The message of the error thrown for `call`. */
export function refusalMessage(call: string, reason: string): string {
  return `${call} is not available to handlers: ${reason}`;
}

/**
 * Replaces the process-wide calls of `Deno` and `process` in this realm with
 * guards that throw `Deno.errors.NotCapable`. Idempotent.
 */
export function installProcessGuards(): void {
  const g = globalThis as Record<PropertyKey, unknown>;
  if (g[INSTALLED]) return;
  Object.defineProperty(g, INSTALLED, { value: true });

  // A function, not an arrow: `new Worker()` must reach the throw too.
  const refuse = (call: string, reason: string) =>
    function refused(): never {
      throw new Deno.errors.NotCapable(refusalMessage(call, reason));
    };
  const pin = (target: object, key: PropertyKey, value: unknown) => {
    try {
      Object.defineProperty(target, key, {
        value,
        writable: false,
        enumerable: true,
        configurable: false,
      });
    } catch {
      // Not configurable in this Deno version: left as it is.
    }
  };
  const deno = Deno as unknown as Record<PropertyKey, unknown>;

  const CHDIR =
    `it would change the working directory ${EVERY_API}; ${USE_PATHS}`;
  const UMASK =
    `it would change the file mode mask ${EVERY_API}; pass a mode to the call that creates the file`;
  const SIGNALS =
    `signals reach the whole server, whose runtime handles them; use req.signal (aborted on disconnect or timeout) for cancellation`;
  const EXIT =
    "it would stop this replica and every request it serves; throw an error (or HttpError) to fail a request";
  const STDIN = "stdin carries the runtime's commands to the server";
  const THREADS =
    "a new thread would run outside this replica's guards; do the work in the handler, one thread per replica, and scale with replicas (onnxruntime-web: ort.env.wasm.numThreads = 1)";

  pin(Deno, "chdir", refuse("Deno.chdir()", CHDIR));
  pin(Deno, "umask", refuse("Deno.umask()", UMASK));
  pin(Deno, "addSignalListener", refuse("Deno.addSignalListener()", SIGNALS));
  pin(
    Deno,
    "removeSignalListener",
    refuse("Deno.removeSignalListener()", SIGNALS),
  );
  pin(Deno, "exit", refuse("Deno.exit()", EXIT));

  // stdin: nothing of it; stdout and stderr: writing works, closing does not.
  const stdin = refuse("Deno.stdin", STDIN);
  pin(
    Deno,
    "stdin",
    Object.freeze({
      rid: -1,
      read: stdin,
      readSync: stdin,
      setRaw: refuse("Deno.stdin.setRaw()", STDIN),
      close: stdin,
      get readable(): never {
        return stdin();
      },
      isTerminal: () => false,
    }),
  );
  for (const name of ["stdout", "stderr"] as const) {
    const original = Deno[name];
    const close = refuse(
      `Deno.${name}.close()`,
      `it would close the ${name} ${EVERY_API}`,
    );
    pin(
      Deno,
      name,
      Object.freeze({
        rid: -1,
        write: (p: Uint8Array) => original.write(p),
        writeSync: (p: Uint8Array) => original.writeSync(p),
        close,
        get writable() {
          return new WritableStream<Uint8Array>({
            write: async (chunk) => {
              for (let n = 0; n < chunk.length;) {
                n += await original.write(chunk.subarray(n));
              }
            },
          });
        },
        isTerminal: () => original.isTerminal(),
      }),
    );
  }

  // Deno's internal ops (e.g. core.ops.op_fs_chdir) would bypass all of this.
  const internal = deno.internal as symbol | undefined;
  if (typeof internal === "symbol") {
    try {
      delete deno[internal];
    } catch {
      // Not configurable in this Deno version.
    }
  }

  // An accessor whose setter ignores the value: emscripten's Node glue
  // (onnxruntime-web, tfjs-backend-wasm) assigns `global.Worker` while it
  // loads, which must not throw; `new Worker()` stays refused.
  const worker = refuse("new Worker()", THREADS);
  try {
    Object.defineProperty(g, "Worker", {
      get: () => worker,
      set: () => {},
      enumerable: true,
      configurable: false,
    });
  } catch {
    // Not configurable in this Deno version: left as it is.
  }

  // The global `process` is node:process's default export.
  const process = g.process as Record<PropertyKey, unknown> | undefined;
  if (!process) return;
  pin(process, "chdir", refuse("process.chdir()", CHDIR));
  const umask = process.umask as ((mask?: unknown) => number) | undefined;
  pin(process, "umask", (mask?: unknown) => {
    if (mask !== undefined) refuse("process.umask(mask)", UMASK)();
    return umask!.call(process);
  });
  pin(
    process,
    "abort",
    refuse("process.abort()", "it would abort the whole server"),
  );
  pin(process, "exit", refuse("process.exit()", EXIT));
  pin(process, "reallyExit", refuse("process.reallyExit()", EXIT));
  for (const name of ["setuid", "setgid", "seteuid", "setegid", "setgroups"]) {
    if (typeof process[name] === "function") {
      pin(
        process,
        name,
        refuse(
          `process.${name}()`,
          `it would change the user or group ${EVERY_API}`,
        ),
      );
    }
  }
  for (
    const name of [
      "on",
      "addListener",
      "once",
      "prependListener",
      "prependOnceListener",
    ]
  ) {
    const original = process[name] as
      | ((event: unknown, listener: unknown) => unknown)
      | undefined;
    if (typeof original !== "function") continue;
    pin(
      process,
      name,
      function (this: unknown, event: unknown, listener: unknown) {
        if (typeof event === "string" && /^SIG[A-Z0-9]+$/.test(event)) {
          refuse(`process.${name}("${event}")`, SIGNALS)();
        }
        return original.call(this, event, listener);
      },
    );
  }
  try {
    Object.defineProperty(process, "stdin", {
      get: refuse("process.stdin", STDIN),
      enumerable: true,
      configurable: false,
    });
  } catch {
    // Not configurable in this Deno version.
  }
}
