/**
 * `ctx.models`: a replica's models from `handler.models` (Cortex's
 * `path`, `paths` and `dir` shapes), loaded by the handler's
 * `loadModel(path, { name, version })`, kept in an LRU of `cache_size`, and
 * reloaded when their files change (polled, like Cortex). A reload swaps the
 * model only once the new one has loaded, so requests never wait on it.
 *
 * @module
 */

/** What `loadModel` gets besides the path. */
export interface ModelInfo {
  name: string;
  /** "1" for `path`/`paths` models; the version folder's name for `dir`. */
  version: string;
}

/** A model source: a file, or a `dir` model's folder of integer versions. */
export type ModelSource =
  | { kind: "file"; name: string; path: string }
  | { kind: "versions"; name: string; dir: string };

/** The file system calls the store makes (replaced in tests). */
export interface ModelFs {
  /** A change stamp of a file or folder (mtime and size, recursively for folders). */
  stamp(path: string): Promise<string>;
  /** Entry names of a folder that are folders. */
  folders(path: string): Promise<string[]>;
}

/** Options of {@linkcode ModelStore}. */
export interface ModelStoreOptions {
  sources: ModelSource[];
  load: (path: string, info: ModelInfo) => unknown;
  /** Most models loaded at once; null: no bound. */
  cacheSize: number | null;
  fs: ModelFs;
  /** Reports a failed reload (the old model keeps serving). */
  onError?: (message: string, error: unknown) => void;
}

interface Entry {
  key: string;
  path: string;
  info: ModelInfo;
  stamp: string;
  value: Promise<unknown>;
}

/** Integer version folders, lowest first. */
export function versionsOf(names: string[]): string[] {
  return names.filter((n) => /^\d+$/.test(n))
    .sort((a, b) => Number(a) - Number(b));
}

/** The models of one replica. */
export class ModelStore {
  readonly #opts: ModelStoreOptions;
  readonly #sources = new Map<string, ModelSource>();
  /** Known versions of `dir` models, lowest first. */
  readonly #versions = new Map<string, string[]>();
  /** Loaded (or loading) models, least recently used first. */
  readonly #loaded = new Map<string, Entry>();

  constructor(opts: ModelStoreOptions) {
    this.#opts = opts;
    for (const s of opts.sources) this.#sources.set(s.name, s);
  }

