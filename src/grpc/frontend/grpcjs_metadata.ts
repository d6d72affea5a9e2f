/**
 * Conversion between grpc-js `Metadata` and the plain records that cross the
 * Worker boundary.
 *
 * @module
 */

import { Metadata } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
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
 * @returns grpc-js metadata
 */
export function recordToMetadata(
  record: GrpcMetadata | undefined,
  onInvalid: (reason: string) => void,
): Metadata {
  const md = new Metadata();
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
