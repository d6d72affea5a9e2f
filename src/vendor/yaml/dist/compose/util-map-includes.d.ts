import type { ParsedNode } from '../nodes/Node.d.ts';
import type { Pair } from '../nodes/Pair.d.ts';
import type { ComposeContext } from './compose-node.d.ts';
export declare function mapIncludes(ctx: ComposeContext, items: Pair<ParsedNode>[], search: ParsedNode): boolean;