  /** Model names, sorted. */
  names(): string[] {
    return [...this.#sources.keys()].sort();
  }

  /** Known versions of a model ("1" for file models). */
  async versions(name: string): Promise<string[]> {
    const source = this.#source(name);
    if (source.kind === "file") return ["1"];
    let known = this.#versions.get(name);
    if (known === undefined) {
      known = versionsOf(await this.#opts.fs.folders(source.dir));
      this.#versions.set(name, known);
    }
    return known;
  }

  /** Keys of the loaded models, least recently used first (for tests). */
  loadedKeys(): string[] {
    return [...this.#loaded.keys()];
  }

  /**
   * The model `name` (the only one when omitted) at `version` ("latest":
   * the highest), loaded on first use.
   */
  async get(
    name?: string,
    version: string | number = "latest",
  ): Promise<unknown> {
    const resolved = name ?? this.#onlyName();
    const source = this.#source(resolved);
    const versions = await this.versions(resolved);
    const v = String(version) === "latest"
      ? versions.at(-1)
      : versions.find((x) => x === String(version));
    if (v === undefined) {
      throw new Error(
        versions.length === 0
          ? `Model "${resolved}" has no version folders (integer names) in ${
            (source as { dir: string }).dir
          }`
          : `Model "${resolved}" has no version ${version} (versions: ${
            versions.join(", ")
          })`,
      );
    }
    const key = `${resolved}@${v}`;
    const hit = this.#loaded.get(key);
    if (hit !== undefined) {
      this.#loaded.delete(key);
      this.#loaded.set(key, hit);
      return await hit.value;
    }
    const path = source.kind === "file" ? source.path : `${source.dir}/${v}`;
    // In the map before anything is awaited: concurrent first calls share
    // one load.
    const entry: Entry = {
      key,
      path,
      info: { name: resolved, version: v },
      stamp: "",
      value: Promise.resolve(),
    };
    entry.value = this.#opts.fs.stamp(path).then((stamp) => {
      entry.stamp = stamp;
      return this.#opts.load(path, { name: resolved, version: v });
    });
    this.#loaded.set(key, entry);
    entry.value.catch(() => {
      if (this.#loaded.get(key) === entry) this.#loaded.delete(key);
    });
    this.#evict();
    return await entry.value;
  }

  /** Loads every model's latest version (up to `cache_size`), for readiness. */
  async preload(): Promise<void> {
    const names = this.names();
    const bound = this.#opts.cacheSize ?? names.length;
    for (const name of names.slice(0, bound)) await this.get(name);
  }

  /**
   * Looks for changes: a loaded model whose files changed is loaded again
   * and swapped in; a new latest version of a `dir` model whose latest was
   * loaded is loaded before `get(name)` returns it.
   */
  async poll(): Promise<void> {
    for (const source of this.#sources.values()) {
      if (source.kind !== "versions" || !this.#versions.has(source.name)) {
        continue;
      }
      const old = this.#versions.get(source.name)!;
      let now: string[];
      try {
        now = versionsOf(await this.#opts.fs.folders(source.dir));
      } catch (error) {
        this.#opts.onError?.(
          `Cannot list versions of model "${source.name}"`,
          error,
        );
        continue;
      }
      const latest = now.at(-1);
      if (
        latest !== undefined && latest !== old.at(-1) &&
        this.#loaded.has(`${source.name}@${old.at(-1)}`)
      ) {
        const key = `${source.name}@${latest}`;
        const path = `${source.dir}/${latest}`;
        try {
          const info = { name: source.name, version: latest };
          const stamp = await this.#opts.fs.stamp(path);
          const value = await this.#opts.load(path, info);
          this.#loaded.set(key, {
            key,
            path,
            info,
            stamp,
            value: Promise.resolve(value),
          });
          this.#evict();
        } catch (error) {
          this.#opts.onError?.(
            `Cannot load version ${latest} of model "${source.name}"; the previous version keeps serving`,
            error,
          );
          continue;
        }
      }
      this.#versions.set(source.name, now);
    }
    for (const entry of [...this.#loaded.values()]) {
      if (entry.stamp === "") continue; // still loading
      let stamp: string;
      try {
        stamp = await this.#opts.fs.stamp(entry.path);
      } catch {
        continue; // removed: keep serving what is loaded
      }
      if (stamp === entry.stamp) continue;
      try {
        const value = await this.#opts.load(entry.path, entry.info);
        const current = this.#loaded.get(entry.key);
        if (current !== undefined) {
          current.value = Promise.resolve(value);
          current.stamp = stamp;
        }
      } catch (error) {
        entry.stamp = stamp; // not again until it changes again
        this.#opts.onError?.(
          `Cannot reload model "${entry.info.name}" version ${entry.info.version}; the loaded one keeps serving`,
          error,
        );
      }
    }
  }

  #evict(): void {
    const bound = this.#opts.cacheSize;
    if (bound === null) return;
    while (this.#loaded.size > bound) {
      const oldest = this.#loaded.keys().next().value!;
      this.#loaded.delete(oldest);
    }
  }

  #onlyName(): string {
    const names = this.names();
    if (names.length === 1) return names[0]!;
    throw new Error(
      `ctx.models.get() needs a model name: this API has ${
        names.length === 0 ? "no models" : `several (${names.join(", ")})`
      }`,
    );
  }

  #source(name: string): ModelSource {
    const source = this.#sources.get(name);
    if (source !== undefined) return source;
    throw new Error(
      `No model "${name}" (models: ${this.names().join(", ") || "none"})`,
    );
  }
}

/** The real file system: mtimes and sizes, folders one level deep. */
export const denoModelFs: ModelFs = {
  async stamp(path) {
    const info = await Deno.stat(path);
    if (!info.isDirectory) return `${info.mtime?.getTime()}:${info.size}`;
    const parts: string[] = [];
    for await (const e of Deno.readDir(path)) {
      if (e.name.startsWith(".")) continue;
      const s = await Deno.stat(`${path}/${e.name}`);
      parts.push(`${e.name}:${s.mtime?.getTime()}:${s.size}`);
    }
    return parts.sort().join("|");
  },
  async folders(path) {
    const out: string[] = [];
    for await (const e of Deno.readDir(path)) {
      if (e.isDirectory) out.push(e.name);
    }
    return out;
  },
};
