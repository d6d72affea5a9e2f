/**
 * UTF-8 size of a string without encoding it (for the access log's bytesOut).
 *
 * @module
 */

const encoder = new TextEncoder();

/** Bytes `s` takes in UTF-8. Long strings are measured natively. */
export function utf8ByteLength(s: string): number {
  if (s.length > 16_384) return encoder.encode(s).byteLength;
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // A surrogate pair is 2 UTF-16 units and 4 bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
