import { Scalar } from '../nodes/Scalar.d.ts';
import type { BlockScalar, FlowScalar, SourceToken } from '../parse/cst.d.ts';
import type { ComposeContext } from './compose-node.d.ts';
import type { ComposeErrorHandler } from './composer.d.ts';
export declare function composeScalar(ctx: ComposeContext, token: FlowScalar | BlockScalar, tagToken: SourceToken | null, onError: ComposeErrorHandler): Scalar.Parsed;
