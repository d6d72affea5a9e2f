/**
 * Loads a project directory: cortex.yaml, the project files and `.env`.
 *
 * @module
 */

import {
  joinPath as join,
  resolvePath as resolve,
} from "../path/posix_path.ts";
import { ConfigError } from "./config_error.ts";
import { readDotenv } from "./dotenv.ts";
import { parseApiConfigs, type ParseOptions } from "./parse_api_configs.ts";
import { listProjectFiles } from "./project_files.ts";
import type { Project } from "./resolved_config.ts";

export { parseApiConfigs };

/** The configuration file a project directory must hold. */
export const CONFIG_FILE = "cortex.yaml";

/**
 * Loads and validates the project in `dir`.
 *
 * Messages name files as `join(dir, ...)`, so they read the way the user
 * wrote the directory; `Project.dir` and `Project.configPath` are absolute.
 *
 * @param dir The project directory, absolute or relative to the cwd.
 * @param options `net`: the serving server's `allow_net` rules.
 * @returns The resolved project.
 * @throws {ConfigError} When cortex.yaml is missing or invalid, `.env` sets a
 *   `CORTEX_` variable, or `dir` is "/" or the home directory.
 */
export async function loadProject(
  dir: string,
  options: ParseOptions = {},
): Promise<Project> {
  const absDir = resolve(Deno.cwd(), dir);
  const configFile = join(dir, CONFIG_FILE);
  await refuseBroadDirectory(dir, configFile);
  let text: string;
  try {
    text = await Deno.readTextFile(configFile);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw singleIssue(
      configFile,
      `no such file: a project directory holds a ${CONFIG_FILE} that describes its APIs`,
    );
  }
  const files = await listProjectFiles(dir);
  const apis = parseApiConfigs(text, configFile, new Set(files), options);
  const dotenv = await readDotenv(dir);
  return {
    dir: absDir,
    configPath: join(absDir, CONFIG_FILE),
    apis,
    files,
    dotenv,
  };
}

/**
 * Every file of the project becomes readable by handlers (and embedded by
 * `compile`), so "/" and the home directory are never a project.
 */
async function refuseBroadDirectory(
  dir: string,
  configFile: string,
): Promise<void> {
  let real: string;
  try {
    real = await Deno.realPath(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw singleIssue(configFile, `no such directory: "${dir}"`);
  }
  const home = await realHome();
  const what = real === "/" || /^[A-Za-z]:\\?$/.test(real)
    ? "the root directory"
    : real === home
    ? "the home directory"
    : null;
  if (what === null) return;
  throw singleIssue(
    configFile,
    `the project directory is ${what} ("${real}"): refusing to serve every file in it; move the project into its own directory`,
  );
}

/** The real home directory, or null when unknown or not readable. */
async function realHome(): Promise<string | null> {
  let home: string | undefined;
  try {
    home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  } catch {
    return null; // No --allow-env for HOME.
  }
  if (home === undefined || home === "") return null;
  try {
    return await Deno.realPath(home);
  } catch {
    return null;
  }
}

function singleIssue(file: string, message: string): ConfigError {
  return new ConfigError([{ file, line: 0, field: "", message }]);
}
