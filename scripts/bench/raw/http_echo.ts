/**
 * The baseline: a bare `Deno.serve` doing the same echo as
 * scripts/bench/projects/echo/handler.ts, with no runtime around it.
 *
 * Usage: deno run --allow-net raw/http_echo.ts PORT
 *
 * @module
 */

async function echo(req: Request): Promise<Response> {
  if (req.method !== "POST") return Response.json({ ok: true });
  const type = req.headers.get("content-type") ?? "";
  if (type.startsWith("application/json")) {
    return Response.json(await req.json());
  }
  if (type.startsWith("multipart/form-data")) {
    let fields = 0;
    let bytes = 0;
    for (const [, value] of await req.formData()) {
      fields++;
      bytes += typeof value === "string" ? value.length : value.size;
    }
    return Response.json({ fields, bytes });
  }
  return Response.json({ bytes: (await req.arrayBuffer()).byteLength });
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0]),
  onListen: () => {},
}, echo);
