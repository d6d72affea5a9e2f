/**
 * Writing generated manifests: one multi-document YAML stream, or one file
 * per object.
 *
 * @module
 */
import { toYaml } from "./_yaml.ts";
import type { KubeObject } from "./_meta.ts";

export type { KubeObject } from "./_meta.ts";

/**
 * Renders objects as one multi-document YAML stream, for `kubectl apply -f -`.
 *
 * @param objs The objects, in the order they should be applied.
 * @param comments YAML comment lines to write above an object.
 * @returns The documents separated by `---` lines; "" when `objs` is empty.
 *
 * @example
 * ```ts
 * import { renderManifests } from "./manifests.ts";
 * const yaml = renderManifests([{ apiVersion: "v1", kind: "Namespace" }]);
 * if (!yaml.startsWith("apiVersion: v1")) throw new Error("unexpected");
 * ```
 */
export function renderManifests(
  objs: readonly object[],
  comments: (obj: object) => string[] = () => [],
): string {
  return objs.map((obj) => commented(comments(obj)) + toYaml(obj)).join(
    "---\n",
  );
}

/** Lines as YAML comments (each `# ` + line), or "" for none. */
function commented(lines: string[]): string {
  return lines.map((line) => `# ${line.replaceAll("\n", " ")}\n`).join("");
}

/**
 * The file name of an object: `<kind>-<name>.yaml`, lowercase kind
 * (`deployment-api-iris.yaml`).
 */
export function manifestFileName(obj: KubeObject): string {
  return `${obj.kind.toLowerCase()}-${obj.metadata.name}.yaml`;
}

/**
 * Writes one YAML file per object into `dir`, creating `dir` when needed.
 *
 * @param objs The objects to write.
 * @param dir The output directory.
 * @param comments YAML comment lines to write at the top of an object's file.
 * @returns The paths written, in the order of `objs`.
 * @throws {TypeError} When two objects would get the same file name (for
 *   example a Knative and a Kubernetes Service of the same API): write the two
 *   sets to different directories.
 */
export async function writeManifests(
  objs: readonly KubeObject[],
  dir: string,
  comments: (obj: KubeObject) => string[] = () => [],
): Promise<string[]> {
  const names = objs.map(manifestFileName);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new TypeError(
        `Cannot write manifests to "${dir}": "${name}" would be written twice`,
      );
    }
    seen.add(name);
  }
  await Deno.mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [i, obj] of objs.entries()) {
    const path = `${dir.replace(/\/+$/, "")}/${names[i]}`;
    await Deno.writeTextFile(path, commented(comments(obj)) + toYaml(obj));
    paths.push(path);
  }
  return paths;
}
