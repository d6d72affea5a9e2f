import { type Case, runCases } from "./_testing.ts";

const E = "cortex.yaml";
const H = "handler: {path: handler.ts}\n";

const cases: Case[] = [
  {
    name: "kind defaults to RealtimeAPI and line is the entry's",
    yaml: "name: iris\n" + H,
    get: (a) => [a.name, a.kind, a.line],
    want: ["iris", "RealtimeAPI", 1],
  },
  {
    name: "kind RealtimeAPI is accepted",
    yaml: "name: iris\nkind: RealtimeAPI\n" + H,
    get: (a) => a.kind,
    want: "RealtimeAPI",
  },
  {
    name: "another kind is rejected",
    yaml: "name: iris\nkind: BatchAPI\n" + H,
    wantErr: [
      `${E}:2: kind is "BatchAPI": this runtime serves only "RealtimeAPI"`,
    ],
  },
  {
    name: "name is required",
    yaml: H,
    wantErr: [
      `${E}:1: name is missing: expected a lower-case DNS label: a-z, 0-9 and "-", starting with a letter, not ending with "-", at most 42 characters`,
    ],
  },
  {
    name: "name of 42 characters is accepted",
    yaml: `name: ${"a".repeat(42)}\n` + H,
    get: (a) => a.name.length,
    want: 42,
  },
  ...["Iris", "1iris", "iris-", "ir_is", "a".repeat(43)].map((bad): Case => ({
    name: `name "${bad.slice(0, 10)}" is rejected`,
    yaml: `name: ${bad}\n` + H,
    wantErr: [
      `${E}:1: name is "${bad}": must be a lower-case DNS label: a-z, 0-9 and "-", starting with a letter, not ending with "-", at most 42 characters`,
    ],
  })),
  {
    name: "name must be a string",
    yaml: "name: 42\n" + H,
    wantErr: [`${E}:1: name is 42: expected a string`],
  },
  {
    name: "compute defaults",
    yaml: "name: iris\n" + H,
    get: (a) => a.compute,
    want: { cpu: "200m", mem: null, gpu: 0 },
  },
  {
    name: "compute values are kept as written",
    yaml: "name: iris\n" + H + "compute: {cpu: 1, mem: 512Mi, gpu: 1}\n",
    get: (a) => a.compute,
    want: { cpu: "1", mem: "512Mi", gpu: 1 },
  },
  {
    name: "compute mem null stays null",
    yaml: "name: iris\n" + H + "compute: {cpu: 500m, mem: null}\n",
    get: (a) => a.compute,
    want: { cpu: "500m", mem: null, gpu: 0 },
  },
  {
    name: "compute bad values",
    yaml: "name: iris\n" + H +
      "compute:\n  cpu: lots\n  mem: 1 GB\n  gpu: -1\n",
    wantErr: [
      `${E}:4: compute.cpu is "lots": expected a Kubernetes quantity such as "500m", "1" or "512Mi"`,
      `${E}:5: compute.mem is "1 GB": expected a Kubernetes quantity such as "500m", "1" or "512Mi"`,
      `${E}:6: compute.gpu is -1: must be at least 0`,
    ],
  },
  {
    name: "update_strategy defaults",
    yaml: "name: iris\n" + H,
    get: (a) => a.updateStrategy,
    want: { maxSurge: "25%", maxUnavailable: "25%" },
  },
  {
    name: "update_strategy integers and percentages",
    yaml: "name: iris\n" + H +
      "update_strategy: {max_surge: 2, max_unavailable: 0%}\n",
    get: (a) => a.updateStrategy,
    want: { maxSurge: "2", maxUnavailable: "0%" },
  },
  {
    name: "update_strategy both zero",
    yaml: "name: iris\n" + H +
      "update_strategy:\n  max_surge: 0\n  max_unavailable: 0\n",
    wantErr: [
      `${E}:5: update_strategy.max_unavailable is 0: max_surge and max_unavailable cannot both be 0, or an update could never make progress`,
    ],
  },
  {
    name: "update_strategy bad values",
    yaml: "name: iris\n" + H +
      "update_strategy:\n  max_surge: -1\n  max_unavailable: 150%\n",
    wantErr: [
      `${E}:4: update_strategy.max_surge is -1: expected an integer (0 or more) or a percentage such as "25%"`,
      `${E}:5: update_strategy.max_unavailable is "150%": must be at most 100%`,
    ],
  },
  {
    name: "endpoint defaults to /<name>",
    yaml: "name: iris\n" + H,
    get: (a) => a.networking.endpoint,
    want: "/iris",
  },
  {
    name: "endpoint trailing slash is removed",
    yaml: "name: iris\n" + H + "networking: {endpoint: /v1/iris/}\n",
    get: (a) => a.networking.endpoint,
    want: "/v1/iris",
  },
  {
    name: "endpoint / is kept",
    yaml: "name: iris\n" + H + "networking: {endpoint: /}\n",
    get: (a) => a.networking.endpoint,
    want: "/",
  },
  {
    name: "endpoint must start with a slash",
    yaml: "name: iris\n" + H + "networking:\n  endpoint: iris\n",
    wantErr: [`${E}:4: networking.endpoint is "iris": must start with "/"`],
  },
  {
    name: "endpoint must be a plain path",
    yaml: "name: iris\n" + H + "networking: {endpoint: /a?b}\n",
    wantErr: [
      `${E}:3: networking.endpoint is "/a?b": must be a URL path without spaces, "?", "#" or "//"`,
    ],
  },
  ...["/healthz", "/metrics/", "/metrics/x"].map((path): Case => ({
    name: `endpoint ${path} is reserved`,
    yaml: "name: iris\n" + H + `networking: {endpoint: ${path}}\n`,
    wantErr: [
      `${E}:3: networking.endpoint is "${path}": "${
        path.startsWith("/healthz") ? "/healthz" : "/metrics"
      }" is reserved for the server`,
    ],
  })),
  {
    name: "unknown top-level field without a close match lists the valid ones",
    yaml: "name: iris\n" + H + "replicas: 3\n",
    wantErr: [
      `${E}:3: replicas is not a known field: expected one of "name", "kind", "handler", "compute", "autoscaling", "update_strategy", "networking"`,
    ],
  },
  {
    name: "unknown top-level field with a prefix match",
    yaml: "name: iris\n" + H + "network: {}\n",
    wantErr: [
      `${E}:3: network is not a known field: did you mean "networking"?`,
    ],
  },
];

Deno.test("parseApiConfigs() validates name, kind, compute, update_strategy and networking", async (t) => {
  await runCases(t, cases);
});
