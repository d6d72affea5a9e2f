import { type Case, runCases } from "./_testing.ts";

const E = "cortex.yaml";

const cases: Case[] = [
  {
    name: "defaults",
    yaml: "name: iris\nhandler: {path: handler.ts}\n",
    get: (a) => a.handler,
    want: {
      type: "typescript",
      path: "handler.ts",
      protobufPath: null,
      config: {},
      env: {},
      logLevel: "info",
      processesPerReplica: 1,
      threadsPerProcess: 1,
      serverSideBatching: null,
      requestTimeoutMs: 60_000,
      maxBodyBytes: 32 * 1024 * 1024,
      allowNet: [],
      control: {
        readEnv: [],
        logs: [],
        patch: [],
        refresh: [],
        delete: [],
        deploy: [],
      },
      shutdownGracePeriodMs: 30_000,
      startupTimeoutMs: 120_000,
      accessLog: 1,
    },
  },
  {
    name: "type typescript is accepted",
    yaml: "name: iris\nhandler: {type: typescript, path: handler.ts}\n",
    get: (a) => a.handler.type,
    want: "typescript",
  },
  {
    name: "type python is rejected",
    yaml: "name: iris\nhandler:\n  type: python\n  path: handler.ts\n",
    wantErr: [
      `${E}:3: handler.type is "python": this runtime serves TypeScript handlers; set handler.type to "typescript" or remove it`,
    ],
  },
  {
    name: "type of another kind is rejected",
    yaml: "name: iris\nhandler: {type: tensorflow, path: handler.ts}\n",
    wantErr: [
      `${E}:2: handler.type is "tensorflow": this runtime serves TypeScript handlers; set handler.type to "typescript" or remove it`,
    ],
  },
  {
    name: "path is required",
    yaml: "name: iris\nhandler:\n  log_level: info\n",
    wantErr: [
      `${E}:2: handler.path is missing: expected a .ts, .js, .mts or .mjs file`,
    ],
  },
  {
    name: "handler section is required for path",
    yaml: "name: iris\n",
    wantErr: [
      `${E}:1: handler.path is missing: expected a .ts, .js, .mts or .mjs file`,
    ],
  },
  {
    name: "path is normalised",
    yaml: "name: iris\nhandler: {path: ./src//handler.mjs}\n",
    get: (a) => a.handler.path,
    want: "src/handler.mjs",
  },
  {
    name: "path with a wrong extension",
    yaml: "name: iris\nhandler: {path: values.json}\n",
    wantErr: [
      `${E}:2: handler.path is "values.json": expected a .ts, .js, .mts or .mjs file`,
    ],
  },
  {
    name: "path that does not exist",
    yaml: "name: iris\nhandler: {path: nope.ts}\n",
    wantErr: [
      `${E}:2: handler.path is "nope.ts": no such file in the project (files excluded by .cortexignore are not part of it)`,
    ],
  },
  {
    name: "path in a dot-folder",
    yaml: "name: iris\nhandler: {path: .hidden/handler.ts}\n",
    wantErr: [
      `${E}:2: handler.path is ".hidden/handler.ts": dotfiles and files in dot-folders are not part of the project`,
    ],
  },
  {
    name: "path outside the project",
    yaml: "name: iris\nhandler: {path: ../handler.ts}\n",
    wantErr: [
      `${E}:2: handler.path is "../handler.ts": must be a path inside the project directory, relative to it`,
    ],
  },
  {
    name: "absolute path",
    yaml: "name: iris\nhandler: {path: /etc/handler.ts}\n",
    wantErr: [
      `${E}:2: handler.path is "/etc/handler.ts": must be a path inside the project directory, relative to it`,
    ],
  },
  {
    name: "path of the wrong type",
    yaml: "name: iris\nhandler: {path: [handler.ts]}\n",
    wantErr: [`${E}:2: handler.path is a list: expected a string`],
  },
  {
    name: "protobuf_path is kept",
    yaml: "name: iris\nhandler: {path: handler.ts, protobuf_path: api.proto}\n",
    get: (a) => a.handler.protobufPath,
    want: "api.proto",
  },
  {
    name: "protobuf_path must be a .proto in the project",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  protobuf_path: handler.ts\n",
    wantErr: [
      `${E}:4: handler.protobuf_path is "handler.ts": expected a .proto file`,
    ],
  },
  {
    name: "config is converted to plain values",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  config:\n    model: s3://m\n    sizes: [1, 2]\n    nested: {a: true, b: null}\n",
    get: (a) => a.handler.config,
    want: { model: "s3://m", sizes: [1, 2], nested: { a: true, b: null } },
  },
  {
    name: "config must be a mapping",
    yaml: "name: iris\nhandler: {path: handler.ts, config: [1]}\n",
    wantErr: [`${E}:2: handler.config is a list: expected a mapping`],
  },
  {
    name: "env strings are kept",
    yaml:
      'name: iris\nhandler:\n  path: handler.ts\n  env: {MODEL: small, PORT: "8080"}\n',
    get: (a) => a.handler.env,
    want: { MODEL: "small", PORT: "8080" },
  },
  {
    name: "env values must be strings, names valid, CORTEX_ reserved",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  env:\n    PORT: 8080\n    DEBUG: true\n    CORTEX_PORT: x\n    1BAD: y\n    LIST: [a]\n",
    wantErr: [
      `${E}:5: handler.env.PORT is 8080: expected a string (quote it in YAML)`,
      `${E}:6: handler.env.DEBUG is true: expected a string (quote it in YAML)`,
      `${E}:7: handler.env.CORTEX_PORT is reserved: variables starting with "CORTEX_" are set by the runtime`,
      `${E}:8: handler.env.1BAD is not a valid variable name: expected letters, digits and "_", not starting with a digit`,
      `${E}:9: handler.env.LIST is a list: expected a string`,
    ],
  },
  {
    name: "log_level is one of four",
    yaml: "name: iris\nhandler: {path: handler.ts, log_level: warning}\n",
    get: (a) => a.handler.logLevel,
    want: "warning",
  },
  {
    name: "log_level outside the set",
    yaml: "name: iris\nhandler: {path: handler.ts, log_level: warn}\n",
    wantErr: [
      `${E}:2: handler.log_level is "warn": expected one of "debug", "info", "warning", "error"`,
    ],
  },
  {
    name: "processes and threads",
    yaml:
      "name: iris\nhandler: {path: handler.ts, processes_per_replica: 4, threads_per_process: 8}\n",
    get: (a) => [a.handler.processesPerReplica, a.handler.threadsPerProcess],
    want: [4, 8],
  },
  {
    name: "processes and threads out of range",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  processes_per_replica: 101\n  threads_per_process: 0\n",
    wantErr: [
      `${E}:4: handler.processes_per_replica is 101: must be at most 100`,
      `${E}:5: handler.threads_per_process is 0: must be at least 1`,
    ],
  },
  {
    name: "processes must be an integer",
    yaml:
      "name: iris\nhandler: {path: handler.ts, processes_per_replica: 1.5}\n",
    wantErr: [
      `${E}:2: handler.processes_per_replica is 1.5: expected an integer`,
    ],
  },
  {
    name: "server_side_batching",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  server_side_batching: {max_batch_size: 8, batch_interval: 100ms}\n",
    get: (a) => a.handler.serverSideBatching,
    want: {
      mode: "fixed",
      maxBatchSize: 8,
      batchIntervalMs: 100,
      maxLatencyMs: null,
      targetLatencyMs: null,
      maxConcurrentBatches: 1,
    },
  },
  {
    name: "server_side_batching: adaptive",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  threads_per_process: 2\n  server_side_batching: {mode: adaptive, max_batch_size: 32, max_latency: 200ms, target_latency: 50ms, max_concurrent_batches: 2}\n",
    get: (a) => a.handler.serverSideBatching,
    want: {
      mode: "adaptive",
      maxBatchSize: 32,
      batchIntervalMs: 0,
      maxLatencyMs: 200,
      targetLatencyMs: 50,
      maxConcurrentBatches: 2,
    },
  },
  {
    name:
      "server_side_batching: adaptive needs max_latency, not batch_interval",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  server_side_batching:\n    mode: adaptive\n    max_batch_size: 8\n    batch_interval: 10ms\n",
    wantErr: [
      `${E}:4: handler.server_side_batching.max_latency is missing: expected a duration such as "200ms": adaptive batching never holds a request longer`,
      `${E}:7: handler.server_side_batching.batch_interval is "10ms": only used with mode: fixed; adaptive batching decides how long to wait (bound it with max_latency and target_latency)`,
    ],
  },
  {
    name:
      "server_side_batching: mode, target_latency and max_concurrent_batches",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  server_side_batching:\n    mode: greedy\n    max_batch_size: 8\n    batch_interval: 10ms\n    target_latency: 5ms\n    max_concurrent_batches: 2\n",
    wantErr: [
      `${E}:5: handler.server_side_batching.mode is "greedy": expected one of "fixed", "adaptive"`,
      `${E}:8: handler.server_side_batching.target_latency is "5ms": only used with mode: adaptive`,
      `${E}:9: handler.server_side_batching.max_concurrent_batches is 2: must be at most handler.processes_per_replica x threads_per_process (1): each running batch holds one of the replica's slots`,
    ],
  },
  {
    name: "server_side_batching: a batch that could never fill",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  server_side_batching: {max_batch_size: 64, batch_interval: 10ms}\nautoscaling:\n  max_replica_concurrency: 32\n  target_replica_concurrency: 1\n",
    wantErr: [
      `${E}:4: handler.server_side_batching.max_batch_size is 64: must be at most autoscaling.max_replica_concurrency (32): a replica admits no more requests than that, so a batch could never fill`,
    ],
  },
  {
    name: "server_side_batching: fixed max_latency above batch_interval",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  server_side_batching: {max_batch_size: 8, batch_interval: 10ms, max_latency: 10ms}\n",
    wantErr: [
      `${E}:4: handler.server_side_batching.max_latency is "10ms": must be more than batch_interval (10 ms), or a batch's first request would be refused before it runs`,
    ],
  },
  {
    name: "server_side_batching needs both fields in range",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  server_side_batching:\n    max_batch_size: 1\n",
    wantErr: [
      `${E}:4: handler.server_side_batching.batch_interval is missing: expected a duration such as "100ms"`,
      `${E}:5: handler.server_side_batching.max_batch_size is 1: must be at least 2`,
    ],
  },
  {
    name: "our durations, body size and allow_net",
    yaml:
      'name: iris\nhandler:\n  path: handler.ts\n  request_timeout: 1m30s\n  shutdown_grace_period: 5\n  max_body_size: 10MB\n  allow_net: [example.com:80, "API.example.com:443", "[2001:db8::1]:8080", 10.0.0.1:5432]\n',
    get: (a) => [
      a.handler.requestTimeoutMs,
      a.handler.shutdownGracePeriodMs,
      a.handler.maxBodyBytes,
      a.handler.allowNet,
    ],
    want: [90_000, 5_000, 10_000_000, [
      "example.com:80",
      "API.example.com:443",
      "[2001:db8::1]:8080",
      "10.0.0.1:5432",
    ]],
  },
  {
    name: "stream_timeout and sse_heartbeat",
    yaml:
      "name: iris\nhandler: {path: handler.ts, stream_timeout: 10m, sse_heartbeat: 0}\n",
    get: (a) => [a.handler.streamTimeoutMs, a.handler.sseHeartbeatMs],
    want: [600_000, 0],
  },
  {
    name: "bad stream_timeout",
    yaml: "name: iris\nhandler: {path: handler.ts, stream_timeout: 0s}\n",
    wantErr: [
      `${E}:2: handler.stream_timeout is "0s": must be greater than 0s`,
    ],
  },
  {
    name: "integer max_body_size is bytes",
    yaml: "name: iris\nhandler: {path: handler.ts, max_body_size: 1024}\n",
    get: (a) => a.handler.maxBodyBytes,
    want: 1024,
  },
  {
    name: "bad durations, body size and hosts",
    yaml:
      "name: iris\nhandler:\n  path: handler.ts\n  request_timeout: 0s\n  shutdown_grace_period: soon\n  max_body_size: 10 parsecs\n  allow_net:\n    - example.com:http\n    - 8080\n    - bad host\n",
    wantErr: [
      `${E}:4: handler.request_timeout is "0s": must be greater than 0s`,
      `${E}:5: handler.shutdown_grace_period is "soon": expected a duration such as "30s", "1m30s" or "500ms", or an integer number of seconds`,
      `${E}:6: handler.max_body_size is "10 parsecs": expected a byte size such as "32Mi", "10MB" or an integer number of bytes`,
      `${E}:8: handler.allow_net[0] is "example.com:http": the port must be an integer from 1 to 65535`,
      `${E}:9: handler.allow_net[1] is 8080: expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:10: handler.allow_net[2] is "bad host": expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
    ],
  },
  {
    name: "allow_net: concrete host:port pairs only",
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  allow_net:\n" +
      [
        "example.com",
        "10.0.0.1",
        "[2001:db8::1]",
        "example.com:",
        "example.com:0",
        "*.example.com:443",
        "*",
        "0.0.0.0:80",
        "[::]:80",
        "[::ffff:0.0.0.0]:80",
        "0x7f.0.0.1:80",
        "127.1:80",
        "010.0.0.1:80",
        "2130706433:80",
        "::1:80",
        "[::1%lo]:80",
      ].map((h) => `    - "${h}"\n`).join(""),
    wantErr: [
      `${E}:5: handler.allow_net[0] is "example.com": a port is required: expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:6: handler.allow_net[1] is "10.0.0.1": a port is required: expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:7: handler.allow_net[2] is "[2001:db8::1]": a port is required: expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:8: handler.allow_net[3] is "example.com:": a port is required: expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:9: handler.allow_net[4] is "example.com:0": the port must be an integer from 1 to 65535`,
      `${E}:10: handler.allow_net[5] is "*.example.com:443": wildcards are not allowed: list each host and port, expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:11: handler.allow_net[6] is "*": wildcards are not allowed: list each host and port, expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:12: handler.allow_net[7] is "0.0.0.0:80": the unspecified address means "any address" (it reaches this machine): expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:13: handler.allow_net[8] is "[::]:80": the unspecified address means "any address" (it reaches this machine): expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:14: handler.allow_net[9] is "[::ffff:0.0.0.0]:80": the unspecified address means "any address" (it reaches this machine): expected "host:port", e.g. "api.example.com:443" or "[2001:db8::1]:443"`,
      `${E}:15: handler.allow_net[10] is "0x7f.0.0.1:80": expected a host name or an IPv4 address of four decimal numbers 0-255 without leading zeros, e.g. "10.0.0.1:8080"`,
      `${E}:16: handler.allow_net[11] is "127.1:80": expected a host name or an IPv4 address of four decimal numbers 0-255 without leading zeros, e.g. "10.0.0.1:8080"`,
      `${E}:17: handler.allow_net[12] is "010.0.0.1:80": expected a host name or an IPv4 address of four decimal numbers 0-255 without leading zeros, e.g. "10.0.0.1:8080"`,
      `${E}:18: handler.allow_net[13] is "2130706433:80": expected a host name or an IPv4 address of four decimal numbers 0-255 without leading zeros, e.g. "10.0.0.1:8080"`,
      `${E}:19: handler.allow_net[14] is "::1:80": expected an IPv6 address in brackets, e.g. "[2001:db8::1]:443"`,
      `${E}:20: handler.allow_net[15] is "[::1%lo]:80": expected an IPv6 address in brackets, e.g. "[2001:db8::1]:443"`,
    ],
  },
  {
    name:
      "allow_net: loopback needs --allow-loopback-net, own ports are never granted",
    net: {
      allowLoopback: false,
      ownPorts: [
        { port: 8888, what: "HTTP" },
        { port: 9000, what: "gRPC" },
        { port: 4000, what: "control", loopbackOnly: true },
      ],
    },
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  allow_net:\n" +
      [
        "127.0.0.1:5432",
        "127.3.2.1:5432",
        "localhost:5432",
        "db.localhost:5432",
        "[::1]:5432",
        "[::ffff:127.0.0.1]:5432",
        "[0:0:0:0:0:0:0:1]:5432",
        "api.example.com:8888",
        "10.0.0.1:9000",
        "api.example.com:4000",
        "api.example.com:443",
      ].map((h) => `    - "${h}"\n`).join(""),
    wantErr: [
      ...[5, 6, 7, 8, 9, 10, 11].map((line, i) =>
        `${E}:${line}: handler.allow_net[${i}] is "${
          [
            "127.0.0.1:5432",
            "127.3.2.1:5432",
            "localhost:5432",
            "db.localhost:5432",
            "[::1]:5432",
            "[::ffff:127.0.0.1]:5432",
            "[0:0:0:0:0:0:0:1]:5432",
          ][i]
        }": a loopback address: handlers may not reach this machine's own services unless the server was started with --allow-loopback-net`
      ),
      `${E}:12: handler.allow_net[7] is "api.example.com:8888": port 8888 is this server's HTTP port: handlers may never reach or listen on the server's own ports (call another API at http://api-<name>:8888 instead)`,
      `${E}:13: handler.allow_net[8] is "10.0.0.1:9000": port 9000 is this server's gRPC port: handlers may never reach or listen on the server's own ports (call another API at http://api-<name>:8888 instead)`,
    ],
  },
  {
    name:
      "allow_net: with --allow-loopback-net, loopback but not the server's own ports",
    net: {
      allowLoopback: true,
      ownPorts: [
        { port: 8888, what: "HTTP" },
        { port: 4000, what: "control", loopbackOnly: true },
      ],
    },
    yaml:
      'name: iris\nhandler:\n  path: handler.ts\n  allow_net: ["localhost:5432", "[::1]:6379", "127.0.0.1:4000", "127.0.0.1:8888"]\n',
    wantErr: [
      `${E}:4: handler.allow_net[2] is "127.0.0.1:4000": port 4000 is this server's control port: handlers may never reach or listen on the server's own ports (call another API at http://api-<name>:8888 instead)`,
      `${E}:4: handler.allow_net[3] is "127.0.0.1:8888": port 8888 is this server's HTTP port: handlers may never reach or listen on the server's own ports (call another API at http://api-<name>:8888 instead)`,
    ],
  },
  {
    name: "allow_net: loopback is accepted with --allow-loopback-net",
    net: { allowLoopback: true, ownPorts: [] },
    yaml:
      'name: iris\nhandler:\n  path: handler.ts\n  allow_net: ["localhost:5432", "[::1]:6379"]\n',
    get: (a) => a.handler.allowNet,
    want: ["localhost:5432", "[::1]:6379"],
  },
  {
    name: "control: actions to API names",
    yaml:
      'name: iris\nhandler:\n  path: handler.ts\n  control:\n    patch: [iris, worker]\n    logs: ["*"]\n    read_env: [iris, iris]\n',
    get: (a) => a.handler.control,
    want: {
      readEnv: ["iris"],
      logs: ["*"],
      patch: ["iris", "worker"],
      refresh: [],
      delete: [],
      deploy: [],
    },
  },
  {
    name: "control: bad shapes, names and keys",
    yaml:
      'name: iris\nhandler:\n  path: handler.ts\n  control:\n    pach: [iris]\n    logs: "*"\n    delete: [Iris, 3, "*"]\n',
    wantErr: [
      `${E}:5: handler.control.pach is not a known field: did you mean "patch"?`,
      `${E}:6: handler.control.logs is "*": expected a list of API names, or ["*"] for every API`,
      `${E}:7: handler.control.delete[0] is "Iris": expected an API name (a lower-case DNS label) or "*"`,
      `${E}:7: handler.control.delete[1] is 3: expected an API name (a lower-case DNS label) or "*"`,
    ],
  },
  {
    name: "control: must be a mapping",
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  control: manage\n",
    wantErr: [
      `${E}:4: handler.control is "manage": expected a mapping of actions to API names, e.g. { patch: [iris], logs: ["*"] }`,
    ],
  },
  {
    name: "access_log: true",
    yaml: "name: iris\nhandler: {path: handler.ts, access_log: true}\n",
    get: (a) => a.handler.accessLog,
    want: 1,
  },
  {
    name: "access_log: false",
    yaml: "name: iris\nhandler: {path: handler.ts, access_log: false}\n",
    get: (a) => a.handler.accessLog,
    want: 0,
  },
  {
    name: "access_log: a sample rate",
    yaml: "name: iris\nhandler: {path: handler.ts, access_log: 0.05}\n",
    get: (a) => a.handler.accessLog,
    want: 0.05,
  },
  {
    name: "access_log: 1",
    yaml: "name: iris\nhandler: {path: handler.ts, access_log: 1}\n",
    get: (a) => a.handler.accessLog,
    want: 1,
  },
  {
    name: "access_log 0 is rejected",
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  access_log: 0\n",
    wantErr: [
      `${E}:4: handler.access_log is 0: expected true, false or a sample rate greater than 0 and at most 1 (e.g. 0.1); false turns access lines off`,
    ],
  },
  {
    name: "access_log 1.5 is rejected",
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  access_log: 1.5\n",
    wantErr: [
      `${E}:4: handler.access_log is 1.5: expected true, false or a sample rate greater than 0 and at most 1 (e.g. 0.1); false turns access lines off`,
    ],
  },
  {
    name: "access_log 10% is rejected",
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  access_log: 10%\n",
    wantErr: [
      `${E}:4: handler.access_log is "10%": expected true, false or a sample rate greater than 0 and at most 1 (e.g. 0.1); false turns access lines off`,
    ],
  },
  {
    name: "access_log [true] is rejected",
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  access_log: [true]\n",
    wantErr: [
      `${E}:4: handler.access_log is a list: expected true, false or a sample rate greater than 0 and at most 1 (e.g. 0.1); false turns access lines off`,
    ],
  },
  {
    name: "access_log yes is rejected",
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  access_log: yes\n",
    wantErr: [
      `${E}:4: handler.access_log is "yes": expected true, false or a sample rate greater than 0 and at most 1 (e.g. 0.1); false turns access lines off`,
    ],
  },
  {
    name: "unknown handler field with a suggestion",
    yaml: "name: iris\nhandler:\n  path: handler.ts\n  log_levle: debug\n",
    wantErr: [
      `${E}:4: handler.log_levle is not a known field: did you mean "log_level"?`,
    ],
  },
];

Deno.test("parseApiConfigs() validates handler fields", async (t) => {
  await runCases(t, cases);
});
