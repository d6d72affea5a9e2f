import type { Document } from '../doc/Document.d.ts';
import type { Node } from '../nodes/Node.d.ts';
import type { ToStringOptions } from '../options.d.ts';
export declare function stringifyDocument(doc: Readonly<Document<Node, boolean>>, options: ToStringOptions): string;
