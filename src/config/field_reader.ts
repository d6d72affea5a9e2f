/**
 * Reads typed fields out of one YAML mapping of cortex.yaml, recording an
 * issue (file, line, field, message) for every value that is missing, of the
 * wrong type or out of range. Getters return undefined for both "unset" and
 * "invalid", so callers apply their default and carry on: all issues of a file
 * are reported together.
 *
 * @module
 */

import type { IssueList } from "./config_error.ts";
import { closest } from "./did_you_mean.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import type { YamlMap, YamlNode, YamlSeq } from "./yaml_tree.ts";

/** Numeric limits; each one that is set is checked. */
export interface Bounds {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Exclusive upper bound. */
  below?: number;
}

/** Where a reader sits in the file and where its issues go. */
export interface ReaderContext {
  issues: IssueList;
  /** Prepended to every message, e.g. `api "iris": ` (or ""). */
  prefix: string;
}

const DURATION_HINT =
  'expected a duration such as "30s", "1m30s" or "500ms", or an integer number of seconds';

/** Describes a value for a message: `"ten"`, `0`, `a list`, `a mapping`. */
export function describe(node: YamlNode): string {
  if (node.kind === "map") return "a mapping";
  if (node.kind === "seq") return "a list";
  if (typeof node.value !== "string") return String(node.value);
  const text = node.value.length > 60
    ? `${node.value.slice(0, 57)}...`
    : node.value;
  return JSON.stringify(text);
}

/** Typed access to the fields of one mapping (a "section"). */
export class FieldReader {
  readonly map: YamlMap | null;
  readonly path: string;
  readonly line: number;
  readonly #ctx: ReaderContext;
  readonly #failed = new Set<string>();

  constructor(
    map: YamlMap | null,
    where: { path: string; line: number },
    ctx: ReaderContext,
  ) {
    this.map = map;
    this.path = where.path;
    this.line = where.line;
    this.#ctx = ctx;
  }

  /** The dotted field path of `key` in this section. */
  field(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }

  /** The value of `key`; an explicit YAML null counts as unset. */
  node(key: string): YamlNode | undefined {
    const entry = this.map?.entries.find((e) => e.key === key);
    if (entry === undefined) return undefined;
    const value = entry.value;
    return value.kind === "scalar" && value.value === null ? undefined : value;
  }

  /** True when `key` is present (and not null). */
  has(key: string): boolean {
    return this.node(key) !== undefined;
  }

  /** True when no issue was recorded for `key`. */
  ok(key: string): boolean {
    return !this.#failed.has(key);
  }

  /** Line of the value of `key`, or of this section when it is unset. */
  lineOf(key: string): number {
    return this.node(key)?.line ?? this.line;
  }

  /** Records `<field> <text>` at the line of `key`. */
  fail(key: string, text: string, line = this.lineOf(key)): void {
    this.#failed.add(key);
    const field = this.field(key);
    this.#ctx.issues.add(line, field, `${this.#ctx.prefix}${field} ${text}`);
  }

  /** Records `<field> is <value>: <text>` for the value of `key`. */
  reject(key: string, node: YamlNode, text: string): void {
    this.fail(key, `is ${describe(node)}: ${text}`, node.line);
  }

  /** Reports every key that is not in `allowed`, with a suggestion. */
  checkKeys(allowed: readonly string[]): void {
    for (const entry of this.map?.entries ?? []) {
      if (allowed.includes(entry.key)) continue;
      const guess = closest(entry.key, allowed);
      const hint = guess === null
        ? `expected one of ${allowed.map((k) => `"${k}"`).join(", ")}`
        : `did you mean "${guess}"?`;
      this.fail(entry.key, `is not a known field: ${hint}`, entry.line);
    }
  }

  /** Reports `key` as missing when it is unset; returns whether it is set. */
  require(key: string, expected: string): boolean {
    if (this.has(key)) return true;
    this.fail(key, `is missing: ${expected}`);
    return false;
  }

  string(key: string): string | undefined {
    const node = this.node(key);
    if (node === undefined) return undefined;
    if (node.kind === "scalar" && typeof node.value === "string") {
      return node.value;
    }
    this.reject(key, node, "expected a string");
    return undefined;
  }

