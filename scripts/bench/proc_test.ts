import assert from "node:assert/strict";
import { parsePidList, parseVmRssKb } from "./proc.ts";

Deno.test("parsePidList() reads a /proc children file", () => {
  assert.deepEqual(parsePidList("27931 27942 \n"), [27931, 27942]);
  assert.deepEqual(parsePidList(""), []);
});

Deno.test("parseVmRssKb() finds VmRSS in /proc/<pid>/status", () => {
  const status =
    "Name:\tdeno\nVmPeak:\t 1000 kB\nVmRSS:\t   78352 kB\nRssAnon:\t 50000 kB\n";
  assert.equal(parseVmRssKb(status), 78352);
  assert.throws(() => parseVmRssKb("Name:\tkthreadd\n"), SyntaxError);
});
