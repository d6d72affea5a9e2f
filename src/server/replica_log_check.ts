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
  replicaId: string;
}

function isOwn(line: string, owner: LineOwner): boolean {
  if (line.charCodeAt(0) !== 123 /* { */) return false;
  try {
    const labels = JSON.parse(line)?.labels;
    return typeof labels === "object" && labels !== null &&
      labels.apiName === owner.apiName && labels.replicaId === owner.replicaId;
  } catch {
    return false;
  }
}

/**
 * The chunk's lines, each either the replica's own line or `wrap(line)`.
 *
 * @param chunk newline-terminated lines from the replica
 * @param wrap renders a foreign line as a line of the replica (no newline)
 */
export function ownLines(
  chunk: string,
  owner: LineOwner,
  wrap: (text: string) => string,
): string {
  let out = "";
  let start = 0;
  while (start < chunk.length) {
    let end = chunk.indexOf("\n", start);
    if (end === -1) end = chunk.length;
    const line = chunk.slice(start, end);
    if (line.length > 0) out += (isOwn(line, owner) ? line : wrap(line)) + "\n";
    start = end + 1;
  }
  return out;
}
