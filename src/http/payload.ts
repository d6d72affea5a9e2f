/**
 * Request body → handler payload, by Content-Type (README "Requests and responses").
 * The dispatch is a table so each rule is tested on its own.
 *
 * @module
 */

import { HttpError } from "../errors/http_error.ts";

/** Parses a request body into a payload; throws HttpError(400) on bad input. */
type BodyParser = (req: Request, contentType: string) => Promise<unknown>;

/** What a failed `req.json()` means: 400 for a parse error, else `error`. */
export function jsonBodyError(error: unknown): unknown {
  return error instanceof SyntaxError
    ? new HttpError(400, `Cannot parse JSON body: ${error.message}`)
    : error;
}

function jsonError(error: unknown): never {
  throw jsonBodyError(error);
}

function parseJson(req: Request): Promise<unknown> {
  // Deno's own req.json() is the fastest path (native UTF-8 decoding; like
  // most servers, invalid UTF-8 inside strings becomes U+FFFD). Not an async
  // function: one promise per body, not three (this is the hot path).
  return req.json().then(undefined, jsonError);
}

async function parseForm(req: Request, contentType: string): Promise<unknown> {
  const multipart = mediaTypeOf(contentType) === "multipart/form-data";
  const kind = multipart
    ? "multipart/form-data"
    : "application/x-www-form-urlencoded";
  try {
    if (!multipart) return await req.formData();
    // Deno's parser returns an empty FormData for a truncated body, so check
    // for the close delimiter first.
    const bytes = new Uint8Array(await req.arrayBuffer());
    const boundary = paramOf(contentType, "boundary", false);
    if (boundary && !endsMultipart(bytes, boundary)) {
      throw new TypeError(`missing the closing boundary "--${boundary}--"`);
    }
    return await new Request(req.url, {
      method: "POST",
      headers: { "content-type": contentType },
      body: bytes,
    }).formData();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(
      400,
      `Cannot parse ${kind} body: ${(error as Error).message}`,
    );
  }
}

/** True when `bytes` holds the multipart close delimiter `--boundary--`. */
function endsMultipart(bytes: Uint8Array, boundary: string): boolean {
  const needle = new TextEncoder().encode(`--${boundary}--`);
  outer: for (let i = bytes.length - needle.length; i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) {
      if (bytes[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

async function parseText(req: Request, contentType: string): Promise<string> {
  return await decodeText(req, charsetOf(contentType) ?? "utf-8");
}

async function parseBytes(req: Request): Promise<Uint8Array> {
  return new Uint8Array(await req.arrayBuffer());
}

// One-shot decode() keeps no state, so decoders can be shared.
const decoders = new Map<string, TextDecoder>();

async function decodeText(req: Request, charset: string): Promise<string> {
  let decoder = decoders.get(charset);
  try {
    if (!decoder) {
      decoder = new TextDecoder(charset, { fatal: true });
      if (decoders.size < 64) decoders.set(charset, decoder);
    }
  } catch {
    throw new HttpError(
      400,
      `Cannot decode body: unknown charset "${charset}" in Content-Type`,
    );
  }
  const bytes = new Uint8Array(await req.arrayBuffer());
  try {
    return decoder.decode(bytes);
  } catch {
    throw new HttpError(
      400,
      `Cannot decode body: bytes are not valid "${charset}"`,
    );
  }
}

/** Returns the `charset` parameter of a Content-Type, lower-cased, unquoted. */
export function charsetOf(contentType: string): string | null {
  return paramOf(contentType, "charset", true);
}

/** Returns a Content-Type parameter, unquoted (lower-cased when asked). */
function paramOf(
  contentType: string,
  name: string,
  lower: boolean,
): string | null {
  for (const part of contentType.split(";").slice(1)) {
    const [key, ...rest] = part.split("=");
    if (key?.trim().toLowerCase() === name) {
      const value = rest.join("=").trim().replace(/^"(.*)"$/, "$1");
      return lower ? value.toLowerCase() : value;
    }
  }
  return null;
}

/** Media type (no parameters), lower-cased. */
export function mediaTypeOf(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** Content-Type rules in order; the first whose test matches wins. */
export const BODY_PARSERS: ReadonlyArray<
  { name: string; test: (mediaType: string) => boolean; parse: BodyParser }
> = [
  {
    name: "json",
    test: (t) =>
      t === "application/json" || /^[\w.+-]+\/[\w.+-]+\+json$/.test(t),
    parse: parseJson,
  },
  {
    name: "form",
    test: (t) =>
      t === "multipart/form-data" || t === "application/x-www-form-urlencoded",
    parse: parseForm,
  },
  { name: "text", test: (t) => t === "text/plain", parse: parseText },
];

/**
 * The two headers a body's parsing reads, when the caller has read them
 * already (each `headers.get` on a served request costs a header-list walk).
 */
export interface BodyHeaders {
  contentLength: string | null;
  contentType: string | null;
}

/** Reads {@linkcode BodyHeaders} from a request. */
export function bodyHeadersOf(req: Request): BodyHeaders {
  return {
    contentLength: req.headers.get("content-length"),
    contentType: req.headers.get("content-type"),
  };
}

/**
 * Whether a request carries a body. HTTP/1.1 says so in its headers, which
 * is checked first: touching `req.body` turns the body into a stream and
 * loses Deno's fast whole-body read. Without either header (HTTP/2, or a
 * Request built in code) the body itself tells.
 */
export function hasBody(
  req: Request,
  length: string | null = req.headers.get("content-length"),
): boolean {
  if (length !== null) return length !== "0";
  return req.headers.has("transfer-encoding") || req.body !== null;
}

const JSON_TYPE = "application/json";

/**
 * Parses `req`'s body into the handler's payload: `undefined` when there is
 * no body, else per BODY_PARSERS, else the raw bytes. `head` saves reading
 * the headers again when the caller has them.
 */
export function parsePayload(
  req: Request,
  head: BodyHeaders = bodyHeadersOf(req),
): Promise<unknown> {
  if (!hasBody(req, head.contentLength)) return Promise.resolve(undefined);
  const contentType = head.contentType ?? "";
  // The common case skips the media-type parsing and the table.
  if (contentType === JSON_TYPE) return parseJson(req);
  return parseOther(req, contentType);
}

async function parseOther(req: Request, contentType: string): Promise<unknown> {
  const mediaType = mediaTypeOf(contentType);
  const parser = BODY_PARSERS.find((p) => p.test(mediaType));
  if (parser) return await parser.parse(req, contentType);
  const bytes = await parseBytes(req);
  // A GET with an empty body is "no body" as far as handlers are concerned.
  return bytes.byteLength === 0 && !contentType ? undefined : bytes;
}
