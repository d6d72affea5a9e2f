/**
 * What a handler may do through `ctx.client`: the per-API policy the runtime
 * applies to control calls that come from a replica (the `cortex` CLI, which
 * holds the token, is not subject to it).
 *
 * | call                              | default | granted by (`handler.control`) |
 * | --------------------------------- | ------- | ------------------------------ |
 * | `list`, `get` (env values hidden) | any API | (always)                       |
 * | see `handler.env` values          | none    | `read_env: [api]`              |
 * | `logs`                            | none    | `logs: [api]`                  |
 * | `patch`                           | none    | `patch: [api]`                 |
 * | `refresh`                         | none    | `refresh: [api]`               |
 * | `delete`                          | none    | `delete: [api]`                |
 * | `deploy` (by API name)            | none    | `deploy: [api]`                |
 * | `deploy` of a project directory   | none    | `deploy: ["*"]`                |
 *
 * `"*"` stands for every API. Whatever the grants, a handler cannot change
 * `handler.control` (its own or another API's), cannot put an API on a path
 * that overlaps the endpoint of an API it may not do the same to, and calls
 * other APIs by chaining (`fetch("http://api-<name>:8888/...")`), not here.
 *
 * @module
 */

import type {
  ApiConfig,
  ControlGrants,
  HandlerConfig,
} from "../config/resolved_config.ts";
import { type ApiDescription, ControlError } from "./client.ts";

/** An action that needs a grant. */
export type GatedAction =
  | "read_env"
  | "logs"
  | "patch"
  | "refresh"
  | "delete"
  | "deploy";

/** Every gated action, in the order `cortex get` shows them. */
export const GATED_ACTIONS: readonly GatedAction[] = [
  "read_env",
  "logs",
  "patch",
  "refresh",
  "delete",
  "deploy",
];

/** The `ControlGrants` field of each action (its cortex.yaml key is the action). */
const FIELD: Readonly<Record<GatedAction, keyof ControlGrants>> = {
  read_env: "readEnv",
  logs: "logs",
  patch: "patch",
  refresh: "refresh",
  delete: "delete",
  deploy: "deploy",
};

/** The API a control call comes from, and its grants. */
export interface ControlCaller {
  /** The calling API's name. */
  api: string;
  /** Its `handler.control` as the server runs it now. */
  grants: ControlGrants;
}

/** What replaces `handler.env` values a caller may not see. */
export const REDACTED = "<redacted>";

/** True when `grants` allow `action` on the API `target`. */
export function allows(
  grants: ControlGrants,
  action: GatedAction,
  target: string,
): boolean {
  const list = grants[FIELD[action]];
  return list.includes("*") || list.includes(target);
}

function what(action: GatedAction, target: string): string {
  switch (action) {
    case "read_env":
      return `see the handler.env values of API "${target}"`;
    case "logs":
      return `read the logs of API "${target}"`;
    default:
      return `${action} API "${target}"`;
  }
}

/** How to grant `action` on `target` to `caller`. */
function grantHint(caller: string, action: GatedAction, target: string) {
  const entry = target === "*" ? '"*"' : `"${target}" (or "*")`;
  return `add ${entry} to handler.control.${action} of API "${caller}" in cortex.yaml`;
}

/**
 * Checks that `caller` may do `action` to the API `target`.
 *
 * @throws {ControlError} 403 naming the caller, the action, the target and
 *   the cortex.yaml key that would allow it.
 */
export function authorize(
  caller: ControlCaller,
  action: GatedAction,
  target: string,
): void {
  if (allows(caller.grants, action, target)) return;
  throw new ControlError(
    403,
    `API "${caller.api}" may not ${what(action, target)}: ${
      grantHint(caller.api, action, target)
    }`,
  );
}

/**
 * Checks that `caller` may deploy a whole project directory, which reloads
 * the code, files and `.env` of every API.
 *
 * @throws {ControlError} 403 unless it may deploy every API ("*").
 */
export function authorizeProjectDeploy(caller: ControlCaller): void {
  if (caller.grants.deploy.includes("*")) return;
  throw new ControlError(
    403,
    `API "${caller.api}" may not deploy the project directory (it reloads every API): ${
      grantHint(caller.api, "deploy", "*")
    }`,
  );
}

