/**
 * Log lines from a replica process reach stdout only when they are the
 * runtime's own JSON lines labelled with that replica: handler code shares
 * the replica's realm and could otherwise write lines labelled as another
 * API. Anything else (a forged label, raw text, a torn line) is kept, but
 * wrapped as the text of a line labelled with the replica that sent it.
 *
 * @module
 */

/** Who sent a chunk. */
export interface LineOwner {
  apiName: string;
  apiKind: string;
  replicaId: string;
}

/**
 * The check without parsing, for the lines the runtime writes: the line has
 * exactly one `"labels"` anywhere and it is the replica's own, and no `\u`
 * escape (the only other way to spell a key "labels"). A raw `"labels"` can
 * only be structure (quotes inside strings are escaped), so no other
 * `labels` key, top-level or duplicate, can hide in such a line.
 */
function isOwnFast(line: string, marker: string): boolean {
  const at = line.indexOf('"labels"');
  // slice + === measured 2x cheaper than startsWith(marker, at) in V8.
  return at !== -1 && line.slice(at, at + marker.length) === marker &&
    line.indexOf('"labels"', at + 8) === -1 && line.indexOf("\\u") === -1;
}

function isOwn(line: string, owner: LineOwner, marker: string): boolean {
  if (line.charCodeAt(0) !== 123 /* { */) return false;
  if (isOwnFast(line, marker)) return true;
  try {
    const labels = JSON.parse(line)?.labels;
    return typeof labels === "object" && labels !== null &&
      labels.apiName === owner.apiName && labels.apiKind === owner.apiKind &&
      labels.replicaId === owner.replicaId;
  } catch {
    return false;
  }
}

/**
 * The chunk's lines, each either the replica's own line, its access record
 * rendered, or `wrap(line)`.
 *
 * @param chunk newline-terminated lines from the replica
 * @param wrap renders a foreign line as a line of the replica (no newline)
 * @param render renders an access record (a line starting with `\x1e`,
 *   src/log/access_record.ts) as the replica's access line, or returns null
 *   for a malformed one (then wrapped); without it a record is wrapped too
 */
export function ownLines(
  chunk: string,
  owner: LineOwner,
  wrap: (text: string) => string,
  render?: (record: string) => string | null,
): string {
  const marker = `"labels":{"apiName":${JSON.stringify(owner.apiName)},` +
    `"apiKind":${JSON.stringify(owner.apiKind)},"replicaId":${
      JSON.stringify(owner.replicaId)
    }`;
  // Usually every line is the replica's own: then the chunk goes as is.
  let out: string | null = null;
  let start = 0;
  while (start < chunk.length) {
    let end = chunk.indexOf("\n", start);
    if (end === -1) end = chunk.length;
    const line = chunk.slice(start, end);
    start = end + 1;
    if (render !== undefined && line.charCodeAt(0) === 0x1e) {
      out ??= chunk.slice(0, start - line.length - 1);
      out += (render(line) ?? wrap(line)) + "\n";
      continue;
    }
    // An empty line is dropped, so it also takes the rebuilding path.
    const own = line.length > 0 && isOwn(line, owner, marker);
    if (!own && out === null) out = chunk.slice(0, start - line.length - 1);
    if (out !== null && line.length > 0) {
      out += (own ? line : wrap(line)) + "\n";
    }
  }
  if (out !== null) return out;
  return chunk.endsWith("\n") ? chunk : chunk + "\n";
}
