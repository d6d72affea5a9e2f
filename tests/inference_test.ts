/**
 * Model inference in the sandbox (issue 14): onnxruntime-web (WASM) loads
 * and runs in an unmodified handler, its answers match the model computed
 * independently, and an API is ready only once its async model load has
 * finished.
 */

import assert from "node:assert/strict";
import {
  example,
  fixture,
  type LogLine,
  messages,
  runToExit,
  withServer,
} from "./_server.ts";
import { LABELS, predict } from "../examples/onnx/model.ts";
import { childrenOf, readProc } from "../scripts/bench/proc.ts";

const SAMPLES = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [5.9, 3.0, 4.2, 1.5],
  [0, 0, 0, 0],
  [-1.5, 2, -0.25, 8],
];

async function post(url: string, body: unknown): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
}

type Prediction = { label: string; probabilities: number[] };

function assertMatches(got: Prediction, x: number[]): void {
  const want = predict(x);
  assert.equal(got.probabilities.length, want.length);
  got.probabilities.forEach((p, i) =>
    assert.ok(
      Math.abs(p - want[i]!) < 1e-5,
      `${x}: class ${i}: ${p} vs ${want[i]}`,
    )
  );
  assert.equal(got.label, LABELS[want.indexOf(Math.max(...want))]);
}

Deno.test("examples/onnx: onnxruntime-web runs in a replica; probabilities match the model computed in TypeScript", async () => {
  await withServer(example("onnx"), {}, async ({ url, lines }) => {
    for (const x of SAMPLES) {
      const res = await post(`${url}/iris`, { features: x });
      assert.equal(res.status, 200);
      const { predictions } = await res.json();
      assert.equal(predictions.length, 1);
      assertMatches(predictions[0], x);
    }
    // A batch in one call.
    const res = await post(`${url}/iris`, { features: SAMPLES });
    const { predictions } = await res.json();
    SAMPLES.forEach((x, i) => assertMatches(predictions[i], x));
    // Bad input: 400 with what to send.
    const bad = await post(`${url}/iris`, { features: [1, 2] });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /features/);
    // The model loaded before the API was live, and nothing went to stderr
    // raw: every line is JSON.
    const loaded = lines().findIndex((l) => l.message === "Model loaded");
    const live = lines().findIndex((l) =>
      /^API "iris" is live/.test(String(l.message))
    );
    assert.ok(loaded !== -1 && loaded < live, `loaded ${loaded}, live ${live}`);
    assert.ok(
      !lines().some((l) => l.levelname === "ERROR"),
      JSON.stringify(lines().filter((l) => l.levelname === "ERROR")),
    );
  });
});

