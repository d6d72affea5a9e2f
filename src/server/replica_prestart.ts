/**
 * The first replica of each API, started before the serving process loads
 * the rest of itself (issue 17): a replica process spends ~30-40 ms loading
 * its runtime before it can take its `init`, and the serving process about
 * as long loading its own modules, so the two now overlap instead of
 * following each other.
 *
 * A prestarted process is started with exactly the command the replica
 * pool computes (src/server/replica_launch.ts, same grants), connects to the
 * replica socket with its nonce and waits there for its `init`. The pool
 * adopts it only if the command it computes then is identical (else it is
 * killed and a fresh one started); the server ends those no pool claimed
 * once it has started. Only with a known HTTP port: with `--port 0` the
 * port a replica may listen on is not known before the server binds it.
 *
 * A serving process started ahead (src/supervisor/speculative_start.ts)
 * starts them even earlier, before its "go", from the prestart file the
 * supervisor wrote from the last start's record
 * ({@linkcode PrestartedReplicas.ahead}): the commands that start computed.
 * Once the project is read they are kept only if they are the commands
 * computed now (same replica id, same command), else killed and started
 * anew; the commands computed now are written to the prestart file for the
 * next record.
 *
 * @module
 */

import type { ApiConfig, Project } from "../config/resolved_config.ts";
import { type NetRules, ownPorts } from "../config/net_rules.ts";
import {
  type LaunchContext,
  nextReplicaId,
  replicaLaunch,
} from "./replica_launch.ts";
import {
  abandonReplicaProcess,
  type ReplicaCommand,
  type ReplicaProcess,
  sameCommand,
  spawnReplicaProcess,
} from "./replica_process.ts";
import { ReplicaSocket } from "./replica_socket.ts";
import { REPLICA_MAIN } from "./replica_command.ts";
import { moduleFlags, RAW_IMPORTS_FLAG } from "../wire/prepared_files.ts";
import {
  encodePrestartLaunches,
  parsePrestartLaunches,
  type PrestartLaunch,
} from "../wire/prestart_launches.ts";

/** A prestarted replica process and the id it was started for. */
export interface Prestarted {
  replicaId: string;
  process: ReplicaProcess;
  /** Started before "go", from the last start's prestart commands. */
  ahead?: boolean;
}

/** What {@linkcode PrestartedReplicas.start} needs of the serve options. */
export interface PrestartOptions {
  hostname: string;
  port: number;
  grpcPort: number;
  controlPort?: number;
  allowLoopbackNet?: boolean;
  onlyApi: string | null;
  scratchRoot: string;
  /** The replica socket's path. */
  replicaSocket: string;
  modules?: LaunchContext["modules"];
  modelFiles?: Record<string, string>;
  /** Where to write the commands computed (`--prestart-file`). */
  prestartFile?: string;
}

/**
 * Whether `l` starts this runtime's replica entry with this Deno and only
 * Deno flags src/server/replica_command.ts gives, with the serving process's
 * own import map and lockfile (a prestart file names nothing else). It runs
 * before anything is compared, so no flag may make it load other code
 * (`--preload`, `--import`, another import map or config, `--inspect`, ...);
 * its grants may differ: it runs nothing but the runtime's own code before
 * its `init`, which only a replica whose command is the computed one gets.
 */
export function isReplicaLaunch(
  l: PrestartLaunch,
  modules: { importMap: string; lock: string },
): boolean {
  const main = l.args.indexOf(REPLICA_MAIN);
  const exact = new Set([
    "--unstable-net",
    "--unstable-no-legacy-abort",
    RAW_IMPORTS_FLAG,
    "--no-prompt",
    ...moduleFlags(modules, { frozen: true }),
  ]);
  const valued =
    /^--(allow-read|allow-write|allow-net)=.|^--v8-flags=--max-old-space-size=\d+$/;
  return l.command === Deno.execPath() && l.args[0] === "run" && main > 0 &&
    main === l.args.length - 1 &&
    l.args.slice(1, main).every((a) => exact.has(a) || valued.test(a));
}

/** The first replica process of each API, until a pool claims it. */
export class PrestartedReplicas {
  /** The replica socket, opened here; the server takes it over. */
  readonly socket: ReplicaSocket;
  readonly #byApi = new Map<string, Prestarted>();

  private constructor(socket: ReplicaSocket) {
    this.socket = socket;
  }

