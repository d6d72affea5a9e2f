/**
 * Writes `src/vendor/` from Deno's npm cache: the three npm packages the
 * supervisor uses (`yaml`, `ignore`, `dotenv`), at exact versions, as local
 * ES modules. The supervisor then starts without Deno's npm layer, whose
 * first CommonJS package cost ~40 ms of every start (issue 17).
 *
 * Most files are copied byte for byte. Two packages have no ES module build,
 * so one file of each is derived by a fixed transform of the package's own
 * file (`ignore`'s CommonJS tail, `dotenv`'s `parse`); `yaml`'s ES module
 * build is bundled into one module (`deno bundle` of the pinned Deno).
 * `vendor_npm_test.ts` derives everything again and compares it with the
 * committed files.
 *
 * Update: change a version below, then
 * `./deno run --allow-read --allow-write=src/vendor --allow-run scripts/vendor_npm.ts`
 * (it downloads the package into Deno's npm cache if it is not there).
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The committed copies. */
export const VENDOR_DIR = fileURLToPath(
  new URL("../src/vendor/", import.meta.url),
);

/**
 * One vendored file: copied (`from` a package file), derived from one, or
 * the package's ES module graph from `from` bundled into one module.
 */
export interface VendoredFile {
  /** Path under the package's folder in `src/vendor/`. */
  path: string;
  /** Path of the package file it comes from. */
  from: string;
  /** Turns the package file's text into the vendored text; none: a copy. */
  derive?: (text: string) => string;
  /**
   * `from` and every module it imports, as one module (`deno bundle`, run
   * in the package's folder: the bundle's comments name the package's files
   * by their path in the package, never a machine's path). A process loads
   * one module instead of each file of the graph (yaml's 74: ~8 ms of CPU of
   * every supervisor start on a 2-core Xeon, issue 17).
   */
  bundle?: boolean;
}

/** One vendored package. */
export interface VendoredPackage {
  name: string;
  version: string;
  license: string;
  /** Lists the files to vendor, given the package's folder in the cache. */
  files(packageDir: string): Promise<VendoredFile[]>;
}

