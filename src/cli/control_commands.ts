/**
 * `cortex deploy|get|list|refresh|patch|delete|logs|call`: manage a running server
 * through its control API. Merged into the CLI dispatch via
 * {@linkcode CONTROL_COMMANDS}.
 *
 * @module
 */

import { EXIT } from "../wire/exit_codes.ts";
import { basename, dirname } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../config/config_error.ts";
import {
  ControlError,
  type CortexClient,
  type DeploySpec,
} from "../control/client.ts";
import { prettyLine } from "../log/pretty.ts";
import {
  connect,
  CONNECT_FLAGS,
  CONNECT_HELP,
  ServerNotFoundError,
} from "./control_connect.ts";
import { type ControlIo, readPatch, sleep, terminalIo } from "./control_io.ts";
import { renderApiDetail, renderApiTable } from "./control_table.ts";
import { CALL_HELP, callCommand } from "./call_command.ts";
import { UsageError } from "../wire/serve_options.ts";

/** A CLI command: arguments after its name in, exit code out. */
export type Command = (args: string[]) => Promise<number>;

const OUTPUT_HELP = "  -o, --output F         table (default) or json";

/** `--help` text of each control command. */
export const CONTROL_HELP: Readonly<Record<string, string>> = {
  deploy: `Usage: cortex deploy [path] [options]

Deploys to the running server: new APIs start, updated ones roll out without
dropping in-flight requests. path is a project directory (default ".") or its
cortex.yaml; any other YAML file is sent as API specs of the served project.

Options:
${OUTPUT_HELP}
${CONNECT_HELP}`,
  get: `Usage: cortex get [name] [options]

Shows one API (status, replicas, in-flight, endpoint), or all when no name.

Options:
  -w, --watch           Refresh every 2 s until Ctrl-C
${OUTPUT_HELP}
${CONNECT_HELP}`,
  list: `Usage: cortex list [options]

Lists the APIs of the running server.

Options:
${OUTPUT_HELP}
${CONNECT_HELP}`,
  refresh: `Usage: cortex refresh <name> [options]

Restarts an API's replicas (a roll-out with the same configuration).

Options:
${CONNECT_HELP}`,
  patch:
    `Usage: cortex patch <name> [file | json] [--set path=value]... [options]

Changes an API in place with a partial cortex.yaml-style object, e.g.
  cortex patch iris --set autoscaling.max_replicas=4
  cortex patch iris '{"autoscaling": {"min_replicas": 2}}'
  cortex patch iris patch.yaml
null removes a field. The result is validated like cortex.yaml.

Options:
  --set path=value      Set one field (value parsed as JSON when it is JSON)
${OUTPUT_HELP}
${CONNECT_HELP}`,
  delete: `Usage: cortex delete <name> [options]

Deletes an API; its in-flight requests finish.

Options:
${CONNECT_HELP}`,
  call: CALL_HELP,
  logs: `Usage: cortex logs <name> [options]

Follows an API's logs until Ctrl-C, printed readably.

Options:
  --tail N              Start with at most N recent lines (default: all kept)
  -o, --output F        pretty (default) or json (the raw JSON lines)
${CONNECT_HELP}`,
};