  /**
   * Before "go": opens the replica socket and starts the replicas the
   * prestart file at `path` lists (null when there is none, or it cannot
   * be read). Each waits for its `init`; none is used before
   * {@linkcode PrestartedReplicas.start} has compared its command.
   */
  static ahead(
    path: string,
    opts: {
      replicaSocket: string;
      scratchRoot: string;
      modules: { importMap: string; lock: string };
    },
  ): PrestartedReplicas | null {
    let launches: PrestartLaunch[];
    try {
      launches = parsePrestartLaunches(Deno.readTextFileSync(path));
    } catch {
      return null;
    }
    const ahead = new PrestartedReplicas(
      ReplicaSocket.open(opts.replicaSocket),
    );
    for (const l of launches) {
      if (!isReplicaLaunch(l, opts.modules) || ahead.#byApi.has(l.api)) {
        continue;
      }
      try {
        Deno.mkdirSync(`${opts.scratchRoot}/${l.replicaId}`, {
          recursive: true,
        });
        const launch = { command: l.command, args: l.args, cwd: l.cwd };
        ahead.#byApi.set(l.api, {
          replicaId: l.replicaId,
          process: spawnReplicaProcess(launch, ahead.socket),
          ahead: true,
        });
      } catch {
        // Started after "go" instead.
      }
    }
    return ahead;
  }

  /**
   * Opens the replica socket (or takes over that of `ahead`) and starts the
   * first replica of each API `project` serves, keeping a replica of
   * `ahead` where its command is the one computed now. The listen address
   * follows the server's rule: the replicas of the only HTTP API listen
   * themselves.
   */
  static start(
    project: Project,
    opts: PrestartOptions,
    ahead?: PrestartedReplicas | null,
  ): PrestartedReplicas {
    const early = ahead ??
      new PrestartedReplicas(ReplicaSocket.open(opts.replicaSocket));
    const startedAhead = new Map(early.#byApi);
    early.#byApi.clear();
    const apis = project.apis.filter((a) =>
      opts.onlyApi === null || a.name === opts.onlyApi
    );
    const http = apis.filter((a) => a.handler.protobufPath === null);
    const rules: NetRules = {
      allowLoopback: opts.allowLoopbackNet ?? false,
      ownPorts: ownPorts({
        http: opts.port,
        grpc: opts.grpcPort,
        control: opts.controlPort ?? null,
      }),
    };
    const ctx: LaunchContext = {
      project,
      rules,
      socket: early.socket.address,
      modules: opts.modules,
      modelFiles: opts.modelFiles,
    };
    const launches: PrestartLaunch[] = [];
    for (const api of apis) {
      const launch = early.#start(
        api,
        ctx,
        opts,
        http.length === 1,
        startedAhead.get(api.name),
      );
      startedAhead.delete(api.name);
      if (launch) launches.push(launch);
    }
    // Started ahead for an API not served now.
    for (const { process } of startedAhead.values()) {
      abandonReplicaProcess(process);
    }
    if (opts.prestartFile) writeLaunches(opts.prestartFile, launches);
    return early;
  }

  /** Starts (or keeps `ahead`) the first replica of `api`; its launch. */
  #start(
    api: ApiConfig,
    ctx: LaunchContext,
    opts: PrestartOptions,
    soleHttpApi: boolean,
    ahead: Prestarted | undefined,
  ): PrestartLaunch | null {
    const replicaId = nextReplicaId(api.name);
    const scratchDir = `${opts.scratchRoot}/${replicaId}`;
    const listen = api.handler.protobufPath === null && soleHttpApi
      ? { hostname: opts.hostname, port: opts.port }
      : null;
    let launch: ReplicaCommand;
    try {
      Deno.mkdirSync(scratchDir, { recursive: true });
      launch = replicaLaunch(ctx, api, scratchDir, listen);
    } catch {
      // The pool computes the command again and reports what is wrong.
      if (ahead) abandonReplicaProcess(ahead.process);
      return null;
    }
    if (
      ahead && ahead.replicaId === replicaId &&
      sameCommand(ahead.process.launch, launch)
    ) {
      this.#byApi.set(api.name, ahead);
    } else {
      if (ahead) abandonReplicaProcess(ahead.process);
      try {
        this.#byApi.set(api.name, {
          replicaId,
          process: spawnReplicaProcess(launch, this.socket),
        });
      } catch {
        // As above: the pool starts it and reports what is wrong.
      }
    }
    return {
      api: api.name,
      replicaId,
      command: launch.command,
      args: launch.args,
      cwd: launch.cwd ?? ctx.project.dir,
    };
  }

  /** The prestarted process of API `api`, once (null when none). */
  claim(api: string): Prestarted | null {
    const found = this.#byApi.get(api) ?? null;
    this.#byApi.delete(api);
    return found;
  }

  /** Ends every process no pool claimed. */
  discard(): void {
    for (const { process } of this.#byApi.values()) {
      abandonReplicaProcess(process);
    }
    this.#byApi.clear();
  }
}

/** Writes the prestart file (a new file renamed over the old). */
function writeLaunches(path: string, launches: PrestartLaunch[]): void {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, encodePrestartLaunches(launches));
    Deno.renameSync(tmp, path);
  } catch {
    // Only the next start's head start is lost.
    try {
      Deno.removeSync(tmp);
    } catch { /* not written */ }
  }
}
