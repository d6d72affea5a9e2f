/**
 * The control API as a pure request handler: authentication, routing and
 * the operations (list, get, deploy, patch, refresh, delete, logs) over a
 * {@linkcode ControlTarget}. Calls from the network carry the token and may
 * do everything; calls a handler makes through `ctx.client` reach
 * {@linkcode createControlRouter} in-process with the calling API as
 * `caller` and are subject to its policy (src/control/policy.ts).
 *
 * Routes (over the network, all require `Authorization: Bearer <token>`):
 * - `GET /apis`: `{ apis: ApiDescription[] }`
 * - `POST /apis`: deploy `{ projectDir }` or `{ yaml, file? }` → `{ apis: DeployResult[] }`
 * - `GET /apis/<name>`: `ApiDescription`
 * - `PATCH /apis/<name>`: merge a partial spec → `ApiDescription`
 * - `POST /apis/<name>/refresh`: restart replicas
 * - `DELETE /apis/<name>`: delete
 * - `GET /apis/<name>/logs?tail=N`: server-sent events, one JSON log line each
 *
 * @module
 */

import { isAbsolutePath as isAbsolute } from "../path/posix_path.ts";
import type { ApiConfig, Project } from "../config/resolved_config.ts";
import { apiToSpec, applyPatch, configChange } from "./api_spec.ts";
import {
  type ApiDescription,
  ControlError,
  type DeployResult,
} from "./client.ts";
import type { ApiSnapshot, ControlTarget } from "./control_target.ts";
import { errorToResponse, fail, json, readJsonObject } from "./_http.ts";
import { lineMatchesApi } from "./log_tap.ts";
import { sseResponse } from "./sse.ts";
import { isAuthorized } from "./token.ts";
import {
  authorize,
  authorizeProjectDeploy,
  checkHandlerChange,
  type ControlCaller,
  redact,
} from "./policy.ts";

/**
 * The cortex.yaml loader, imported on first use: the YAML library costs ~40
 * ms to load, which the serving process should not pay at start-up.
 */
function configModule() {
  return import("../config/load_project.ts");
}

/** A handler of the control API. */
export type ControlHandler = (req: Request) => Promise<Response>;

/**
 * Answers a control request from `caller` (an API's handler, subject to its
 * policy) or from the operator (null: already authenticated). Never throws.
 */
export type ControlRouter = (
  req: Request,
  caller: ControlCaller | null,
) => Promise<Response>;

/**
 * Creates the in-process control router: no token, the caller decides what
 * is allowed.
 *
 * @param target The server (or a fake in tests).
 * @returns The router.
 */
export function createControlRouter(target: ControlTarget): ControlRouter {
  return async (req, caller) => {
    try {
      return await route(target, req, caller);
    } catch (error) {
      return errorToResponse(error);
    }
  };
}

/**
 * Creates the control API handler.
 *
 * @param target The server (or a fake in tests).
 * @param token The bearer token every request must carry.
 * @returns The handler; it never throws.
 *
 * @example In process
 * ```ts
 * import { createControlHandler } from "./control_routes.ts";
 * import { sampleTarget, TEST_TOKEN } from "./_testing.ts";
 *
 * const handle = createControlHandler(sampleTarget(), TEST_TOKEN);
 * const res = await handle(new Request("http://127.0.0.1/apis", {
 *   headers: { authorization: `Bearer ${TEST_TOKEN}` },
 * }));
 * if (res.status !== 200) throw new Error(await res.text());
 * await res.body?.cancel();
 * const refused = await handle(new Request("http://127.0.0.1/apis"));
 * if (refused.status !== 401) throw new Error(`${refused.status}`);
 * await refused.body?.cancel();
 * ```
 */
export function createControlHandler(
  target: ControlTarget,
  token: string,
): ControlHandler {
  const router = createControlRouter(target);
  return async (req) => {
    if (!isAuthorized(req, token)) {
      return fail(
        401,
        "Missing or invalid control token: send Authorization: Bearer <token>",
        {
          "www-authenticate": 'Bearer realm="cortex"',
        },
      );
    }
    return await router(req, null);
  };
}

async function route(
  target: ControlTarget,
  req: Request,
  caller: ControlCaller | null,
): Promise<Response> {
  const url = new URL(req.url);
  const parts = url.pathname.split("/").filter((p) => p !== "");
  if (parts[0] !== "apis" || parts.length > 3) {
    return fail(404, `No control operation at "${url.pathname}"`);
  }
  const show = (api: ApiDescription) => caller ? redact(api, caller) : api;
  if (parts.length === 1) {
    if (req.method === "GET") {
      return json(200, { apis: target.list().map(describe).map(show) });
    }
    if (req.method === "POST") return await deploy(target, req, caller);
    return notAllowed("GET, POST");
  }
  let name: string;
  try {
    name = decodeURIComponent(parts[1]!);
  } catch {
    return fail(400, `Cannot decode API name "${parts[1]}"`);
  }
  // at(): `string | undefined` with or without noUncheckedIndexedAccess
  // (a compiled project type-checks this module with its own options).
  const action = parts.at(2);
  if (action !== undefined && action !== "refresh" && action !== "logs") {
    return fail(404, `No control operation at "${url.pathname}"`);
  }
  const allowed = action === "refresh"
    ? "POST"
    : action === "logs"
    ? "GET"
    : "GET, PATCH, DELETE";
  if (!allowed.split(", ").includes(req.method)) return notAllowed(allowed);
  const op = action ?? req.method;
  // A denied call never touches anything (nor says whether the API exists).
  if (caller && op !== "GET") {
    authorize(
      caller,
      op === "PATCH" ? "patch" : op === "DELETE" ? "delete" : op as
        | "refresh"
        | "logs",
      name,
    );
  }
  const api = target.get(name);
  if (api === null) return fail(404, `No API named "${name}" is deployed`);
  switch (op) {
    case "GET":
      return json(200, show(describe(api)));
    case "PATCH": {
      const body = await readJsonObject(req);
      return json(200, show(await patch(target, api, body, caller)));
    }
    case "DELETE":
      await target.delete(name);
      return json(200, { name, action: "deleted" });
    case "refresh":
      await target.refresh(name);
      return json(202, { name, action: "refreshing" });
    default:
      return logs(target, name, req);
  }
}

