/**
 * The one module that imports the `yaml` package for the deploy code. The rest
 * of `src/deploy/` sees only these functions.
 *
 * @module
 */
// @ts-types="../vendor/yaml/dist/index.d.ts"
import { parse, parseAllDocuments, stringify } from "../vendor/yaml/yaml.mjs";

/**
 * Serialises a value as one YAML document.
 *
 * Long strings are never folded, and strings that YAML would read as another
 * type (`"2"`, `"true"`) are quoted, and objects used twice are written out
 * twice rather than as anchors and aliases, so that Kubernetes receives strings where
 * it expects them (annotations, quantities).
 *
 * @param value A JSON-compatible value.
 * @returns The YAML text, ending with a newline.
 */
export function toYaml(value: unknown): string {
  return stringify(value, {
    aliasDuplicateObjects: false,
    lineWidth: 0,
    minContentWidth: 0,
  });
}

/**
 * Parses one YAML document.
 *
 * @param text YAML text with a single document.
 * @returns The parsed value.
 * @throws {SyntaxError} When the text is not valid YAML.
 */
export function fromYaml(text: string): unknown {
  try {
    return parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot parse YAML: ${message(error)}`);
  }
}

/**
 * Parses a multi-document YAML stream (documents separated by `---`).
 *
 * @param text YAML text with any number of documents.
 * @returns One value per document, in order.
 * @throws {SyntaxError} When a document is not valid YAML.
 */
export function fromYamlAll(text: string): unknown[] {
  return parseAllDocuments(text).map((doc) => {
    const [error] = doc.errors;
    if (error) throw new SyntaxError(`Cannot parse YAML: ${error.message}`);
    return doc.toJS();
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
