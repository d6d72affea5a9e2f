/**
 * The Deno permissions of a replica worker: the narrowest set that lets the
 * handler do its job (DESIGN.md "Project directory", issue "The sandbox").
 *
 * @module
 */

import { join } from "node:path";
import type { ApiConfig, Project } from "../config/types.ts";

/** A Worker's `deno.permissions` option. */
export interface WorkerPermissions {
  read: string[];
  write: string[];
  net: string[] | false;
  env: false;
  run: false;
  ffi: false;
  sys: false;
}

/**
 * Read: each available project file (so dotfiles, cortex.yaml and ignored
 * files stay unreadable even inside the project) and the scratch directory.
 * Deno checks a read grant against the path given, not a link's target, so a
 * link is listed (and granted) only when its real target is itself a project
 * file (src/config/project_files.ts).
 * Write: the scratch directory. Net: `handler.allow_net`, plus the serving
 * port so the replica can run its own listener, plus the loopback control
 * API for `ctx.client`. Env: none (the handler's
 * variables are provided in-process). No run, ffi or sys.
 */
export function workerPermissions(
  project: Project,
  api: ApiConfig,
  scratchDir: string,
  listen: { hostname: string; port: number } | null,
  control: { url: string } | null = null,
): WorkerPermissions {
  const net = [...api.handler.allowNet];
  if (listen) {
    const host = listen.hostname.includes(":")
      ? `[${listen.hostname}]` // IPv6 literals need brackets before a port
      : listen.hostname;
    net.push(`${host}:${listen.port}`);
  }
  // ctx.client reaches the control API on loopback.
  if (control) net.push(new URL(control.url).host);
  return {
    read: [...project.files.map((f) => join(project.dir, f)), scratchDir],
    write: [scratchDir],
    net: net.length > 0 ? net : false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
  };
}

/** The environment a handler sees: .env, then handler.env, then CORTEX_*. */
export function handlerEnv(
  project: Project,
  api: ApiConfig,
  runtime: Record<string, string>,
): Record<string, string> {
  return { ...project.dotenv, ...api.handler.env, ...runtime };
}
