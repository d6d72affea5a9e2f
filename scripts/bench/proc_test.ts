import assert from "node:assert/strict";
import {
  parsePidCpuSeconds,
  parsePidCpuSplit,
  parsePidList,
  parsePrivateKb,
  parseProcStat,
  parseVmRssKb,
} from "./proc.ts";

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

Deno.test("parseProcStat() sums busy and total jiffies", () => {
  const stat =
    "cpu  100 5 50 800 40 0 5 0 0 0\ncpu0 50 2 25 400 20 0 3 0 0 0\n";
  assert.deepEqual(parseProcStat(stat), { busy: 160, total: 1000 });
  assert.throws(() => parseProcStat("intr 1 2 3\n"), SyntaxError);
});

Deno.test("parsePidCpuSeconds() adds utime and stime, whatever the command name", () => {
  const stat =
    "4242 (deno (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 5 0";
  assert.equal(parsePidCpuSeconds(stat), 2.8);
  assert.throws(() => parsePidCpuSeconds("garbage"), SyntaxError);
});

Deno.test("parsePidCpuSplit() keeps utime and stime apart", () => {
  const stat =
    "4242 (deno (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 5 0";
  assert.deepEqual(parsePidCpuSplit(stat), { user: 2.5, system: 0.3 });
  assert.throws(() => parsePidCpuSplit("4242 (deno) S 1"), SyntaxError);
});

Deno.test("parsePrivateKb() adds private clean and dirty pages", () => {
  const rollup = [
    "55d0c0000000-7ffd00000000 ---p 00000000 00:00 0  [rollup]",
    "Rss:               57700 kB",
    "Pss:               27200 kB",
    "Shared_Clean:      35800 kB",
    "Private_Clean:       120 kB",
    "Private_Dirty:     21780 kB",
  ].join("\n");
  assert.equal(parsePrivateKb(rollup), 21900);
  assert.throws(() => parsePrivateKb("Rss: 1 kB"), SyntaxError);
});
