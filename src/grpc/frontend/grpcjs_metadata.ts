/**
 * Conversion between grpc-js `Metadata` and the plain records that cross the
 * Worker boundary.
 *
 * @module
 */

import { Metadata } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { sensitiveHeaders } from "node:http2";
import type { GrpcMetadata } from "../common/protocol.ts";
import {
  appendMetadata,
  checkMetadataEntry,
} from "../common/metadata_record.ts";

/**
 * Converts grpc-js metadata to a plain record; binary values become base64.
 *
 * @param metadata request metadata from grpc-js
 * @returns a structured-clonable record
 */
export function metadataToRecord(metadata: Metadata): GrpcMetadata {
  const out: GrpcMetadata = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const v of values) {
      const s = typeof v === "string" ? v : Buffer.from(v).toString("base64");
      appendMetadata(out, key, s);
    }
  }
  return out;
}

/**
 * Converts a plain record to grpc-js metadata; values of `-bin` keys are
 * decoded from base64. Entries grpc-js would reject are skipped.
 *
 * @param record metadata from a replica
 * @param onInvalid called with the reason for each skipped entry
 * @param md the metadata to add the entries to (default: a new one)
 * @returns `md`
 */
export function recordToMetadata(
  record: GrpcMetadata | undefined,
  onInvalid: (reason: string) => void,
  md: Metadata = new Metadata(),
): Metadata {
  for (const [key, values] of Object.entries(record ?? {})) {
    for (const v of Array.isArray(values) ? values : [values]) {
      try {
        checkMetadataEntry(key, v);
        if (key.endsWith("-bin")) md.add(key, Buffer.from(v, "base64"));
        else md.add(key, v);
      } catch (err) {
        onInvalid((err as Error).message);
      }
    }
  }
  return md;
}

/**
 * Metadata some of whose keys HTTP/2 sends as "never indexed" literals
 * (node:http2's `sensitiveHeaders`), outside HPACK's dynamic table.
 *
 * For a value that differs on every call (`x-request-id`): indexed, each one
 * would enter the connection's table, evict entries that other headers
 * reuse, and never be reused itself. Measured in the gRPC process under
 * load (unary echo, 64 connections, Deno 2.9): node:http2's
 * `getOutgoingChunk`, which encodes the headers, took 14% of the CPU with a
 * fresh request id indexed in every response and 5% without it.
 */
export class UnindexedMetadata extends Metadata {
  readonly #unindexed: string[];

  /** @param unindexed lower-case keys never to index */
  constructor(unindexed: string[]) {
    super();
    this.#unindexed = unindexed;
  }

  /** grpc-js's headers, marking the unindexed keys for node:http2. */
  override toHttp2Headers(): ReturnType<Metadata["toHttp2Headers"]> {
    const headers = super.toHttp2Headers();
    (headers as Record<symbol, unknown>)[sensitiveHeaders] = this.#unindexed;
    return headers;
  }
}
