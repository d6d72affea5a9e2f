/**
 * Test helpers for `cortex serve`'s process tree: whether a process is alive,
 * and asking the supervisor to replace a serving process the way the serving
 * process itself does (its `--replace-request` file). Read through `sh`:
 * Deno only lets `--allow-all` read /proc directly.
 *
 * @module
 */

import { serveProcessArgv } from "../src/wire/serve_process_args.ts";

async function sh(script: string): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/** True while `pid` exists and is not a zombie. */
export async function alive(pid: number): Promise<boolean> {
  const state = await sh(`grep -s '^State:' /proc/${pid}/status`);
  return state !== "" && !/\bZ\b/.test(state);
}

/** Writes the replace-request file of the serving process `servingPid`. */
export async function requestReplacement(
  servingPid: number,
  reason = "test",
): Promise<void> {
  const args = (await sh(`tr '\\0' '\\n' < /proc/${servingPid}/cmdline`))
    .split("\n").filter((a) => a !== "");
  const main = args.findIndex((a) => a.endsWith("serve_main.ts"));
  if (main < 0) throw new Error(`pid ${servingPid} is no serving process`);
  const { replaceRequest } = serveProcessArgv.parseArgv(args.slice(main + 1));
  await Deno.writeTextFile(replaceRequest, JSON.stringify({ reason }));
}

/** The child processes of `pid`. */
export async function childPids(pid: number): Promise<number[]> {
  return (await sh(`cat /proc/${pid}/task/*/children 2>/dev/null`))
    .trim().split(/\s+/).filter(Boolean).map(Number);
}

/** The serving processes (1, or 2 during a replacement) of supervisor `pid`. */
export async function servingProcesses(pid: number): Promise<number[]> {
  const children = await childPids(pid);
  const found: number[] = [];
  for (const child of children) {
    const cmdline = await sh(`tr '\\0' ' ' < /proc/${child}/cmdline`);
    if (cmdline.includes("serve_main.ts")) found.push(child);
  }
  return found;
}