const FLAGS = {
  ...CONNECT_FLAGS,
  output: { type: "string", short: "o" },
  watch: { type: "boolean", short: "w" },
  set: { type: "string", multiple: true },
  tail: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Flags = ReturnType<typeof parse>["values"];

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: FLAGS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function outputOf(flags: Flags, allowed: string[]): string {
  const output = flags.output ?? allowed[0]!;
  if (!allowed.includes(output)) {
    throw new UsageError(
      `Option --output is "${output}": expected ${
        allowed.map((o) => `"${o}"`).join(" or ")
      }`,
    );
  }
  return output;
}

function nameOf(command: string, positionals: string[]): string {
  const name = positionals[0];
  if (!name) {
    throw new UsageError(`Missing API name: usage: cortex ${command} <name>`);
  }
  return name;
}

type Body = (
  client: () => Promise<CortexClient>,
  flags: Flags,
  positionals: string[],
) => Promise<number>;

/**
 * Builds the control commands over a terminal.
 *
 * @param io Output, environment, colour and Ctrl-C (default: the real terminal).
 * @returns The commands by name.
 */
export function createControlCommands(
  io: ControlIo = terminalIo(),
): Record<string, Command> {
  const json = (value: unknown) => io.out(JSON.stringify(value, null, 2));

  const wrap = (command: string, body: Body): Command => async (args) => {
    try {
      const { values, positionals } = parse(args);
      if (values.help) {
        io.out(CONTROL_HELP[command]!);
        return EXIT.ok;
      }
      return await body(() => connect(values, io.env), values, positionals);
    } catch (error) {
      return report(io, error);
    }
  };

  const get: Body = async (client, flags, positionals) => {
    const output = outputOf(flags, ["table", "json"]);
    const c = await client();
    const name = positionals[0];
    const render = async () => {
      if (name === undefined) {
        const apis = await c.list();
        return output === "json"
          ? JSON.stringify(apis, null, 2)
          : renderApiTable(apis, io);
      }
      const api = await c.get(name);
      return output === "json"
        ? JSON.stringify(api, null, 2)
        : renderApiDetail(api, io);
    };
    if (!flags.watch) {
      io.out(await render());
      return EXIT.ok;
    }
    const { signal, dispose } = io.interrupt();
    try {
      while (!signal.aborted) {
        const text = await render();
        io.out(io.isTty ? `\x1b[H\x1b[2J${text}` : `${text}\n`);
        await sleep(io.watchIntervalMs, signal);
      }
    } finally {
      dispose();
    }
    return EXIT.ok;
  };

  return {
    deploy: wrap("deploy", async (client, flags, positionals) => {
      const output = outputOf(flags, ["table", "json"]);
      const spec = await deploySpec(positionals[0] ?? ".");
      const results = await (await client()).deploy(spec);
      if (output === "json") json(results);
      else {
        for (const r of results) {
          io.out(
            r.action === "created"
              ? `creating ${r.name} (RealtimeAPI)`
              : r.action === "updated"
              ? `updating ${r.name} (RealtimeAPI)`
              : `${r.name} (RealtimeAPI) is up to date`,
          );
        }
        io.out('\nrun "cortex get" to check the status');
      }
      return EXIT.ok;
    }),
    get: wrap("get", get),
    list: wrap("list", (client, flags) => get(client, flags, [])),
    refresh: wrap("refresh", async (client, _flags, positionals) => {
      const name = nameOf("refresh", positionals);
      await (await client()).refresh(name);
      io.out(`refreshing ${name}`);
      return EXIT.ok;
    }),
    patch: wrap("patch", async (client, flags, positionals) => {
      const name = nameOf("patch", positionals);
      const output = outputOf(flags, ["table", "json"]);
      const changes = await readPatch(positionals[1], flags.set ?? []);
      const api = await (await client()).patch(name, changes);
      if (output === "json") json(api);
      else io.out(`patched ${name}\n\n${renderApiTable([api], io)}`);
      return EXIT.ok;
    }),
    delete: wrap("delete", async (client, _flags, positionals) => {
      const name = nameOf("delete", positionals);
      await (await client()).delete(name);
      io.out(`deleting ${name}`);
      return EXIT.ok;
    }),
    call: async (args) => {
      try {
        return await callCommand(io, args);
      } catch (error) {
        return report(io, error);
      }
    },
    logs: wrap("logs", async (client, flags, positionals) => {
      const name = nameOf("logs", positionals);
      const output = outputOf(flags, ["pretty", "json"]);
      const tail = flags.tail === undefined ? undefined : Number(flags.tail);
      if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) {
        throw new UsageError(
          `Option --tail is "${flags.tail}": expected an integer of 0 or more`,
        );
      }
      const c = await client();
      const { signal, dispose } = io.interrupt();
      try {
        for await (
          const line of c.logs(name, {
            signal,
            ...(tail === undefined ? {} : { tail }),
          })
        ) {
          io.out(
            output === "json" ? line : prettyLine(line, { color: io.color }),
          );
        }
      } finally {
        dispose();
      }
      return EXIT.ok;
    }),
  };
}

/** What `cortex deploy <path>` sends. */
export async function deploySpec(path: string): Promise<DeploySpec> {
  const info = await Deno.stat(path);
  if (info.isDirectory) return { projectDir: await Deno.realPath(path) };
  if (basename(path) === "cortex.yaml") {
    return { projectDir: await Deno.realPath(dirname(path)) };
  }
  return { yaml: await Deno.readTextFile(path), file: path };
}

function report(io: ControlIo, error: unknown): number {
  if (error instanceof UsageError) {
    io.err(`Error: ${error.message}`);
    return EXIT.usage;
  }
  if (error instanceof ConfigError) {
    io.err(error.message);
    return EXIT.usage;
  }
  if (error instanceof ControlError) {
    if (error.issues.length > 0) io.err(error.issues.join("\n"));
    else if (error.status === 0) {
      io.err(
        `Error: ${error.message}; is the server still running? (its state file may be stale)`,
      );
    } else io.err(`Error: ${error.message}`);
    return EXIT.failure;
  }
  if (
    error instanceof ServerNotFoundError ||
    error instanceof Deno.errors.NotFound
  ) {
    io.err(`Error: ${(error as Error).message}`);
    return EXIT.failure;
  }
  throw error;
}

/** The control commands on the real terminal, for the CLI dispatch. */
export const CONTROL_COMMANDS: Record<string, Command> =
  createControlCommands();

/** Descriptions for the CLI's command list. */
export const CONTROL_SUMMARY =
  `  deploy [path]        Deploy a project or API specs to the running server
  get [name]           Show APIs of the running server (-w to watch)
  list                 List APIs of the running server
  patch <name>         Change an API in place (--set autoscaling.max_replicas=4)
  refresh <name>       Restart an API's replicas without dropping requests
  delete <name>        Delete an API
  logs <name>          Follow an API's logs
  call <name> [path]   Send a request to an API (--data, --api-key)`;
