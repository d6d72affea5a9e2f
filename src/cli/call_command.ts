/**
 * `cortex call <name> [path]`: sends a request to an HTTP API of the running
 * server and prints the answer, with the API key from `--api-key` or
 * `CORTEX_API_KEY` for APIs with `networking.auth`. The server is found as
 * the control commands find it; the API's address comes from its status.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, CONNECT_FLAGS, CONNECT_HELP } from "./control_connect.ts";
import type { ControlIo } from "./control_io.ts";
import { UsageError } from "../wire/serve_options.ts";
import { EXIT } from "../wire/exit_codes.ts";

/** The variable `cortex call` reads the API key from. */
export const API_KEY_ENV = "CORTEX_API_KEY";

/** `cortex call --help`. */
export const CALL_HELP = `Usage: cortex call <name> [path] [options]

Sends a request to an HTTP API of the running server (at its endpoint, plus
path) and prints the response body; exits 1 when the status is 400 or more.

Options:
  -d, --data D          Request body: JSON or other text, or @file to send a
                        file (content-type application/json when it parses
                        as JSON, else text/plain, unless -H sets it)
  -X, --method M        HTTP method (default POST with --data, else GET)
  -H, --header H        A request header, "name: value" (repeatable)
  --api-key K           The API's key (networking.auth), sent as x-api-key
                        (default: env ${API_KEY_ENV})
  -i, --include         Print the status line and response headers first
${CONNECT_HELP}`;

const FLAGS = {
  ...CONNECT_FLAGS,
  data: { type: "string", short: "d" },
  method: { type: "string", short: "X" },
  header: { type: "string", short: "H", multiple: true },
  "api-key": { type: "string" },
  include: { type: "boolean", short: "i" },
  help: { type: "boolean", short: "h" },
} as const;

function headersOf(lines: string[]): Headers {
  const headers = new Headers();
  for (const line of lines) {
    const at = line.indexOf(":");
    if (at <= 0) {
      throw new UsageError(
        `Option --header is "${line}": expected "name: value"`,
      );
    }
    try {
      headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
    } catch {
      throw new UsageError(
        `Option --header is "${line}": not a valid header name or value`,
      );
    }
  }
  return headers;
}

async function bodyOf(data: string): Promise<string | Uint8Array> {
  if (!data.startsWith("@")) return data;
  const path = data.slice(1);
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw new UsageError(
      `Option --data is "@${path}": cannot read the file (${
        (error as Error).message
      })`,
    );
  }
}

function isJson(body: string | Uint8Array): boolean {
  try {
    JSON.parse(
      typeof body === "string" ? body : new TextDecoder().decode(body),
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `cortex call` (errors other than usage and connection are thrown for
 * the caller's reporting).
 */
export async function callCommand(
  io: ControlIo,
  args: string[],
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: FLAGS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(CALL_HELP);
    return EXIT.ok;
  }
  const name = positionals[0];
  if (!name) {
    throw new UsageError("Missing API name: usage: cortex call <name> [path]");
  }
  const path = positionals[1] ?? "";
  if (path !== "" && !path.startsWith("/")) {
    throw new UsageError(`Path "${path}" does not start with "/"`);
  }
  const headers = headersOf(values.header ?? []);
  const body = values.data === undefined
    ? undefined
    : await bodyOf(values.data);
  if (body !== undefined && !headers.has("content-type")) {
    headers.set(
      "content-type",
      isJson(body) ? "application/json" : "text/plain",
    );
  }
  const client = await connect(values, io.env);
  const res = await client.call(name, {
    path,
    ...(values.method ? { method: values.method.toUpperCase() } : {}),
    headers,
    ...(body === undefined ? {} : { body: body as BodyInit }),
    apiKey: values["api-key"] ?? io.env(API_KEY_ENV),
  });
  if (values.include) {
    io.out(`HTTP ${res.status} ${res.statusText}`.trimEnd());
    for (const [k, v] of res.headers) io.out(`${k}: ${v}`);
    io.out("");
  }
  const text = await res.text();
  if (text !== "") io.out(text.replace(/\n$/, ""));
  if (res.status >= 400) {
    const hint = res.status === 401
      ? `: the API needs a key (--api-key or ${API_KEY_ENV})`
      : "";
    io.err(`Error: API "${name}" answered ${res.status}${hint}`);
    return EXIT.failure;
  }
  return EXIT.ok;
}
