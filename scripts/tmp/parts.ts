const N = 20000;
const mk = () => new Request("http://x/echo", { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ann","label":1}' });
async function time(name: string, fn: (r: Request) => Promise<unknown>) {
  for (let i = 0; i < 1000; i++) await fn(mk());
  const t = performance.now();
  for (let i = 0; i < N; i++) await fn(mk());
  console.log(name, ((performance.now() - t) * 1000 / N).toFixed(1));
}
await time("base", async (r) => await r.json());
await time("limitBody", async (r) => {
  const c = r.body!.pipeThrough(new TransformStream({ transform(ch, ctl) { ctl.enqueue(ch); } }));
  return await new Request(r.url, { method: r.method, headers: r.headers, body: c, signal: r.signal }).json();
});
await time("timer", async (r) => { const t = setTimeout(() => {}, 60000); const x = await r.json(); clearTimeout(t); return x; });
await time("any", async (r) => { const a = new AbortController(); const s = AbortSignal.any([r.signal, a.signal]); return [s, await r.json()]; });
await time("url", async (r) => { const u = new URL(r.url); return [u.searchParams, await r.json()]; });
await time("uuid", async (r) => [crypto.randomUUID(), await r.json()]);
await time("race", async (r) => { let res; const p = new Promise((x) => res = x); return await Promise.race([r.json(), p]); });
