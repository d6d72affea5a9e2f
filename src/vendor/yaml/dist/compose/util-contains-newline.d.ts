import type { Token } from '../parse/cst.d.ts';
export declare function containsNewline(key: Token | null | undefined): boolean | null;