function notAllowed(allow: string): Response {
  return fail(405, `Method not allowed: expected ${allow}`, { allow });
}

/** The wire form of a snapshot. */
export function describe(s: ApiSnapshot): ApiDescription {
  return {
    name: s.config.name,
    kind: s.config.kind,
    status: s.status,
    error: s.error,
    replicas: { ...s.replicas },
    inFlight: s.inFlight,
    queued: s.queued,
    restarts: s.restarts,
    endpoint: s.endpoint,
    spec: apiToSpec(s.config),
  };
}

async function deploy(
  target: ControlTarget,
  req: Request,
  caller: ControlCaller | null,
): Promise<Response> {
  const body = await readJsonObject(req);
  const net = target.netRules?.();
  let apis: ApiConfig[];
  let project: Project | null = null;
  if (typeof body.projectDir === "string") {
    if (caller) authorizeProjectDeploy(caller);
    if (!isAbsolute(body.projectDir)) {
      throw new ControlError(
        400,
        `Cannot deploy "${body.projectDir}": projectDir must be an absolute path`,
      );
    }
    const { loadProject } = await configModule();
    project = await loadProject(body.projectDir, { net });
    apis = project.apis;
  } else if (typeof body.yaml === "string") {
    const file = typeof body.file === "string" && body.file !== ""
      ? body.file
      : "cortex.yaml";
    const { parseApiConfigs } = await configModule();
    apis = parseApiConfigs(body.yaml, file, new Set(target.project().files), {
      net,
    });
  } else {
    throw new ControlError(
      400,
      'Cannot deploy: expected {"projectDir": "/abs/dir"} or {"yaml": "...", "file": "name"}',
    );
  }
  if (caller) {
    for (const api of apis) authorize(caller, "deploy", api.name);
    const running = target.list().map((s) => s.config);
    for (const api of apis) {
      const before = target.get(api.name)?.config ?? null;
      checkHandlerChange(caller, "deploy", before, api, [
        ...running,
        ...apis.filter((a) => a !== api),
      ]);
    }
  }
  for (const api of apis) {
    checkEndpoint(
      target,
      api,
      new Set(apis.map((a) => a.name)),
    );
  }
  const results: DeployResult[] = apis.map((api) => {
    const current = target.get(api.name);
    const action = current === null
      ? "created"
      : project === null && configChange(current.config, api) === "none"
      ? "unchanged"
      : "updated";
    return { name: api.name, action };
  });
  const changed = apis.filter((_, i) => results[i]!.action !== "unchanged");
  if (changed.length > 0) await target.deploy(changed, project);
  return json(changed.length > 0 ? 202 : 200, { apis: results });
}

/** An endpoint must not be taken by another API that stays deployed. */
function checkEndpoint(
  target: ControlTarget,
  api: ApiConfig,
  replaced: Set<string>,
): void {
  if (api.handler.protobufPath !== null) return;
  const other = target.list().find((s) =>
    !replaced.has(s.config.name) && s.config.handler.protobufPath === null &&
    s.config.networking.endpoint === api.networking.endpoint
  );
  if (other) {
    throw new ControlError(
      409,
      `Cannot deploy API "${api.name}": endpoint "${api.networking.endpoint}" is used by API "${other.config.name}"`,
    );
  }
}

async function patch(
  target: ControlTarget,
  api: ApiSnapshot,
  body: Record<string, unknown>,
  caller: ControlCaller | null,
): Promise<ApiDescription> {
  const { parseApiConfigs } = await configModule();
  const net = target.netRules?.();
  const next = applyPatch(
    api.config,
    body,
    target.project().files,
    (text, file, files) => parseApiConfigs(text, file, files, { net }),
  );
  if (caller) {
    const running = target.list().map((s) => s.config);
    checkHandlerChange(caller, "patch", api.config, next, running);
  }
  checkEndpoint(target, next, new Set([next.name]));
  if (configChange(api.config, next) !== "none") {
    await target.patch(next.name, next);
  }
  return describe(target.get(next.name) ?? { ...api, config: next });
}

function logs(target: ControlTarget, name: string, req: Request): Response {
  const tailParam = new URL(req.url).searchParams.get("tail");
  const tail = tailParam === null ? Infinity : Number(tailParam);
  if (!(tail === Infinity || (Number.isInteger(tail) && tail >= 0))) {
    throw new ControlError(
      400,
      `Parameter tail is "${tailParam}": expected an integer of 0 or more`,
    );
  }
  const history = (target.logs.recent?.() ?? []).filter((l) =>
    lineMatchesApi(l, name)
  );
  return sseResponse({
    initial: tail === Infinity ? history : history.slice(history.length - tail),
    subscribe: (fn) =>
      target.logs.subscribe((line) => lineMatchesApi(line, name) && fn(line)),
    signal: req.signal,
  });
}
