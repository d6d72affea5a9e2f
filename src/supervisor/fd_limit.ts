/**
 * The descriptor limit the serving process will have, for the default
 * `--max-connections`. Deno raises its own soft limit to the hard limit at
 * start (so `ulimit -n` under a Deno parent already shows the raised value,
 * which children inherit); Deno cannot read it without `--allow-all`
 * (/proc/self/limits), so the supervisor asks a shell once.
 *
 * @module
 */

/** `ulimit -n` of a child shell, or null when there is none or it fails. */
export async function probeFdLimit(): Promise<number | null> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", "ulimit -n"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return null;
    const text = new TextDecoder().decode(out.stdout).trim();
    if (text === "unlimited") return 1 << 20;
    const n = Number(text);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
