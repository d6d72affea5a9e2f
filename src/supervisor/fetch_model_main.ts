/**
 * Downloads one model file: `deno run --allow-net=<host> --allow-write=<out>
 * fetch_model_main.ts <url> <out>` (src/wire/fetch_model_args.ts), started
 * by the supervisor (which has no network) for each `handler.models` URL
 * (src/supervisor/model_cache.ts). Redirects are followed only within the
 * grant (the URL's own host).
 *
 * @module
 */

import { EXIT } from "../wire/exit_codes.ts";
import { fetchModelArgv } from "../wire/fetch_model_args.ts";

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

let args;
try {
  args = fetchModelArgv.parseArgv(Deno.args);
} catch (error) {
  fail((error as Error).message);
}
await main(args.url, args.out).catch((error) => fail((error as Error).message));
