/**
 * `cortex serve --watch`: when project files change, reload the project and
 * roll the changed APIs out like a deploy (new replicas first, then the old
 * ones drain), so in-flight requests are never dropped.
 *
 * @module
 */

import { ConfigError } from "../config/config_error.ts";
import { loadProject } from "../config/load_project.ts";
import type { ControlTarget } from "../control/control_target.ts";
import type { Logger } from "../log/logger.ts";

/** Watches `dir` until `signal` aborts. */
export async function watchProject(
  dir: string,
  target: ControlTarget,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const watcher = Deno.watchFs(dir, { recursive: true });
  signal.addEventListener("abort", () => watcher.close(), { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reload = async () => {
    try {
      const project = await loadProject(dir, { net: target.netRules?.() });
      await target.deploy(project.apis, project);
      logger.info("Project changed: rolling out", {
        extra: { apis: project.apis.map((a) => a.name) },
      });
    } catch (error) {
      const message = error instanceof ConfigError
        ? error.message
        : (error as Error)?.message ?? String(error);
      logger.error(`Project changed but cannot be reloaded: ${message}`);
    }
  };
  for await (const event of watcher) {
    // Hidden files (editor swap files, .git) never reach handlers, except .env.
    const relevant = event.paths.some((p) => {
      const name = p.slice(p.lastIndexOf("/") + 1);
      return !name.startsWith(".") || name === ".env" ||
        name === ".cortexignore";
    });
    if (!relevant) continue;
    clearTimeout(timer);
    timer = setTimeout(reload, 200);
  }
  clearTimeout(timer);
}
