/**
 * Parses and validates the text of a cortex.yaml: a list of APIs or a single
 * API mapping. Pure: the project's files are passed in.
 *
 * @module
 */

import { type ReadApi, readApi, validName } from "./api_config.ts";
import { IssueList } from "./config_error.ts";
import { describe } from "./field_reader.ts";
import type { NetRules } from "./net_rules.ts";
import type { ApiConfig } from "./resolved_config.ts";
import { parseYaml, type YamlMap } from "./yaml_tree.ts";

/** Options of {@linkcode parseApiConfigs} and `loadProject`. */
export interface ParseOptions {
  /** The rules of the server that will run the APIs. */
  net?: NetRules;
}

/**
 * Parses cortex.yaml text into resolved API configurations.
 *
 * @param text The YAML text.
 * @param file The file name to use in messages, as the user gave it.
 * @param projectFiles Files of the project (relative POSIX paths), to check
 *   `handler.path` and `handler.protobuf_path`.
 * @param options `net`: the rules of the server that will run the APIs
 *   (loopback and its own ports in `handler.allow_net`); without them only
 *   the form of each entry is checked.
 * @returns One configuration per API, in file order.
 * @throws {ConfigError} With every issue found, each with its line.
 */
export function parseApiConfigs(
  text: string,
  file: string,
  projectFiles: Set<string>,
  options: ParseOptions = {},
): ApiConfig[] {
  const issues = new IssueList(file);
  const root = parseYaml(text, file);
  if (root === null) {
    issues.add(
      0,
      "",
      "the file is empty: expected a list of APIs, or one API as a mapping",
    );
    issues.throwIfAny();
  }
  const entries = root?.kind === "seq" ? root.items : root ? [root] : [];
  if (root?.kind === "scalar") {
    issues.add(
      root.line,
      "",
      `the file holds ${
        describe(root)
      }: expected a list of APIs, or one API as a mapping`,
    );
  } else if (entries.length === 0) {
    issues.add(
      root?.line ?? 0,
      "",
      "the list of APIs is empty: expected at least one API",
    );
  }
  const maps: YamlMap[] = [];
  entries.forEach((entry, i) => {
    if (entry.kind === "map") maps.push(entry);
    else if (root?.kind === "seq") {
      issues.add(
        entry.line,
        "",
        `api #${i + 1} is ${describe(entry)}: expected a mapping`,
      );
    }
  });
  issues.throwIfAny();

  const multi = maps.length > 1;
  const apis = maps.map((map, i) => {
    const name = validName(map);
    const prefix = !multi
      ? ""
      : name !== null
      ? `api "${name}": `
      : `api #${i + 1}: `;
    return {
      ...readApi(map, {
        issues,
        prefix,
        files: projectFiles,
        net: options.net,
      }),
      prefix,
    };
  });
  checkUnique(apis, issues);
  issues.throwIfAny();
  return apis.map((a) => a.api);
}

/** Names and endpoints must differ between APIs. */
function checkUnique(
  apis: (ReadApi & { prefix: string })[],
  issues: IssueList,
): void {
  const names = new Map<string, ApiConfig>();
  const endpoints = new Map<string, ApiConfig>();
  for (const { api, prefix, nameLine, endpointLine } of apis) {
    const sameName = names.get(api.name);
    if (api.name !== "" && sameName !== undefined) {
      issues.add(
        nameLine,
        "name",
        `${prefix}name is "${api.name}": another API uses that name (line ${sameName.line})`,
      );
      continue;
    }
    names.set(api.name, api);
    const endpoint = api.networking.endpoint;
    const sameEndpoint = endpoints.get(endpoint);
    if (api.name !== "" && sameEndpoint !== undefined) {
      issues.add(
        endpointLine,
        "networking.endpoint",
        `${prefix}networking.endpoint is "${endpoint}": API "${sameEndpoint.name}" already uses it (line ${sameEndpoint.line})`,
      );
    }
    endpoints.set(endpoint, api);
  }
}
