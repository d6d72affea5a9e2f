import type { ToJSContext } from '../../nodes/toJS.d.ts';
import { YAMLMap } from '../../nodes/YAMLMap.d.ts';
import { YAMLSeq } from '../../nodes/YAMLSeq.d.ts';
import type { CreateNodeContext } from '../../util.d.ts';
import type { Schema } from '../Schema.d.ts';
import type { CollectionTag } from '../types.d.ts';
export declare class YAMLOMap extends YAMLSeq {
    static tag: string;
    constructor();
    add: typeof YAMLMap.prototype.add;
    delete: typeof YAMLMap.prototype.delete;
    get: typeof YAMLMap.prototype.get;
    has: typeof YAMLMap.prototype.has;
    set: typeof YAMLMap.prototype.set;
    /**
     * If `ctx` is given, the return type is actually `Map<unknown, unknown>`,
     * but TypeScript won't allow widening the signature of a child method.
     */
    toJSON(_?: unknown, ctx?: ToJSContext): unknown[];
    static from(schema: Schema, iterable: unknown, ctx: CreateNodeContext): YAMLOMap;
}
export declare const omap: CollectionTag;
