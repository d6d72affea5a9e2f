/**
 * The port guard against real processes: a live Deno process holds its
 * port; a dead pid, a zombie (killed, not yet reaped) and a pid reused by
 * another program do not.
 */

import assert from "node:assert/strict";
import { writeStateFile } from "../control/state_file.ts";
import { holdsPort, serverOnPort } from "./port_guard.ts";

async function stateFor(pid: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "port-guard-" });
  const path = `${dir}/8888.json`;
  await writeStateFile(path, {
    httpPort: 8888,
    controlPort: 1,
    url: "http://127.0.0.1:1",
    token: "t",
    pid,
    projectDir: dir,
    startedAt: new Date().toISOString(),
  });
  return path;
}

/**
 * A zombie: `sh` starts `sleep` in the background, prints its pid, then
 * becomes a `sleep` of its own that never reaps it; the background one is
 * killed. Returns its pid and a way to end the parent (which reaps it).
 */
async function zombie(): Promise<{ pid: number; end(): Promise<void> }> {
  const parent = new Deno.Command("sh", {
    args: ["-c", "sleep 30 & echo $!; exec sleep 30"],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = parent.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  await parent.stdout.cancel();
  const pid = Number(text.trim());
  Deno.kill(pid, "SIGKILL");
  // Wait until the kernel shows it as a zombie.
  for (let i = 0; i < 100; i++) {
    const out = await new Deno.Command("ps", {
      args: ["-o", "stat=", "-p", String(pid)],
      stdout: "piped",
    }).output();
    if (new TextDecoder().decode(out.stdout).trim().startsWith("Z")) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    pid,
    async end() {
      parent.kill("SIGKILL");
      await parent.status;
    },
  };
}

Deno.test("serverOnPort(): a live Deno process holds the port", async () => {
  const path = await stateFor(Deno.pid);
  assert.equal(await serverOnPort(8888, { path }), Deno.pid);
});

Deno.test("serverOnPort(): no file, port 0 → null", async () => {
  const dir = await Deno.makeTempDir({ prefix: "port-guard-" });
  assert.equal(await serverOnPort(8888, { path: `${dir}/none.json` }), null);
  assert.equal(await serverOnPort(0), null);
});

Deno.test("serverOnPort(): a dead pid holds nothing", async () => {
  const child = new Deno.Command("true").spawn();
  await child.status;
  const path = await stateFor(child.pid);
  assert.equal(await serverOnPort(8888, { path }), null);
});

Deno.test("serverOnPort(): a zombie (killed, not yet reaped) holds nothing", async () => {
  const z = await zombie();
  try {
    // It still takes signals: that alone made it look alive.
    Deno.kill(z.pid, "SIGCONT");
    const path = await stateFor(z.pid);
    assert.equal(await serverOnPort(8888, { path }), null);
  } finally {
    await z.end();
  }
});

Deno.test("serverOnPort(): a pid now used by another program holds nothing", async () => {
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const path = await stateFor(other.pid);
    assert.equal(await serverOnPort(8888, { path }), null);
  } finally {
    other.kill("SIGKILL");
    await other.status;
  }
});

Deno.test("holdsPort(): without ps, a signalable pid counts as live", async () => {
  const probes = (alive: boolean) => ({
    signalable: () => alive,
    describe: () => Promise.resolve(undefined),
  });
  assert.equal(await holdsPort(1234, probes(true)), true);
  assert.equal(await holdsPort(1234, probes(false)), false);
});
