/// <reference lib="deno.worker" />
// Test worker: installs the relative-path rewrite for the directory it is
// sent, then reports what relative paths resolve to.
import { installRelativePaths } from "../relative_paths.ts";

self.onmessage = async (event: MessageEvent<string>) => {
  const dir = event.data;
  installRelativePaths(dir);
  const text = Deno.readTextFileSync("values.json");
  const stat = await Deno.stat("./values.json");
  await Deno.writeTextFile("out.txt", "w");
  self.postMessage({ text, isFile: stat.isFile, cwd: Deno.cwd() });
};
