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
  type ReplicaProcess,
  spawnReplicaProcess,
} from "./replica_process.ts";
import { ReplicaSocket } from "./replica_socket.ts";

/** A prestarted replica process and the id it was started for. */
export interface Prestarted {
  replicaId: string;
  process: ReplicaProcess;
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
   * Opens the replica socket and starts the first replica of each API
   * `project` serves. The listen address follows the server's rule: the
   * replicas of the only HTTP API listen themselves.
   */
  static start(project: Project, opts: PrestartOptions): PrestartedReplicas {
    const early = new PrestartedReplicas(
      ReplicaSocket.open(opts.replicaSocket),
    );
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
    for (const api of apis) early.#start(api, ctx, opts, http.length === 1);
    return early;
  }

  #start(
    api: ApiConfig,
    ctx: LaunchContext,
    opts: PrestartOptions,
    soleHttpApi: boolean,
  ): void {
    const replicaId = nextReplicaId(api.name);
    const scratchDir = `${opts.scratchRoot}/${replicaId}`;
    const listen = api.handler.protobufPath === null && soleHttpApi
      ? { hostname: opts.hostname, port: opts.port }
      : null;
    try {
      Deno.mkdirSync(scratchDir, { recursive: true });
      const launch = replicaLaunch(ctx, api, scratchDir, listen);
      this.#byApi.set(api.name, {
        replicaId,
        process: spawnReplicaProcess(launch, this.socket),
      });
    } catch {
      // The pool computes the command again and reports what is wrong.
    }
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
