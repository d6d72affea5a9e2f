/**
 * Validation of one API entry of cortex.yaml, section by section.
 *
 * @module
 */

import { readAutoscaling } from "./autoscaling_config.ts";
import type { IssueList } from "./config_error.ts";
import { FieldReader } from "./field_reader.ts";
import { checkBatchingFits, readHandler } from "./handler_config.ts";
import { readAuth, readCors, readRateLimit } from "./edge_config.ts";
import type { NetRules } from "./net_rules.ts";
import { isApiName, MAX_API_NAME_LENGTH } from "./value_checks.ts";
import { parseQuantity } from "./quantity.ts";
import type {
  ApiConfig,
  ComputeConfig,
  NetworkingConfig,
  UpdateStrategyConfig,
} from "./resolved_config.ts";
import type { YamlMap } from "./yaml_tree.ts";

const API_KEYS = [
  "name",
  "kind",
  "handler",
  "compute",
  "autoscaling",
  "update_strategy",
  "networking",
] as const;

const NAME_HINT =
  `must be a lower-case DNS label: a-z, 0-9 and "-", starting with a letter, not ending with "-", at most ${MAX_API_NAME_LENGTH} characters`;

/** Paths the server itself answers on. */
export const RESERVED_ENDPOINTS = ["/healthz", "/metrics"] as const;

/** Returns the API name when it is valid, for use in messages. */
export function validName(map: YamlMap): string | null {
  const value = map.entries.find((e) => e.key === "name")?.value;
  if (value?.kind !== "scalar" || typeof value.value !== "string") return null;
  return isValidName(value.value) ? value.value : null;
}

const isValidName = isApiName;

/** An API with the lines of the fields that must be unique in the file. */
export interface ReadApi {
  api: ApiConfig;
  nameLine: number;
  endpointLine: number;
}

/** Reads one API; every problem is recorded in `issues`. */
export function readApi(
  map: YamlMap,
  options: {
    issues: IssueList;
    prefix: string;
    files: ReadonlySet<string>;
    /** The server's `allow_net` rules, when a server will run the API. */
    net?: NetRules;
  },
): ReadApi {
  const r = new FieldReader(map, { path: "", line: map.line }, options);
  r.checkKeys(API_KEYS);
  let name = "";
  if (r.require("name", NAME_HINT.replace("must be", "expected"))) {
    const value = r.string("name");
    if (value !== undefined && !isValidName(value)) {
      r.reject("name", r.node("name")!, NAME_HINT);
    } else if (value !== undefined) {
      name = value;
    }
  }
  const kind = r.string("kind");
  if (kind !== undefined && kind !== "RealtimeAPI") {
    r.reject("kind", r.node("kind")!, 'this runtime serves only "RealtimeAPI"');
  }
  const handlerSection = r.section("handler");
  const handler = readHandler(handlerSection, options.files, options.net);
  const networking = r.section("networking");
  const api: ApiConfig = {
    name,
    kind: "RealtimeAPI",
    handler,
    compute: readCompute(r.section("compute")),
    autoscaling: readAutoscaling(
      r.section("autoscaling"),
      handler.processesPerReplica * handler.threadsPerProcess,
    ),
    updateStrategy: readUpdateStrategy(r.section("update_strategy")),
    networking: readNetworking(networking, name, options.files),
    line: map.line,
  };
  checkBatchingFits(
    handlerSection,
    handler.serverSideBatching,
    api.autoscaling.maxReplicaConcurrency,
  );
  return {
    api,
    nameLine: r.lineOf("name"),
    endpointLine: networking.lineOf("endpoint"),
  };
}

function readCompute(r: FieldReader): ComputeConfig {
  r.checkKeys(["cpu", "mem", "gpu"]);
  return {
    cpu: readQuantity(r, "cpu") ?? "200m",
    mem: readQuantity(r, "mem") ?? null,
    gpu: r.integer("gpu", { min: 0 }) ?? 0,
  };
}

function readQuantity(r: FieldReader, key: string): string | undefined {
  const node = r.node(key);
  if (node === undefined) return undefined;
  const raw = node.kind === "scalar" ? node.value : null;
  const text = typeof raw === "number" ? String(raw) : raw;
  if (typeof text === "string" && parseQuantity(text) !== null) return text;
  r.reject(
    key,
    node,
    'expected a Kubernetes quantity such as "500m", "1" or "512Mi"',
  );
  return undefined;
}

function readUpdateStrategy(r: FieldReader): UpdateStrategyConfig {
  r.checkKeys(["max_surge", "max_unavailable"]);
  const maxSurge = readSurge(r, "max_surge", Infinity);
  const maxUnavailable = readSurge(r, "max_unavailable", 100);
  const isZero = (v: string) => Number.parseFloat(v) === 0;
  if (
    maxSurge !== undefined && maxUnavailable !== undefined &&
    isZero(maxSurge) && isZero(maxUnavailable)
  ) {
    const key = r.has("max_unavailable") ? "max_unavailable" : "max_surge";
    r.reject(
      key,
      r.node(key)!,
      "max_surge and max_unavailable cannot both be 0, or an update could never make progress",
    );
  }
  return {
    maxSurge: maxSurge ?? "25%",
    maxUnavailable: maxUnavailable ?? "25%",
  };
}

/** An integer >= 0 or a percentage "N%"; returned as written. */
function readSurge(
  r: FieldReader,
  key: string,
  maxPercent: number,
): string | undefined {
  const node = r.node(key);
  if (node === undefined) return "25%";
  const raw = node.kind === "scalar" ? node.value : null;
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) {
    return String(raw);
  }
  const match = typeof raw === "string" ? /^(\d+)%$/.exec(raw) : null;
  if (match === null) {
    r.reject(
      key,
      node,
      'expected an integer (0 or more) or a percentage such as "25%"',
    );
    return undefined;
  }
  if (Number(match[1]) > maxPercent) {
    r.reject(key, node, `must be at most ${maxPercent}%`);
    return undefined;
  }
  return `${Number(match[1])}%`;
}

function readNetworking(
  r: FieldReader,
  name: string,
  files: ReadonlySet<string>,
): NetworkingConfig {
  r.checkKeys(["endpoint", "cors", "auth", "rate_limit"]);
  const edge: Omit<NetworkingConfig, "endpoint"> = {};
  const cors = readCors(r);
  if (cors !== undefined) edge.cors = cors;
  const auth = readAuth(r, files);
  if (auth !== undefined) edge.auth = auth;
  const rateLimit = readRateLimit(r, auth);
  if (rateLimit !== undefined) edge.rateLimit = rateLimit;
  return { ...readEndpoint(r, name), ...edge };
}

function readEndpoint(r: FieldReader, name: string): NetworkingConfig {
  const endpoint = r.string("endpoint");
  if (endpoint === undefined) return { endpoint: `/${name}` };
  const node = r.node("endpoint")!;
  if (!endpoint.startsWith("/")) {
    r.reject("endpoint", node, 'must start with "/"');
    return { endpoint: `/${name}` };
  }
  if (/[\s?#]/.test(endpoint) || endpoint.includes("//")) {
    r.reject(
      "endpoint",
      node,
      'must be a URL path without spaces, "?", "#" or "//"',
    );
    return { endpoint: `/${name}` };
  }
  const normal = endpoint.length > 1 ? endpoint.replace(/\/+$/, "") : endpoint;
  const reserved = RESERVED_ENDPOINTS.find((p) =>
    normal === p || normal.startsWith(`${p}/`)
  );
  if (reserved !== undefined) {
    r.reject("endpoint", node, `"${reserved}" is reserved for the server`);
  }
  return { endpoint: normal };
}
