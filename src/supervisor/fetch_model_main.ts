/**
 * Downloads one model file: `deno run --allow-net=<host> --allow-write=<out>
 * fetch_model_main.ts <url> <out>`, started by the supervisor (which has no
 * network) for each `handler.models` URL (src/supervisor/model_cache.ts).
 * Redirects are followed only within the grant (the URL's own host).
 *
 * @module
 */

import { EXIT } from "../wire/exit_codes.ts";

function fail(text: string): never {
  Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
  Deno.exit(EXIT.failure);
}

async function main(url: string, out: string): Promise<void> {
  const res = await fetch(url);
  if (!res.ok || res.body === null) {
    await res.body?.cancel();
    fail(`HTTP status ${res.status} ${res.statusText}`);
  }
  const file = await Deno.open(out, {
    write: true,
    create: true,
    truncate: true,
  });
  await res.body.pipeTo(file.writable);
}

const [url, out] = Deno.args;
if (url === undefined || out === undefined) {
  fail("usage: fetch_model_main.ts <url> <out>");
}
await main(url, out).catch((error) => fail((error as Error).message));