Deno.test("readiness: an API is live only after its async init() or constructor promise; a replacement replica is not ready until its load finishes", async () => {
  const msg = (l: LogLine) => String(l.message ?? "");
  await withServer(fixture("slow_init"), {
    args: ["--api", "model"],
  }, async (s) => {
    // Between the replica's death and the serving process taking over the
    // port (no replica listens), a connection can be refused: try again.
    const health = async (): Promise<
      { status: number; body: { apis: Record<string, { status: string }> } }
    > => {
      for (let i = 0;; i++) {
        try {
          const res = await fetch(`${s.url}/healthz`);
          return { status: res.status, body: await res.json() };
        } catch (error) {
          if (i > 50) throw error;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const loads = () => s.lines().filter((l) => msg(l) === "Model loaded");
    // The server serves only once the first load is done.
    assert.equal(loads().length, 1);
    assert.equal((await health()).status, 200);

    // Its replica dies: the replacement loads for 3 s, and until then
    // /healthz is 503 and the API gets nothing routed.
    Deno.kill(Number(loads()[0]!.process), "SIGKILL");
    let sawLoading = false;
    // What each probe got, and when: a failure says why it saw no 503.
    const seen: string[] = [];
    const t0 = performance.now();
    while (loads().length < 2) {
      const h = await health();
      seen.push(
        `${
          Math.round(performance.now() - t0)
        } ms: ${h.status} ${h.body.apis?.model?.status}`,
      );
      if (loads().length >= 2) break;
      if (h.status === 503) {
        assert.notEqual(h.body.apis.model?.status, "live");
        const res = await fetch(`${s.url}/model`);
        assert.equal(res.status, 503);
        await res.body?.cancel();
        sawLoading = true;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(
      sawLoading,
      `never saw the replacement loading: ${seen.join("; ")}`,
    );
    // Live again only after the load.
    let h = await health();
    for (let i = 0; i < 50 && h.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      h = await health();
    }
    assert.equal(h.status, 200);
    const res = await fetch(`${s.url}/model`);
    const body = await res.json();
    assert.equal(body.loaded, true);
    assert.equal(body.loadedAt, loads()[1]!.loadedAt);
  });
  await withServer(fixture("slow_init"), {
    args: ["--api", "late"],
  }, async (s) => {
    assert.ok(s.lines().some((l) => msg(l) === "Late handler ready"));
    const res = await fetch(`${s.url}/late`);
    assert.deepEqual(await res.json(), { ready: true });
  });
});

Deno.test("readiness: an init() longer than handler.startup_timeout fails the replica, naming the setting", async () => {
  const { code, lines } = await runToExit(fixture("slow_init"), {
    args: ["--api", "slow"],
    timeoutMs: 30_000,
  });
  assert.notEqual(code, 0);
  assert.ok(
    lines.some((l) =>
      /^Replica "slow-\d+" of API "slow" failed to start: .*1000 ms \(handler\.startup_timeout\)/
        .test(String(l.message))
    ),
    messages(lines).join("\n"),
  );
});

Deno.test('byte imports: a handler embeds its model with `with { type: "bytes" }`; only its replicas may read the file', async () => {
  const x = SAMPLES[1]!;
  await withServer(fixture("onnx_bytes"), {}, async ({ url }) => {
    const res = await post(`${url}/iris`, { features: x });
    assert.equal(res.status, 200);
    const body = await res.json();
    const model = await Deno.readFile(`${fixture("onnx_bytes")}model.onnx`);
    assert.equal(body.bytes, model.byteLength);
    const want = predict(x);
    body.probabilities.forEach((p: number, i: number) =>
      assert.ok(Math.abs(p - want[i]!) < 1e-5, `class ${i}: ${p} vs ${want[i]}`)
    );
    // model.onnx is not a project file (.cortexignore): the grant is the
    // importing handler's, not every API's.
    const peek = await fetch(`${url}/peek`);
    assert.deepEqual(await peek.json(), { refused: "NotCapable" });
  });
});

Deno.test("replicas run with glibc's mmap threshold fixed (large freed buffers go back to the system)", async () => {
  await withServer(fixture("onnx_bytes"), {
    args: ["--api", "size"],
  }, async ({ url, lines }) => {
    await (await fetch(`${url}/size`)).body?.cancel();
    // The replica processes are the serving process's children.
    const serving = Number(
      lines().find((l) => String(l.message).startsWith("Serving on"))!.process,
    );
    const replica: string[] = [];
    for (const pid of await childrenOf(serving)) {
      if ((await readProc(`/proc/${pid}/cmdline`)).includes("process_main")) {
        replica.push(await readProc(`/proc/${pid}/environ`));
      }
    }
    assert.equal(replica.length, 1);
    for (const env of replica) {
      assert.ok(env.split("\0").includes("MALLOC_MMAP_THRESHOLD_=8388608"));
    }
  });
});

Deno.test('tfjs-backend-wasm: tf.setBackend("wasm") succeeds in a replica and a matMul runs on it', async () => {
  await withServer(fixture("tfjs_wasm"), {
    args: ["--api", "matmul"],
  }, async ({ url }) => {
    const res = await post(`${url}/matmul`, { matrix: [[1, 2], [3, 4.5]] });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      backend: "wasm",
      product: [[7, 11], [16.5, 26.25]],
    });
  });
});

Deno.test("tfjs-backend-wasm: when its .wasm cannot be read, the fallback to cpu is logged with the reason", async () => {
  await withServer(fixture("tfjs_wasm"), {
    args: ["--api", "fallback"],
  }, async ({ url, lines }) => {
    const res = await fetch(`${url}/fallback`);
    assert.deepEqual(await res.json(), { backend: "cpu" });
    const line = lines().find((l) =>
      /^Initialization of backend wasm failed/.test(String(l.message))
    );
    assert.ok(line, messages(lines()).join("\n"));
    assert.equal(line.levelname, "WARNING");
    assert.match(
      String(line.message),
      /tfjs falls back .*"cpu".* Why: Permission denied: read access to "\/opt\/elsewhere\/tfjs-backend-wasm[^"]*\.wasm"/,
    );
  });
});

Deno.test("byte imports: a handler that byte-imports a file outside its project is refused at start (no grant for it)", async () => {
  const { code, lines, stderr } = await runToExit(fixture("bytes_outside"), {
    timeoutMs: 30_000,
  });
  assert.equal(code, 2, stderr);
  const all = messages(lines).join("\n") + stderr;
  assert.match(
    all,
    /handler\.ts byte-imports "[^"]*\/deno\.json" from outside the project/,
  );
});