/**
 * Hides the `handler.env` values of an API description from a caller that
 * may not see them (the names stay). Returns `api` itself when nothing is
 * hidden.
 */
export function redact(
  api: ApiDescription,
  caller: ControlCaller,
): ApiDescription {
  if (allows(caller.grants, "read_env", api.name)) return api;
  const handler = api.spec.handler as Record<string, unknown> | undefined;
  const env = handler?.env as Record<string, unknown> | undefined;
  if (!env || Object.keys(env).length === 0) return api;
  return {
    ...api,
    spec: {
      ...api.spec,
      handler: {
        ...handler,
        env: Object.fromEntries(Object.keys(env).map((k) => [k, REDACTED])),
      },
    },
  };
}

function sameGrants(a: ControlGrants, b: ControlGrants): boolean {
  return GATED_ACTIONS.every((action) => {
    const x = [...a[FIELD[action]]].sort();
    const y = [...b[FIELD[action]]].sort();
    return x.length === y.length && x.every((v, i) => v === y[i]);
  });
}

/** True when one endpoint is the other or lies below it. */
export function endpointsOverlap(a: string, b: string): boolean {
  const below = (x: string, y: string) =>
    x === y || y === "/" || x.startsWith(y + "/");
  return below(a, b) || below(b, a);
}

/** An API the server runs now, as the checks below need it. */
export interface RunningApi {
  name: string;
  handler: Pick<HandlerConfig, "protobufPath">;
  networking: { endpoint: string };
}

/**
 * What a handler may not change even on an API it may patch or deploy:
 * `handler.control`, the redaction placeholder as an env value, and an
 * endpoint that overlaps another API's unless it may do the same to that one.
 *
 * @param caller The calling API.
 * @param action "patch" or "deploy".
 * @param before The API as it runs (null: a new API).
 * @param after The API as the call would leave it.
 * @param running Every API the server runs now.
 * @throws {ControlError} 403 (or 400 for the placeholder).
 */
export function checkHandlerChange(
  caller: ControlCaller,
  action: "patch" | "deploy",
  before: ApiConfig | null,
  after: ApiConfig,
  running: readonly RunningApi[],
): void {
  const grantsBefore = before?.handler.control;
  const unchanged = grantsBefore
    ? sameGrants(grantsBefore, after.handler.control)
    : GATED_ACTIONS.every((a) => after.handler.control[FIELD[a]].length === 0);
  if (!unchanged) {
    throw new ControlError(
      403,
      `API "${caller.api}" may not change handler.control of API "${after.name}": grants are given by the operator only (cortex.yaml, or cortex patch/deploy with the control token)`,
    );
  }
  for (const [name, value] of Object.entries(after.handler.env)) {
    if (value === REDACTED && before?.handler.env[name] !== REDACTED) {
      throw new ControlError(
        400,
        `Cannot ${action} API "${after.name}": handler.env.${name} is the placeholder "${REDACTED}" from a redacted answer; send the real value or leave the variable out`,
      );
    }
  }
  if (after.handler.protobufPath !== null) return;
  const endpoint = after.networking.endpoint;
  if (before !== null && before.networking.endpoint === endpoint) return;
  for (const other of running) {
    if (other.name === after.name || other.handler.protobufPath !== null) {
      continue;
    }
    const theirs = other.networking.endpoint;
    if (!endpointsOverlap(endpoint, theirs)) continue;
    if (allows(caller.grants, action, other.name)) continue;
    throw new ControlError(
      403,
      `API "${caller.api}" may not ${action} API "${after.name}" on "${endpoint}": it overlaps the endpoint "${theirs}" of API "${other.name}"; ${
        grantHint(caller.api, action, other.name)
      }`,
    );
  }
}

/**
 * The grants in cortex.yaml form (`read_env`, `logs`, ...), every key
 * present: what `cortex get -o json` shows as `spec.handler.control`.
 */
export function grantsToSpec(
  grants: ControlGrants,
): Record<GatedAction, string[]> {
  return Object.fromEntries(
    GATED_ACTIONS.map((a) => [a, [...grants[FIELD[a]]]]),
  ) as Record<GatedAction, string[]>;
}
