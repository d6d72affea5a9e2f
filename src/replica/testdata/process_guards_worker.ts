/// <reference lib="deno.worker" />
// Installs the guards, then tries each process-wide call; posts the results.
import processDefault from "node:process";
import { installProcessGuards } from "../process_guards.ts";

const scratch = Deno.makeTempDirSync({ prefix: "cortex_guards_" });
const cwd = Deno.cwd();
installProcessGuards();
installProcessGuards(); // idempotent

const proc = (globalThis as unknown as { process: typeof processDefault })
  .process;
const attempts: Record<string, () => unknown> = {
  "Deno.chdir": () => Deno.chdir(scratch),
  "descriptor": () =>
    (Object.getOwnPropertyDescriptor(Deno, "chdir")!.value as (
      p: string,
    ) => void)(scratch),
  "reassign": () => {
    try {
      (Deno as { chdir: unknown }).chdir = () => "replaced";
    } catch { /* read-only in strict mode */ }
    return Deno.chdir(scratch);
  },
  "delete": () => {
    try {
      delete (Deno as { chdir?: unknown }).chdir;
    } catch { /* not configurable in strict mode */ }
    return Deno.chdir(scratch);
  },
  "process.chdir": () => proc.chdir(scratch),
  "node:process default": () => processDefault.chdir(scratch),
  "Deno.umask": () => Deno.umask(0o077),
  "process.umask": () => proc.umask(0o077),
  "Deno.addSignalListener": () => Deno.addSignalListener("SIGINT", () => {}),
  "process.on": () => proc.on("SIGTERM", () => {}),
  "Deno.exit": () => Deno.exit(3),
  "process.exit": () => proc.exit(3),
  "process.abort": () => proc.abort(),
  "Deno.stdin.read": () => Deno.stdin.read(new Uint8Array(1)),
  "Deno.stdin.setRaw": () => Deno.stdin.setRaw(true),
  "Deno.stdout.close": () => Deno.stdout.close(),
  "process.stdin": () => proc.stdin,
  "Worker": () =>
    new Worker("data:application/javascript,0", { type: "module" }),
  // emscripten's Node glue assigns global.Worker: no TypeError, no effect.
  "Worker assigned": () => {
    (globalThis as Record<string, unknown>).Worker = class {};
    return new Worker("data:application/javascript,0", { type: "module" });
  },
  "internal ops": () => {
    const internal = (Deno as unknown as Record<symbol, unknown>)[
      (Deno as unknown as { internal: symbol }).internal
    ] as { core: { ops: { op_fs_chdir(p: string): void } } } | undefined;
    return internal!.core.ops.op_fs_chdir(scratch);
  },
};
const results: Record<string, { name: string; message: string } | "ok"> = {};
for (const [name, attempt] of Object.entries(attempts)) {
  try {
    await attempt();
    results[name] = "ok";
  } catch (error) {
    results[name] = {
      name: (error as Error).name,
      message: (error as Error).message,
    };
  }
}
// Still allowed: listening for ordinary process events, writing to stdout.
proc.on("exit", () => {});
self.postMessage({
  results,
  cwdUnchanged: Deno.cwd() === cwd,
  stdoutWrites: Deno.stdout.writeSync(new Uint8Array(0)) === 0,
});
Deno.removeSync(scratch);
