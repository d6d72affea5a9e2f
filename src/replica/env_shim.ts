/**
 * Gives the handler its own environment: `Deno.env` and `process.env` show
 * exactly the API's variables, never the host's (the worker has no env
 * permission, so the real environment is unreachable anyway).
 *
 * @module
 */

/** Replaces `Deno.env` and `process.env` in this worker with `vars`. */
export function installEnv(vars: Record<string, string>): void {
  const store = new Map(Object.entries(vars));
  const env = {
    get: (key: string) => store.get(key),
    set: (key: string, value: string) => void store.set(key, String(value)),
    delete: (key: string) => void store.delete(key),
    has: (key: string) => store.has(key),
    toObject: () => Object.fromEntries(store),
  };
  Object.defineProperty(Deno, "env", { value: env, configurable: true });
  const proxy = new Proxy({}, {
    get: (_t, key) => typeof key === "string" ? store.get(key) : undefined,
    set: (_t, key, value) => {
      if (typeof key === "string") store.set(key, String(value));
      return true;
    },
    deleteProperty: (_t, key) => typeof key === "string" && store.delete(key),
    has: (_t, key) => typeof key === "string" && store.has(key),
    ownKeys: () => [...store.keys()],
    getOwnPropertyDescriptor: (_t, key) =>
      typeof key === "string" && store.has(key)
        ? {
          value: store.get(key),
          writable: true,
          enumerable: true,
          configurable: true,
        }
        : undefined,
  });
  // The global `process` (Deno 2): importing node:process would cost ~7 ms
  // at every replica start.
  const process = (globalThis as { process?: object }).process;
  if (!process) return;
  try {
    Object.defineProperty(process, "env", { value: proxy, configurable: true });
  } catch {
    // process.env cannot be replaced here; without env permission it throws.
  }
}
