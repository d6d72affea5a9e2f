/**
 * Server reflection (`grpc.reflection.v1` and `v1alpha`), so that stock
 * clients such as grpcurl can list and call services without the `.proto`.
 *
 * @module
 */

import {
  create,
  createFileRegistry,
  type DescFile,
  type FileRegistry,
  toBinary,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import type { Server, ServerDuplexStream } from "@grpc/grpc-js";
import { schemaSerializers } from "./codec.ts";
import { Code } from "../common/grpc_error.ts";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";

type Request = v1.ServerReflectionRequest;
type Response = v1.ServerReflectionResponse;
type Answer = Response["messageResponse"];

/** The reflection services of the gRPC server. */
export class ReflectionService {
  #registry: FileRegistry;
  #services: string[];

  /**
   * @param files every file the server knows, dependencies included;
   * duplicates by name are ignored
   * @param services the full names of every served service
   */
  constructor(files: FileDescriptorProto[], services: string[]) {
    const byName = new Map<string, FileDescriptorProto>();
    for (const f of files) if (!byName.has(f.name)) byName.set(f.name, f);
    this.#registry = createFileRegistry(
      create(FileDescriptorSetSchema, { file: [...byName.values()] }),
    );
    this.#services = [...services].sort();
  }

  /** Registers both versions of ServerReflectionInfo on `server`. */
  register(server: Server): void {
    for (const [version, gen] of [["v1", v1], ["v1alpha", v1alpha]] as const) {
      const req = schemaSerializers<Request>(gen.ServerReflectionRequestSchema);
      const res = schemaSerializers<Response>(
        gen.ServerReflectionResponseSchema,
      );
      server.register(
        `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
        (call: ServerDuplexStream<Request, Response>) => {
          call.on("data", (request: Request) => {
            const response = create(gen.ServerReflectionResponseSchema, {
              validHost: request.host,
              originalRequest: request,
              messageResponse: this.answer(request),
            } as never);
            call.write(response as Response);
          });
          call.on("end", () => call.end());
          call.on("error", () => {});
        },
        res.serialize,
        req.deserialize,
        "bidi",
      );
    }
  }

  /** Answers one reflection request (the `message_response` oneof). */
  answer(request: Request): Answer {
    const r = request.messageRequest;
    switch (r.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: create(v1.ListServiceResponseSchema, {
            service: this.#services.map((name) => ({ name })),
          }),
        };
      case "fileByFilename":
        return this.#files(this.#registry.getFile(r.value), r.value);
      case "fileContainingSymbol":
        return this.#files(this.#fileOfSymbol(r.value), r.value);
      case "fileContainingExtension": {
        const msg = this.#registry.getMessage(r.value.containingType);
        const ext = msg &&
          this.#registry.getExtensionFor(msg, r.value.extensionNumber);
        return this.#files(
          ext?.file,
          `${r.value.containingType}(${r.value.extensionNumber})`,
        );
      }
      case "allExtensionNumbersOfType": {
        if (this.#registry.getMessage(r.value) === undefined) {
          return notFound(`Type "${r.value}" not found`);
        }
        const numbers: number[] = [];
        for (const d of this.#registry) {
          if (d.kind === "extension" && d.extendee.typeName === r.value) {
            numbers.push(d.number);
          }
        }
        return {
          case: "allExtensionNumbersResponse",
          value: create(v1.ExtensionNumberResponseSchema, {
            baseTypeName: r.value,
            extensionNumber: numbers,
          }),
        };
      }
      default:
        return {
          case: "errorResponse",
          value: create(v1.ErrorResponseSchema, {
            errorCode: Code.INVALID_ARGUMENT,
            errorMessage: "Empty reflection request",
          }),
        };
    }
  }

  #fileOfSymbol(symbol: string): DescFile | undefined {
    const name = symbol.replace(/^\./, "");
    const desc = this.#registry.get(name);
    if (desc !== undefined) return desc.file;
    // A method, field or enum value: look up its parent.
    const parent = this.#registry.get(name.slice(0, name.lastIndexOf(".")));
    const member = name.slice(name.lastIndexOf(".") + 1);
    if (parent?.kind === "service") {
      return parent.methods.some((m) => m.name === member)
        ? parent.file
        : undefined;
    }
    if (parent?.kind === "message") {
      return parent.fields.some((f) => f.name === member)
        ? parent.file
        : undefined;
    }
    return undefined;
  }

  #files(file: DescFile | undefined, what: string): Answer {
    if (file === undefined) {
      return notFound(`Symbol or file "${what}" not found`);
    }
    const seen = new Set<DescFile>();
    const order: DescFile[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f)) return;
      seen.add(f);
      order.push(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return {
      case: "fileDescriptorResponse",
      value: create(v1.FileDescriptorResponseSchema, {
        fileDescriptorProto: order.map((f) =>
          toBinary(FileDescriptorProtoSchema, f.proto)
        ),
      }),
    };
  }
}

function notFound(message: string): Answer {
  return {
    case: "errorResponse",
    value: create(v1.ErrorResponseSchema, {
      errorCode: Code.NOT_FOUND,
      errorMessage: message,
    }),
  };
}