  boolean(key: string): boolean | undefined {
    const node = this.node(key);
    if (node === undefined) return undefined;
    if (node.kind === "scalar" && typeof node.value === "boolean") {
      return node.value;
    }
    this.reject(key, node, "expected true or false");
    return undefined;
  }

  number(key: string, bounds: Bounds = {}): number | undefined {
    return this.#numeric(key, bounds, false);
  }

  integer(key: string, bounds: Bounds = {}): number | undefined {
    return this.#numeric(key, bounds, true);
  }

  /** A duration in milliseconds; bounds are in milliseconds too. */
  duration(key: string, bounds: Bounds = {}): number | undefined {
    const node = this.node(key);
    if (node === undefined) return undefined;
    const raw = node.kind === "scalar" ? node.value : null;
    const ms = typeof raw === "string" || typeof raw === "number"
      ? parseDuration(raw)
      : null;
    if (ms === null) {
      this.reject(key, node, DURATION_HINT);
      return undefined;
    }
    return this.#bounded(key, node, ms, bounds, formatDuration);
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const node = this.node(key);
    const text = this.string(key);
    if (text === undefined || node === undefined) return undefined;
    if ((values as readonly string[]).includes(text)) return text as T;
    this.reject(
      key,
      node,
      `expected one of ${values.map((v) => `"${v}"`).join(", ")}`,
    );
    return undefined;
  }

  /** A nested mapping; unset or invalid gives an empty section. */
  section(key: string): FieldReader {
    const node = this.node(key);
    let map: YamlMap | null = null;
    if (node?.kind === "map") map = node;
    else if (node !== undefined) this.reject(key, node, "expected a mapping");
    const line = this.map?.entries.find((e) => e.key === key)?.line ??
      this.line;
    return new FieldReader(map, { path: this.field(key), line }, this.#ctx);
  }

  /**
   * The mapping at `key[index]` of a list (`paths[0].name` in messages); not
   * a mapping gives an empty section, with an issue.
   */
  item(key: string, index: number): FieldReader {
    const node = this.node(key);
    const item = node?.kind === "seq" ? node.items[index] : undefined;
    let map: YamlMap | null = null;
    if (item?.kind === "map") map = item;
    else if (item !== undefined) {
      this.reject(`${key}[${index}]`, item, "expected a mapping");
    }
    return new FieldReader(map, {
      path: this.field(`${key}[${index}]`),
      line: item?.line ?? this.line,
    }, this.#ctx);
  }

  /** A YAML list, or undefined (with an issue when it is something else). */
  list(key: string): YamlSeq | undefined {
    const node = this.node(key);
    if (node === undefined || node.kind === "seq") return node;
    this.reject(key, node, "expected a list");
    return undefined;
  }

  #numeric(key: string, bounds: Bounds, integer: boolean): number | undefined {
    const node = this.node(key);
    if (node === undefined) return undefined;
    const value = node.kind === "scalar" ? node.value : null;
    if (
      typeof value !== "number" || !Number.isFinite(value) ||
      (integer && !Number.isInteger(value))
    ) {
      this.reject(
        key,
        node,
        integer ? "expected an integer" : "expected a number",
      );
      return undefined;
    }
    return this.#bounded(key, node, value, bounds, String);
  }

  #bounded(
    key: string,
    node: YamlNode,
    value: number,
    bounds: Bounds,
    show: (n: number) => string,
  ): number | undefined {
    let problem: string | null = null;
    if (bounds.min !== undefined && value < bounds.min) {
      problem = `must be at least ${show(bounds.min)}`;
    } else if (bounds.above !== undefined && value <= bounds.above) {
      problem = `must be greater than ${show(bounds.above)}`;
    } else if (bounds.max !== undefined && value > bounds.max) {
      problem = `must be at most ${show(bounds.max)}`;
    } else if (bounds.below !== undefined && value >= bounds.below) {
      problem = `must be less than ${show(bounds.below)}`;
    }
    if (problem === null) return value;
    this.reject(key, node, problem);
    return undefined;
  }
}
