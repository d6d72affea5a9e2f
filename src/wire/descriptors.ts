/**
 * Compiles every gRPC API's .proto before the server starts, so the serving
 * process needs no compiler and no permission to run one (like a compiled
 * binary, which embeds the same descriptors).
 *
 * @module
 */

import type { Project } from "../config/resolved_config.ts";
import { compileProto } from "../grpc/build/proto_compile.ts";

/** Compiled FileDescriptorSets by proto path, or the compile error. */
export type DescriptorMap = Record<
  string,
  { set?: Uint8Array; error?: string }
>;

/** Compiles the protos of all gRPC APIs of the project. */
export async function compileDescriptors(
  project: Project,
): Promise<DescriptorMap> {
  const out: DescriptorMap = {};
  for (const api of project.apis) {
    const path = api.handler.protobufPath;
    if (path === null || out[path]) continue;
    try {
      out[path] = { set: await compileProto(project.dir, path) };
    } catch (error) {
      out[path] = { error: (error as Error).message };
    }
  }
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** JSON form (base64 sets) for a file or an embedded module. */
export function encodeDescriptors(map: DescriptorMap): string {
  const plain: Record<string, { set?: string; error?: string }> = {};
  for (const [path, d] of Object.entries(map)) {
    plain[path] = d.set ? { set: toBase64(d.set) } : { error: d.error ?? "" };
  }
  return JSON.stringify(plain);
}

/** Inverse of {@linkcode encodeDescriptors}. */
export function decodeDescriptors(text: string): DescriptorMap {
  const plain = JSON.parse(text) as Record<
    string,
    { set?: string; error?: string }
  >;
  const out: DescriptorMap = {};
  for (const [path, d] of Object.entries(plain)) {
    out[path] = d.set
      ? { set: Uint8Array.from(atob(d.set), (c) => c.charCodeAt(0)) }
      : { error: d.error ?? "" };
  }
  return out;
}
