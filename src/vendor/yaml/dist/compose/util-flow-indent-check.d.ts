import type { Token } from '../parse/cst.d.ts';
import type { ComposeErrorHandler } from './composer.d.ts';
export declare function flowIndentCheck(indent: number, fc: Token | null | undefined, onError: ComposeErrorHandler): void;
