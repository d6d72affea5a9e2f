import type { Scalar } from '../nodes/Scalar.d.ts';
export declare function stringifyNumber({ format, minFractionDigits, tag, value }: Scalar): string;
