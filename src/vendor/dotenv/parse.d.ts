// Vendored for Cortex (scripts/vendor_npm.ts): the type of parse.mjs.
export function parse(src: string): Record<string, string>;
