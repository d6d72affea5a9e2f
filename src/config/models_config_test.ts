import { type Case, runCases } from "./_testing.ts";

const E = "cortex.yaml";
const H = "name: iris\nhandler:\n  path: handler.ts\n";
const SHA = "ab".repeat(32);

const cases: Case[] = [
  {
    name: "models.path: one model named default",
    yaml: `${H}  models: {path: values.json, sha256: ${SHA.toUpperCase()}}\n`,
    get: (a) => a.handler.models,
    want: {
      paths: [{ name: "default", path: "values.json", sha256: SHA }],
      dir: null,
      cacheSize: null,
      pollIntervalMs: 10_000,
    },
  },
  {
    name: "models.paths with URLs, cache_size and poll_interval",
    yaml:
      `${H}  models:\n    paths:\n      - {name: a, path: ./values.json}\n` +
      `      - {name: b, path: "https://example.com/m.onnx", sha256: ${SHA}}\n` +
      `      - {name: c, path: "http://127.0.0.1:8000/m"}\n` +
      `    cache_size: 2\n    poll_interval: 50ms\n`,
    get: (a) => a.handler.models,
    want: {
      paths: [
        { name: "a", path: "values.json", sha256: null },
        { name: "b", path: "https://example.com/m.onnx", sha256: SHA },
        { name: "c", path: "http://127.0.0.1:8000/m", sha256: null },
      ],
      dir: null,
      cacheSize: 2,
      pollIntervalMs: 50,
    },
  },
  {
    name: "models.dir",
    yaml: `${H}  models: {dir: ./src}\n`,
    get: (a) => a.handler.models?.dir,
    want: "src",
  },
  {
    name: "no models, no warmup",
    yaml: H,
    get: (a) => [a.handler.models, a.handler.warmup],
    want: [undefined, undefined],
  },
  {
    name: "warmup",
    yaml: `${H}  warmup: {payload: {x: [1, 2]}, count: 3}\n`,
    get: (a) => a.handler.warmup,
    want: { payload: { x: [1, 2] }, count: 3 },
  },
  {
    name: "warmup count defaults to 1",
    yaml: `${H}  warmup: {payload: hi}\n`,
    get: (a) => a.handler.warmup,
    want: { payload: "hi", count: 1 },
  },
  {
    name: "bad models values",
    yaml: `${H}  models:\n    paths:\n      - {name: a, path: missing.json}\n` +
      `      - {name: a, path: values.json}\n` +
      `      - {name: "b c", path: "http://example.com/m"}\n` +
      `      - {name: d, path: values.json, sha256: xyz}\n` +
      `    cache_size: 0\n`,
    wantErr: [
      `${E}:6: handler.models.paths[0].path is "missing.json": no such file in the project (files excluded by .cortexignore are not part of it)`,
      `${E}:7: handler.models.paths[1].name is "a": is already the name of another model`,
      `${E}:8: handler.models.paths[2].name is "b c": expected letters, digits, "_", "." or "-", starting with a letter or digit`,
      `${E}:8: handler.models.paths[2].path is "http://example.com/m": expected a project file (relative path) or an https:// URL (http:// only for localhost, 127.0.0.1 or [::1])`,
      `${E}:9: handler.models.paths[3].sha256 is "xyz": expected 64 hexadecimal digits (a SHA-256)`,
      `${E}:10: handler.models.cache_size is 0: must be at least 1`,
    ],
  },
  {
    name: "two shapes at once",
    yaml: `${H}  models: {path: values.json, dir: src}\n`,
    wantErr: [
      `${E}:4: handler.models.dir is "src": is set too: set exactly one of models.path, models.paths or models.dir`,
    ],
  },
  {
    name: "dir outside the project",
    yaml: `${H}  models:\n    dir: ../models\n`,
    wantErr: [
      `${E}:5: handler.models.dir is "../models": must be a folder inside the project directory, relative to it`,
    ],
  },
  {
    name: "an unquoted all-digit sha256",
    yaml: `${H}  models:\n    path: values.json\n    sha256: 0\n`,
    wantErr: [
      `${E}:6: handler.models.sha256 is 0: expected 64 hexadecimal digits as a string (quote it in YAML)`,
    ],
  },
  {
    name: "warmup count must be positive",
    yaml: `${H}  warmup:\n    count: 0\n`,
    wantErr: [`${E}:5: handler.warmup.count is 0: must be at least 1`],
  },
];

Deno.test("handler.models and handler.warmup", async (t) => {
  await runCases(t, cases);
});
