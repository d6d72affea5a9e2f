import { YAMLMap } from '../nodes/YAMLMap.d.ts';
import { YAMLSeq } from '../nodes/YAMLSeq.d.ts';
import type { FlowCollection } from '../parse/cst.d.ts';
import type { CollectionTag } from '../schema/types.d.ts';
import type { ComposeContext, ComposeNode } from './compose-node.d.ts';
import type { ComposeErrorHandler } from './composer.d.ts';
export declare function resolveFlowCollection({ composeNode, composeEmptyNode }: ComposeNode, ctx: ComposeContext, fc: FlowCollection, onError: ComposeErrorHandler, tag?: CollectionTag): YAMLMap.Parsed<import('../index.d.ts').ParsedNode, import('../index.d.ts').ParsedNode | null> | YAMLSeq.Parsed<import('../index.d.ts').ParsedNode>;
