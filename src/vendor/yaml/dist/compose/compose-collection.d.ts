import type { ParsedNode } from '../nodes/Node.d.ts';
import type { BlockMap, BlockSequence, FlowCollection, SourceToken } from '../parse/cst.d.ts';
import type { ComposeContext, ComposeNode } from './compose-node.d.ts';
import type { ComposeErrorHandler } from './composer.d.ts';
interface Props {
    anchor: SourceToken | null;
    tag: SourceToken | null;
    newlineAfterProp: SourceToken | null;
}
export declare function composeCollection(CN: ComposeNode, ctx: ComposeContext, token: BlockMap | BlockSequence | FlowCollection, props: Props, onError: ComposeErrorHandler): ParsedNode;
export {};
