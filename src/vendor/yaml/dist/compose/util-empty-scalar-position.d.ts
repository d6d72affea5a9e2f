import type { Token } from '../parse/cst.d.ts';
export declare function emptyScalarPosition(offset: number, before: Token[] | undefined, pos: number | null): number;
