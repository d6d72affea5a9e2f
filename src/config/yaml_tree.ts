/**
 * The only module that imports `yaml`. It turns a YAML document into a small
 * tree of our own where every node knows its 1-based line, so validation can
 * point at the exact line of a bad value.
 *
 * @module
 */

// @ts-types="../vendor/yaml/dist/index.d.ts"
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YNode,
  parseDocument,
} from "../vendor/yaml/yaml.mjs";
import { ConfigError, type ConfigIssue } from "./config_error.ts";

/** A scalar as the YAML 1.2 core schema reads it. */
export type YamlScalarValue = string | number | boolean | null;

/** A mapping entry; `line` is the line of the key. */
export interface YamlEntry {
  key: string;
  line: number;
  value: YamlNode;
}

/** A YAML mapping, entries in document order. */
export interface YamlMap {
  kind: "map";
  line: number;
  entries: YamlEntry[];
}

/** A YAML sequence. */
export interface YamlSeq {
  kind: "seq";
  line: number;
  items: YamlNode[];
}

/** A YAML scalar. */
export interface YamlScalar {
  kind: "scalar";
  line: number;
  value: YamlScalarValue;
}

/** Any node of the tree. */
export type YamlNode = YamlMap | YamlSeq | YamlScalar;

// Aliases can make a document refer to itself; nothing sane is this deep.
const MAX_DEPTH = 64;

/**
 * Parses one YAML document. Returns null for an empty document and throws a
 * ConfigError (one issue per syntax error, with its line) for invalid YAML.
 */
export function parseYaml(text: string, file: string): YamlNode | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const issues: ConfigIssue[] = doc.errors.map((e) => ({
      file,
      line: e.linePos?.[0].line ?? lineCounter.linePos(e.pos[0]).line,
      field: "",
      message: `invalid YAML: ${firstLine(e.message)}`,
    }));
    throw new ConfigError(issues);
  }
  const lineOf = (offset: number | undefined, fallback: number) =>
    offset === undefined ? fallback : lineCounter.linePos(offset).line;

  const convert = (
    node: unknown,
    fallback: number,
    depth: number,
  ): YamlNode => {
    if (depth > MAX_DEPTH) {
      throw new ConfigError([{
        file,
        line: fallback,
        field: "",
        message: `invalid YAML: nesting is deeper than ${MAX_DEPTH} levels`,
      }]);
    }
    if (node === null || node === undefined) {
      return { kind: "scalar", line: fallback, value: null };
    }
    const line = lineOf((node as YNode).range?.[0], fallback);
    if (isAlias(node)) {
      const target = node.resolve(doc);
      const resolved = convert(target, line, depth + 1);
      return { ...resolved, line };
    }
    if (isMap(node)) {
      const entries: YamlEntry[] = [];
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        const keyLine = lineOf((key as YNode | null)?.range?.[0], line);
        entries.push({
          key: keyText(key),
          line: keyLine,
          value: convert(pair.value, keyLine, depth + 1),
        });
      }
      return { kind: "map", line, entries };
    }
    if (isSeq(node)) {
      const items = node.items.map((item) => convert(item, line, depth + 1));
      return { kind: "seq", line, items };
    }
    if (isScalar(node)) {
      return { kind: "scalar", line, value: scalarValue(node.value) };
    }
    return { kind: "scalar", line, value: String(node) };
  };

  if (doc.contents === null) return null;
  const root = convert(doc.contents, 1, 0);
  if (root.kind === "scalar" && root.value === null) return null;
  return root;
}

/** Converts a node to plain JavaScript values (for `handler.config`). */
export function toPlain(node: YamlNode): unknown {
  switch (node.kind) {
    case "scalar":
      return node.value;
    case "seq":
      return node.items.map(toPlain);
    case "map": {
      const out: Record<string, unknown> = {};
      for (const entry of node.entries) {
        // defineProperty, so a "__proto__" key stays a plain key.
        Object.defineProperty(out, entry.key, {
          value: toPlain(entry.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  if (key === null || key === undefined) return "";
  return String(key);
}

function scalarValue(value: unknown): YamlScalarValue {
  if (
    value === null || typeof value === "string" ||
    typeof value === "number" || typeof value === "boolean"
  ) {
    return value;
  }
  if (typeof value === "bigint") return Number(value);
  return String(value);
}

function firstLine(message: string): string {
  const line = message.split("\n")[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, "").replace(/[.:]$/, "");
}
