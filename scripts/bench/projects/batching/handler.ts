/** A model whose call costs 5 ms plus 0.5 ms per item, like a batched forward pass. */
export class Handler {
  async handlePost(payload: unknown) {
    const items = Array.isArray(payload) ? payload : [payload];
    await new Promise((r) => setTimeout(r, 5 + 0.5 * items.length));
    const out = items.map(() => ({ label: 1 }));
    return Array.isArray(payload) ? out : out[0];
  }
}
