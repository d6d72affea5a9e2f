import { type Case, runCases } from "./_testing.ts";

const E = "cortex.yaml";
const H = "handler: {path: handler.ts}\n";
const api = (networking: string) =>
  `name: iris\n${H}networking:\n${networking}`;

const cases: Case[] = [
  {
    name: "no edge options: nothing set (the default CORS policy applies)",
    yaml: api("  endpoint: /iris\n"),
    get: (a) => a.networking,
    want: { endpoint: "/iris" },
  },
  {
    name: "cors: false turns CORS off",
    yaml: api("  cors: false\n"),
    get: (a) => a.networking.cors,
    want: false,
  },
  {
    name: "cors options, x-request-id always exposed",
    yaml: api(
      "  cors:\n    allow_origins: [https://app.example.com, 'https://*.example.com']\n    allow_headers: [Content-Type, X-Api-Key]\n    expose_headers: [X-Model]\n    allow_credentials: true\n    max_age: 60\n",
    ),
    get: (a) => a.networking.cors,
    want: {
      allowOrigins: ["https://app.example.com", "https://*.example.com"],
      allowHeaders: ["content-type", "x-api-key"],
      exposeHeaders: ["x-request-id", "x-model"],
      allowCredentials: true,
      maxAge: 60,
    },
  },
  {
    name: "never * with credentials",
    yaml: api("  cors:\n    allow_credentials: true\n"),
    wantErr: [
      `${E}:5: networking.cors.allow_credentials is true: cannot be combined with allow_origins "*" (the Fetch standard forbids a wildcard origin with credentials): list the origins`,
    ],
  },
  {
    name: "bad origins, a typo, a bad cors value",
    yaml: api(
      "  cors:\n    allow_origins: [app.example.com, 'https://x.com/path']\n    max_agee: 5\n",
    ),
    wantErr: [
      `${E}:5: networking.cors.allow_origins[0] is "app.example.com": expected "*", an origin such as "https://app.example.com" or a pattern such as "https://*.example.com"`,
      `${E}:5: networking.cors.allow_origins[1] is "https://x.com/path": expected "*", an origin such as "https://app.example.com" or a pattern such as "https://*.example.com"`,
      `${E}:6: networking.cors.max_agee is not a known field: did you mean "max_age"?`,
    ],
  },
  {
    name: "cors: true is not a mapping",
    yaml: api("  cors: true\n"),
    wantErr: [`${E}:4: networking.cors is true: expected a mapping or false`],
  },
  {
    name: "auth from an environment variable, scoped to methods",
    yaml: api("  auth:\n    keys_env: IRIS_KEYS\n    methods: [post, PUT]\n"),
    get: (a) => a.networking.auth,
    want: { keysEnv: "IRIS_KEYS", keysFile: null, methods: ["POST", "PUT"] },
  },
  {
    name: "auth from a project file",
    yaml: api("  auth:\n    keys_file: ./values.json\n"),
    get: (a) => a.networking.auth,
    want: { keysEnv: null, keysFile: "values.json", methods: null },
  },
  {
    name: "keys never in cortex.yaml; the file must be a project file",
    yaml: api("  auth:\n    keys: [abc]\n    keys_file: missing.txt\n"),
    wantErr: [
      `${E}:5: networking.auth.keys is not a known field: did you mean "keys_env"?`,
      `${E}:6: networking.auth.keys_file is "missing.txt": expected a file of the project (a path relative to cortex.yaml)`,
    ],
  },
  {
    name: "auth needs a source",
    yaml: api("  auth:\n    methods: [POST]\n"),
    wantErr: [
      `${E}:4: networking.auth.keys_env is missing: set keys_env (a variable of comma-separated keys) or keys_file (a file of SHA-256 hashes); keys never go in cortex.yaml`,
    ],
  },
  {
    name: "rate_limit with defaults",
    yaml: api("  rate_limit: {rps: 2.5}\n"),
    get: (a) => a.networking.rateLimit,
    want: { rps: 2.5, burst: 3, per: "api" },
  },
  {
    name: "rate_limit per client",
    yaml: api("  rate_limit: {rps: 10, burst: 20, per: client}\n"),
    get: (a) => a.networking.rateLimit,
    want: { rps: 10, burst: 20, per: "client" },
  },
  {
    name: "rate_limit: per key needs auth; rps > 0; per is one of",
    yaml: api("  rate_limit: {rps: 0, per: key}\n"),
    wantErr: [
      `${E}:4: networking.rate_limit.rps is 0: must be greater than 0`,
      `${E}:4: networking.rate_limit.per is "key": needs networking.auth (requests are counted per API key)`,
    ],
  },
  {
    name: "rate_limit: rps is required, per must be known",
    yaml: api("  rate_limit: {per: everyone}\n"),
    wantErr: [
      `${E}:4: networking.rate_limit.rps is missing: expected requests per second`,
      `${E}:4: networking.rate_limit.per is "everyone": expected one of "api", "key", "client"`,
    ],
  },
];

Deno.test("networking.cors, auth and rate_limit are validated", async (t) => {
  await runCases(t, cases);
});
