import type { Range } from '../nodes/Node.d.ts';
import { Scalar } from '../nodes/Scalar.d.ts';
import type { FlowScalar } from '../parse/cst.d.ts';
import type { ComposeErrorHandler } from './composer.d.ts';
export declare function resolveFlowScalar(scalar: FlowScalar, strict: boolean, onError: ComposeErrorHandler): {
    value: string;
    type: Scalar.PLAIN | Scalar.QUOTE_DOUBLE | Scalar.QUOTE_SINGLE | null;
    comment: string;
    range: Range;
};
