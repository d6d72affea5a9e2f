/**
 * Issue 19's keep-alive scale-up case: an API with a 200 ms handler (2 calls
 * at a time per replica) under 8 closed-loop clients on kept-alive
 * connections, measured with 1 replica, then after a control-API patch
 * (`autoscaling.min_replicas: 4`) while the same connections stay open and
 * the load keeps running. Each phase is reported against its ideal:
 * capacity = replicas x 2 / 0.2 s, p50 = max(200 ms, clients / capacity).
 *
 * @module
 */

import { CortexClient } from "../../../src/control/client.ts";
import { KeptAliveLoad, type WindowStats } from "../keepalive.ts";
import { freePort, sleep } from "../proc.ts";
import { PROJECTS, settle, startRuntime } from "../servers.ts";
import type {
  BenchContext,
  KeepAlivePhase,
  KeepAliveResults,
} from "../types.ts";

/** Kept-alive clients. */
export const CLIENTS = 8;
/** The handler's wait (projects/keepalive_scale: `sleep_ms`). */
export const HANDLER_MS = 200;
/** Calls at a time per replica (`threads_per_process`). */
export const SLOTS_PER_REPLICA = 2;
const API = "slow";
const REPLICAS_AFTER = 4;
const TOKEN = "cortex-bench-keepalive-token-0123456789";

/** One value of a Prometheus text scrape, or null when absent. */
export function metricValue(
  text: string,
  name: string,
  api: string,
): number | null {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.indexOf("} ");
    if (close === -1 || !line.slice(0, close).includes(`api="${api}"`)) {
      continue;
    }
    return Number(line.slice(close + 2));
  }
  return null;
}

/** A phase's stats next to its ideal. */
export function phase(stats: WindowStats, replicas: number): KeepAlivePhase {
  const capacityRps = replicas * SLOTS_PER_REPLICA * 1000 / HANDLER_MS;
  return {
    replicas,
    requests: stats.requests,
    durationS: stats.durationS,
    rps: stats.rps,
    p50Ms: stats.p50Ms,
    p99Ms: stats.p99Ms,
    errors: stats.errors,
    capacityRps,
    idealP50Ms: Math.max(HANDLER_MS, CLIENTS / capacityRps * 1000),
    servedBy: stats.servedBy,
  };
}

function describe(p: KeepAlivePhase): string {
  return `${p.rps.toFixed(1)} req/s (${
    (p.rps / p.capacityRps * 100).toFixed(0)
  }% of ${p.capacityRps}), p50 ${p.p50Ms.toFixed(0)} ms (ideal ${
    p.idealP50Ms.toFixed(0)
  }), ${p.replicas} replica(s), served by ${p.servedBy}` +
    (p.errors ? `, ${p.errors} errors` : "");
}

/** Runs the scale-up case. */
export async function keepaliveScenario(
  ctx: BenchContext,
): Promise<KeepAliveResults> {
  const controlPort = freePort();
  const server = await startRuntime({
    project: `${PROJECTS}keepalive_scale`,
    cpus: ctx.cpus.all,
    args: ["--control-port", String(controlPort)],
    env: { CORTEX_CONTROL_TOKEN: TOKEN },
  });
  const base = `http://127.0.0.1:${server.port}`;
  const metric = async (name: string) => {
    const res = await fetch(`${base}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    const value = metricValue(text, name, API);
    if (value === null) {
      throw new Error(`No ${name}{api="${API}"} in /metrics:\n${text}`);
    }
    return value;
  };
  const load = new KeptAliveLoad("127.0.0.1", server.port, `/${API}`, CLIENTS);
  try {
    await settle();
    const replicasBefore = await metric("cortex_replicas");
    // The connections are opened while one replica listens.
    await load.connect();
    load.start();
    await sleep(ctx.warmupS * 1000);
    const before = phase(await load.measure(ctx.durationS), replicasBefore);
    ctx.log(`  1 replica: ${describe(before)}`);
    if (await metric("cortex_replicas") !== replicasBefore) {
      throw new Error("The API scaled during the first phase");
    }

    const patched = performance.now();
    await new CortexClient({
      url: `http://127.0.0.1:${controlPort}`,
      token: TOKEN,
    })
      .patch(API, { autoscaling: { min_replicas: REPLICAS_AFTER } });
    const deadline = patched + 60_000;
    let replicas = replicasBefore;
    while (replicas < REPLICAS_AFTER) {
      if (performance.now() > deadline) {
        throw new Error(`Still ${replicas} replicas 60 s after the patch`);
      }
      await sleep(50);
      replicas = await metric("cortex_replicas");
    }
    const scaleUpMs = performance.now() - patched;
    ctx.log(`  scaled to ${replicas} replicas in ${scaleUpMs.toFixed(0)} ms`);
    await sleep(ctx.warmupS * 1000);
    const after = phase(await load.measure(ctx.durationS), replicas);
    ctx.log(`  ${replicas} replicas: ${describe(after)}`);
    await load.stop();
    return {
      clients: CLIENTS,
      handlerMs: HANDLER_MS,
      slotsPerReplica: SLOTS_PER_REPLICA,
      before,
      after,
      scaleUpMs,
      handedOff: await metric("cortex_handed_off_requests_total"),
      connections: load.connections,
    };
  } finally {
    await load.stop();
    await server.stop();
  }
}
