/**
 * What "cortex" resolves to while the supervisor caches a handler's module
 * graph (src/supervisor/modules.ts): the runtime's own modules are locked by
 * the runtime's deno.lock and must not be recorded in the project's. Module
 * graphs do not check imported names, so an empty module is enough; the
 * serving process resolves "cortex" to mod.ts.
 *
 * @module
 */

export {};
