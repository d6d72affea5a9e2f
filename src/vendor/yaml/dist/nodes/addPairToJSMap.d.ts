import type { Pair } from './Pair.d.ts';
import type { ToJSContext } from './toJS.d.ts';
import type { MapLike } from './YAMLMap.d.ts';
export declare function addPairToJSMap(ctx: ToJSContext | undefined, map: MapLike, { key, value }: Pair): MapLike;
