/**
 * Memory of the serving process (the supervisor's child) and its replica
 * processes, from VmRSS in /proc/<pid>/status: idle with one replica, idle
 * with four (so the cost of each extra replica), and the peak under JSON load.
 *
 * @module
 */

import { rssMB, sleep, treePrivateMB, treeRssMB } from "../proc.ts";
import { PROJECTS, type RuntimeServer, startRuntime } from "../servers.ts";
import { writeWorkloads } from "../bodies.ts";
import type { BenchContext, MemoryResults } from "../types.ts";
import { measure } from "./measure.ts";

/** Replicas of the many-replica API (echo-4 in projects/echo). */
export const MANY_REPLICAS = 4;
const LOAD_CONNECTIONS = 64;

/** Waits until healthz reports `n` ready replicas of API "echo". */
async function waitForReplicas(
  server: RuntimeServer,
  api: string,
  n: number,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    const body = await res.json() as {
      apis?: Record<string, { replicas?: number }>;
    };
    if ((body.apis?.[api]?.replicas ?? 0) >= n) return;
    await sleep(50);
  }
  throw new Error(`API "${api}" did not reach ${n} ready replicas within 30 s`);
}

/** RSS once it stops moving (GC after start-up), after a few requests. */
async function idleRss(server: RuntimeServer): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`http://127.0.0.1:${server.port}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"warm":true}',
    });
    await res.body?.cancel();
  }
  const pid = await server.servingPid();
  let last = await treeRssMB(pid);
  for (let i = 0; i < 20; i++) {
    await sleep(250);
    const now = await treeRssMB(pid);
    if (Math.abs(now - last) < 0.25) return now;
    last = now;
  }
  return last;
}

/** Runs the memory measurements. */
export async function memoryScenario(
  ctx: BenchContext,
): Promise<MemoryResults> {
  const [json] = await writeWorkloads(ctx.tmpDir);
  const one = await startRuntime({
    project: `${PROJECTS}echo`,
    cpus: ctx.cpus.server,
    args: ["--api", "echo"],
  });
  let idleMB: number, supervisorMB: number, loadPeakMB = 0, afterLoadMB: number;
  let idlePrivateMB: number, idleManyPrivateMB: number;
  let load;
  try {
    idleMB = await idleRss(one);
    idlePrivateMB = await treePrivateMB(await one.servingPid());
    supervisorMB = await rssMB(await one.supervisorPid());
    ctx.log(
      `  idle RSS, 1 replica: ${idleMB.toFixed(1)} MB (supervisor ${
        supervisorMB.toFixed(1)
      } MB)`,
    );
    const pid = await one.servingPid();
    let loading = true;
    const sampler = (async () => {
      while (loading) {
        loadPeakMB = Math.max(loadPeakMB, await treeRssMB(pid));
        await sleep(100);
      }
    })();
    try {
      load = await measure(
        ctx,
        `http://127.0.0.1:${one.port}/echo`,
        json!,
        LOAD_CONNECTIONS,
      );
    } finally {
      loading = false;
      await sampler;
    }
    afterLoadMB = await treeRssMB(pid);
    ctx.log(
      `  RSS under load: peak ${loadPeakMB.toFixed(1)} MB, after ${
        afterLoadMB.toFixed(1)
      } MB`,
    );
  } finally {
    await one.stop();
  }
  const many = await startRuntime({
    project: `${PROJECTS}echo`,
    cpus: ctx.cpus.server,
    args: [
      "--api",
      "echo-4",
      "--max-replicas-per-api",
      String(MANY_REPLICAS * 2),
    ],
  });
  let idleManyMB: number;
  try {
    await waitForReplicas(many, "echo-4", MANY_REPLICAS);
    idleManyMB = await idleRss(many);
    idleManyPrivateMB = await treePrivateMB(await many.servingPid());
    ctx.log(
      `  idle RSS, ${MANY_REPLICAS} replicas: ${idleManyMB.toFixed(1)} MB` +
        ` (private: ${idlePrivateMB.toFixed(1)} MB with 1 replica, ${
          idleManyPrivateMB.toFixed(1)
        } MB with ${MANY_REPLICAS})`,
    );
  } finally {
    await many.stop();
  }
  return {
    idleMB,
    supervisorMB,
    replicas: MANY_REPLICAS,
    idleManyMB,
    perExtraReplicaMB: (idleManyMB - idleMB) / (MANY_REPLICAS - 1),
    idlePrivateMB,
    idleManyPrivateMB,
    perExtraReplicaPrivateMB: (idleManyPrivateMB - idlePrivateMB) /
      (MANY_REPLICAS - 1),
    loadPeakMB,
    afterLoadMB,
    load,
    loadConnections: LOAD_CONNECTIONS,
  };
}
