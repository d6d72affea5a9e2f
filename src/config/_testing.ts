/**
 * Helpers for the cortex.yaml validation tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseApiConfigs } from "./parse_api_configs.ts";
import type { NetRules } from "./net_rules.ts";
import type { ApiConfig } from "./resolved_config.ts";

/** The project files every table test sees. */
export const FILES: Set<string> = new Set([
  "handler.ts",
  "src/handler.mjs",
  "api.proto",
  "values.json",
]);

/** One row of a validation table. */
export interface Case {
  name: string;
  yaml: string;
  /** Picks the value under test from the first API. */
  get?: (api: ApiConfig) => unknown;
  want?: unknown;
  /** Every expected formatted issue line, in order. */
  wantErr?: string[];
  /** The server's allow_net rules (default: none, only the form is checked). */
  net?: NetRules;
}

/** The formatted issue lines of a config that must fail. */
export function errorLines(yaml: string, net?: NetRules): string[] {
  try {
    parseApiConfigs(yaml, "cortex.yaml", FILES, { net });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    return error.message.split("\n");
  }
  assert.fail("expected a ConfigError");
}

/** Runs a table of cases as test steps. */
export async function runCases(t: Deno.TestContext, cases: Case[]) {
  for (const c of cases) {
    await t.step(c.name, () => {
      if (c.wantErr !== undefined) {
        assert.deepEqual(errorLines(c.yaml, c.net), c.wantErr);
        return;
      }
      const apis = parseApiConfigs(c.yaml, "cortex.yaml", FILES, {
        net: c.net,
      });
      const api = apis[0];
      assert.ok(api !== undefined);
      assert.ok(c.get !== undefined, "a case needs get/want or wantErr");
      assert.deepEqual(c.get(api), c.want);
    });
  }
}
