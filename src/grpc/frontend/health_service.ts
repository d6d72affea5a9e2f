/**
 * Standard health checking (`grpc.health.v1.Health`): Check, List and Watch,
 * per service and for the whole server ("").
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";
import {
  type sendUnaryData,
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import { schemaSerializers } from "./codec.ts";
import {
  type HealthCheckRequest,
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Serving,
  HealthCheckResponseSchema,
  type HealthListRequest,
  HealthListRequestSchema,
  type HealthListResponse,
  HealthListResponseSchema,
} from "../gen/grpc/health/v1/health_pb.ts";

const PREFIX = "/grpc.health.v1.Health/";

type Watcher = {
  service: string;
  call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;
  last: Serving | null;
};

/** The health service of the gRPC server. */
export class HealthService {
  #apiOf: ReadonlyMap<string, string>;
  #isServing: (api: string) => boolean;
  #overrides = new Map<string, boolean>();
  #watchers = new Set<Watcher>();
  #down = false;

  /**
   * @param apiOf the API that serves each full service name
   * @param isServing the core's view of an API's readiness
   */
  constructor(
    apiOf: ReadonlyMap<string, string>,
    isServing: (api: string) => boolean,
  ) {
    this.#apiOf = apiOf;
    this.#isServing = isServing;
  }

  /** Registers Check, List and Watch on `server`. */
  register(server: Server): void {
    const req = schemaSerializers<HealthCheckRequest>(HealthCheckRequestSchema);
    const res = schemaSerializers<HealthCheckResponse>(
      HealthCheckResponseSchema,
    );
    const listReq = schemaSerializers<HealthListRequest>(
      HealthListRequestSchema,
    );
    const listRes = schemaSerializers<HealthListResponse>(
      HealthListResponseSchema,
    );
    server.register(
      `${PREFIX}Check`,
      (
        call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        cb: sendUnaryData<HealthCheckResponse>,
      ) => {
        const s = this.status(call.request.service);
        if (s === Serving.SERVICE_UNKNOWN) {
          cb({
            code: status.NOT_FOUND,
            details: `Unknown service "${call.request.service}"`,
          });
        } else cb(null, create(HealthCheckResponseSchema, { status: s }));
      },
      res.serialize,
      req.deserialize,
      "unary",
    );
    server.register(
      `${PREFIX}List`,
      (_call: unknown, cb: sendUnaryData<HealthListResponse>) => {
        const statuses: Record<string, HealthCheckResponse> = {};
        for (const name of ["", ...this.#apiOf.keys()]) {
          statuses[name] = create(HealthCheckResponseSchema, {
            status: this.status(name),
          });
        }
        cb(null, create(HealthListResponseSchema, { statuses }));
      },
      listRes.serialize,
      listReq.deserialize,
      "unary",
    );
    server.register(
      `${PREFIX}Watch`,
      (call: Watcher["call"]) => {
        const w: Watcher = { service: call.request.service, call, last: null };
        this.#watchers.add(w);
        call.on("cancelled", () => this.#watchers.delete(w));
        this.#notify(w);
      },
      res.serialize,
      req.deserialize,
      "serverStream",
    );
  }

  /**
   * The status of a full service name, or of the server for "".
   *
   * @returns SERVICE_UNKNOWN for a name no API serves
   */
  status(service: string): Serving {
    if (service !== "" && !this.#apiOf.has(service)) {
      return Serving.SERVICE_UNKNOWN;
    }
    if (this.#down) return Serving.NOT_SERVING;
    const apis = service === ""
      ? [...new Set(this.#apiOf.values())]
      : [this.#apiOf.get(service)!];
    const up = apis.every((api) =>
      this.#overrides.get(api) ?? this.#isServing(api)
    );
    return up ? Serving.SERVING : Serving.NOT_SERVING;
  }

  /** Sets an API's status (overriding `isServing`) and tells watchers. */
  setServing(api: string, serving: boolean): void {
    this.#overrides.set(api, serving);
    for (const w of this.#watchers) this.#notify(w);
  }

  /** Reports NOT_SERVING everywhere and ends every Watch. */
  shutdown(): void {
    this.#down = true;
    for (const w of this.#watchers) {
      this.#notify(w);
      w.call.end();
    }
    this.#watchers.clear();
  }

  #notify(w: Watcher): void {
    const s = this.status(w.service);
    if (s === w.last) return;
    w.last = s;
    w.call.write(create(HealthCheckResponseSchema, { status: s }));
  }
}
