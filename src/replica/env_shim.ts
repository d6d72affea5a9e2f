/**
 * Gives the handler its own environment: `Deno.env` and `process.env` show
 * exactly the API's variables, never the host's (the worker has no env
 * permission, so the real environment is unreachable anyway).
 *
 * @module
 */

/**
 * Replaces `Deno.env` and `process.env` in this realm with `vars`; returns a
 * function that puts the previous ones back (the in-process test harness).
 */
export function installEnv(vars: Record<string, string>): () => void {
  const previous = Object.getOwnPropertyDescriptor(Deno, "env");
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
  const previousProcessEnv = process
    ? Object.getOwnPropertyDescriptor(process, "env")
    : undefined;
  let replacedProcessEnv = false;
  if (process) {
    try {
      Object.defineProperty(process, "env", {
        value: proxy,
        configurable: true,
      });
      replacedProcessEnv = true;
    } catch {
      // process.env cannot be replaced here; without env permission it throws.
    }
  }
  return () => {
    if (previous) Object.defineProperty(Deno, "env", previous);
    if (!process || !replacedProcessEnv) return;
    if (previousProcessEnv) {
      Object.defineProperty(process, "env", previousProcessEnv);
    } else delete (process as { env?: unknown }).env;
  };
}
