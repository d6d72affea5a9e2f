import assert from "node:assert/strict";
import { Metadata } from "@grpc/grpc-js";
import { sensitiveHeaders } from "node:http2";
import {
  metadataToRecord,
  recordToMetadata,
  UnindexedMetadata,
} from "./grpcjs_metadata.ts";

Deno.test("UnindexedMetadata marks its keys as never indexed for node:http2", () => {
  const md = new UnindexedMetadata(["x-request-id"]);
  md.set("x-request-id", "abc");
  md.set("x-other", "1");
  const headers = md.toHttp2Headers() as Record<string | symbol, unknown>;
  assert.deepEqual(headers["x-request-id"], "abc");
  assert.deepEqual(headers["x-other"], "1");
  assert.deepEqual(headers[sensitiveHeaders], ["x-request-id"]);
  // grpc-js merges the headers with Object.assign, which keeps the mark.
  const merged = Object.assign({ ":status": 200 }, headers);
  assert.deepEqual(merged[sensitiveHeaders], ["x-request-id"]);
});

Deno.test("plain Metadata carries no never-indexed mark", () => {
  const headers = new Metadata().toHttp2Headers() as Record<symbol, unknown>;
  assert.deepEqual(headers[sensitiveHeaders], undefined);
});

Deno.test("recordToMetadata fills the metadata it is given", () => {
  const md = new UnindexedMetadata(["x-request-id"]);
  const dropped: string[] = [];
  const out = recordToMetadata(
    { "x-a": "1", "x-b-bin": btoa("hi"), "bad key": "x" },
    (reason) => dropped.push(reason),
    md,
  );
  assert.deepEqual(out, md);
  assert.deepEqual(metadataToRecord(out), {
    "x-a": "1",
    "x-b-bin": btoa("hi"),
  });
  assert.deepEqual(dropped.length, 1);
});
