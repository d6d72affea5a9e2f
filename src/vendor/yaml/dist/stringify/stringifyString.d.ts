import { Scalar } from '../nodes/Scalar.d.ts';
import type { StringifyContext } from './stringify.d.ts';
interface StringifyScalar {
    value: string;
    comment?: string | null;
    type?: string;
}
export declare function stringifyString(item: Scalar | StringifyScalar, ctx: StringifyContext, onComment?: () => void, onChompKeep?: () => void): string;
export {};
