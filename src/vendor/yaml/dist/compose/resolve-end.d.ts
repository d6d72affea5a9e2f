import type { SourceToken } from '../parse/cst.d.ts';
import type { ComposeErrorHandler } from './composer.d.ts';
export declare function resolveEnd(end: SourceToken[] | undefined, offset: number, reqSpace: boolean, onError: ComposeErrorHandler): {
    comment: string;
    offset: number;
};
