/**
 * Request bodies of the HTTP workloads, written to files that
 * lua/post_file.lua sends.
 *
 * @module
 */

/** One HTTP workload: a body file and its Content-Type. */
export interface Workload {
  name: "json" | "binary" | "multipart";
  label: string;
  file: string;
  contentType: string;
}

/** A small JSON document, like a typical prediction request. */
export const JSON_BODY = {
  name: "bench",
  label: 1,
  features: [5.1, 3.5, 1.4, 0.2, 4.9, 3.0, 1.4, 0.2],
  options: { topK: 3, explain: false, model: "iris-v1" },
};

/** Size of the binary upload. */
export const BINARY_BYTES = 1024 * 1024;
/** Size of the file part of the multipart upload. */
export const MULTIPART_FILE_BYTES = 64 * 1024;

/** Deterministic pseudo-random bytes (xorshift), so runs are comparable. */
export function pseudoRandomBytes(
  n: number,
  seed = 0x9e3779b9,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Writes the three workloads' bodies into `dir`. */
export async function writeWorkloads(dir: string): Promise<Workload[]> {
  const json = `${dir}/body.json`;
  await Deno.writeTextFile(json, JSON.stringify(JSON_BODY));
  const binary = `${dir}/body.bin`;
  await Deno.writeFile(binary, pseudoRandomBytes(BINARY_BYTES));
  const form = new FormData();
  form.append("name", "bench upload");
  form.append(
    "file",
    new File([pseudoRandomBytes(MULTIPART_FILE_BYTES, 7)], "sample.bin", {
      type: "application/octet-stream",
    }),
  );
  const encoded = new Request("http://localhost/", {
    method: "POST",
    body: form,
  });
  const multipart = `${dir}/body.multipart`;
  await Deno.writeFile(multipart, new Uint8Array(await encoded.arrayBuffer()));
  return [
    {
      name: "json",
      label: "JSON echo",
      file: json,
      contentType: "application/json",
    },
    {
      name: "binary",
      label: "1 MiB binary upload",
      file: binary,
      contentType: "application/octet-stream",
    },
    {
      name: "multipart",
      label: "Multipart upload (64 KiB file)",
      file: multipart,
      contentType: encoded.headers.get("content-type")!,
    },
  ];
}