/** Every file under `dir` (relative, sorted) whose name passes `keep`. */
async function listFiles(
  dir: string,
  keep: (name: string) => boolean,
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string) => {
    for await (const entry of Deno.readDir(at)) {
      const abs = join(at, entry.name);
      if (entry.isDirectory) await walk(abs);
      else if (entry.isFile && keep(entry.name)) out.push(relative(dir, abs));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Replaces the text from `marker` to the end with `tail`. */
function replaceFrom(text: string, marker: string, tail: string): string {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`marker ${JSON.stringify(marker)} not found`);
  return text.slice(0, at) + tail;
}

/** The text from `start` up to and including the first `end` after it. */
function between(text: string, start: string, end: string): string {
  const from = text.indexOf(start);
  const to = from < 0 ? -1 : text.indexOf(end, from);
  if (to < 0) throw new Error(`${JSON.stringify(start)} not found`);
  return text.slice(from, to + end.length);
}

/**
 * Adds `.d.ts` to the relative imports of a declaration file: TypeScript
 * resolves `'./nodes/Node'` to `nodes/Node.d.ts` in an npm package, but Deno
 * resolves local files only by their full name.
 */
function withTypeExtensions(text: string): string {
  return text.replace(/((?:from |import\()')(\.\.?\/[^']+)'/g, "$1$2.d.ts'");
}

/**
 * `ignore`'s ending, as an ES module. Upstream detects Windows through
 * `process`, whose first use loads Deno's Node layer (~13 ms); Deno.build.os
 * says the same without it.
 */
const IGNORE_TAIL = `// Windows
// --------------------------------------------------------------
// Vendored for Cortex (scripts/vendor_npm.ts): Deno.build.os instead of
// \`process\`, and an ES module export instead of \`module.exports\`.
if (Deno.build.os === 'windows') {
  setupWindows()
}

factory.default = factory
factory.isPathValid = isPathValid

export default factory
export { isPathValid }
`;

/** `ignore`'s types for the ES module (upstream: `export =`, CommonJS). */
const IGNORE_TYPES_TAIL =
  `// Vendored for Cortex (scripts/vendor_npm.ts): ES module exports.
export default ignore
export type Ignore = ignore.Ignore
export declare const isPathValid: typeof ignore.isPathValid
`;

/** `dotenv`'s line parser, cut out of its CommonJS entry (fs, crypto, ...). */
function dotenvParse(main: string): string {
  return "// Vendored for Cortex (scripts/vendor_npm.ts): the line parser of\n" +
    "// dotenv's lib/main.js, unchanged, as an ES module.\n\n" +
    between(main, "const LINE = ", "\n\n") +
    between(main, "// Parse src into an Object\n", "\n  return obj\n}\n") +
    "\nexport { parse }\n";
}

/** Types of the vendored `parse` (the package's own name `parse`). */
const DOTENV_PARSE_TYPES =
  `// Vendored for Cortex (scripts/vendor_npm.ts): the type of parse.mjs.
export function parse(src: string): Record<string, string>;
`;

/** The vendored packages; versions are exact. */
export const PACKAGES: VendoredPackage[] = [
  {
    name: "yaml",
    version: "2.9.1",
    license: "ISC",
    async files(dir) {
      // The browser build is the package's ES module build (it omits only
      // the LOG_TOKENS/LOG_STREAM debug output), bundled into one module;
      // dist/ has its types, whose relative imports get their file extension.
      const types = await listFiles(
        join(dir, "dist"),
        (n) => n.endsWith(".d.ts"),
      );
      return [
        { path: "LICENSE", from: "LICENSE" },
        { path: "yaml.mjs", from: "browser/index.js", bundle: true },
        ...types.map((f) => ({
          path: `dist/${f}`,
          from: `dist/${f}`,
          derive: withTypeExtensions,
        })),
      ];
    },
  },
  {
    name: "ignore",
    version: "7.0.16",
    license: "MIT",
    files() {
      return Promise.resolve([
        { path: "LICENSE-MIT", from: "LICENSE-MIT" },
        {
          path: "index.d.ts",
          from: "index.d.ts",
          derive: (text) =>
            replaceFrom(text, "export = ignore\n", IGNORE_TYPES_TAIL),
        },
        {
          path: "index.mjs",
          from: "index.js",
          derive: (text) => replaceFrom(text, "// Windows\n", IGNORE_TAIL),
        },
      ]);
    },
  },
  {
    name: "dotenv",
    version: "17.4.1",
    license: "BSD-2-Clause",
    files() {
      return Promise.resolve([
        { path: "LICENSE", from: "LICENSE" },
        { path: "parse.mjs", from: "lib/main.js", derive: dotenvParse },
        {
          path: "parse.d.ts",
          from: "lib/main.js",
          derive: () => DOTENV_PARSE_TYPES,
        },
      ]);
    },
  },
];

/**
 * The package's folder in Deno's npm cache (fetched there if missing),
 * after checking that its package.json names the pinned version and license.
 */
export async function packageDir(pkg: VendoredPackage): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      "--no-config",
      "--no-lock",
      `npm:${pkg.name}@${pkg.version}`,
    ],
    cwd: VENDOR_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    npmPackages: Record<string, { localPath?: string }>;
  };
  const dir = info.npmPackages[`${pkg.name}@${pkg.version}`]?.localPath;
  if (!dir) {
    throw new Error(`deno info gave no folder for ${pkg.name}@${pkg.version}`);
  }
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "package.json")));
  if (meta.version !== pkg.version || meta.license !== pkg.license) {
    throw new Error(
      `${dir}/package.json: expected ${pkg.name} ${pkg.version} (${pkg.license}), found ${meta.version} (${meta.license})`,
    );
  }
  return dir;
}

/** `entry` of the package in `dir` and its imports, as one ES module. */
async function bundle(dir: string, entry: string): Promise<Uint8Array> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--no-config", "--no-lock", "--platform", "deno", entry],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `deno bundle of ${entry} in ${dir} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return out.stdout;
}

/** What `src/vendor/<name>/` must hold: path -> bytes (copies unchanged). */
export async function expectedFiles(
  pkg: VendoredPackage,
): Promise<Map<string, Uint8Array>> {
  const dir = await packageDir(pkg);
  const out = new Map<string, Uint8Array>();
  for (const file of await pkg.files(dir)) {
    if (file.bundle) {
      out.set(file.path, await bundle(dir, file.from));
      continue;
    }
    const bytes = await Deno.readFile(join(dir, file.from));
    out.set(
      file.path,
      file.derive
        ? new TextEncoder().encode(file.derive(new TextDecoder().decode(bytes)))
        : bytes,
    );
  }
  return out;
}

if (import.meta.main) {
  for (const pkg of PACKAGES) {
    const target = join(VENDOR_DIR, pkg.name);
    await Deno.remove(target, { recursive: true }).catch(() => {});
    for (const [path, bytes] of await expectedFiles(pkg)) {
      await Deno.mkdir(dirname(join(target, path)), { recursive: true });
      await Deno.writeFile(join(target, path), bytes);
    }
  }
}
