import assert from "node:assert/strict";
import { HttpError } from "../errors/http_error.ts";
import {
  BODY_PARSERS,
  bodyHeadersOf,
  charsetOf,
  hasBody,
  mediaTypeOf,
  parsePayload,
} from "./payload.ts";

const URL_ = "http://test/payload";

/** A POST with `body` and, when given, a Content-Type. */
function post(body: BodyInit | null, contentType?: string): Request {
  const headers = new Headers();
  if (contentType !== undefined) headers.set("content-type", contentType);
  return new Request(URL_, { method: "POST", body, headers });
}

Deno.test("mediaTypeOf() drops parameters and lower-cases", () => {
  const table: Array<[string | null, string]> = [
    ["application/json", "application/json"],
    ["Application/JSON; charset=UTF-8", "application/json"],
    ["  text/plain ;charset=latin1", "text/plain"],
    ["", ""],
    [null, ""],
  ];
  for (const [given, want] of table) {
    assert.equal(mediaTypeOf(given), want, `mediaTypeOf(${given})`);
  }
});

Deno.test("charsetOf() finds the charset parameter, unquoted and lower-cased", () => {
  const table: Array<[string, string | null]> = [
    ["text/plain; charset=UTF-8", "utf-8"],
    ['text/plain; charset="ISO-8859-1"', "iso-8859-1"],
    ["text/plain; format=flowed; CHARSET=latin1", "latin1"],
    ["text/plain", null],
    ["text/plain; charsetx=utf-8", null],
  ];
  for (const [given, want] of table) {
    assert.equal(charsetOf(given), want, `charsetOf(${given})`);
  }
});

Deno.test("BODY_PARSERS: the first matching rule per media type", () => {
  const table: Array<[string, string | null]> = [
    ["application/json", "json"],
    ["application/vnd.api+json", "json"],
    ["application/problem+json", "json"],
    ["application/jsonx", null],
    ["multipart/form-data", "form"],
    ["application/x-www-form-urlencoded", "form"],
    ["text/plain", "text"],
    ["text/html", null],
    ["application/octet-stream", null],
    ["", null],
  ];
  for (const [mediaType, want] of table) {
    const rule = BODY_PARSERS.find((p) => p.test(mediaType));
    assert.equal(rule?.name ?? null, want, mediaType);
  }
});

Deno.test("hasBody() trusts the headers first, then the body", () => {
  const table: Array<[string, Request, boolean]> = [
    ["GET", new Request(URL_), false],
    [
      "Content-Length: 0",
      new Request(URL_, { headers: { "content-length": "0" } }),
      false,
    ],
    [
      "Content-Length: 3",
      new Request(URL_, { headers: { "content-length": "3" } }),
      true,
    ],
    [
      "Transfer-Encoding",
      new Request(URL_, { headers: { "transfer-encoding": "chunked" } }),
      true,
    ],
    ["a body built in code", post("x"), true],
  ];
  for (const [name, req, want] of table) {
    assert.equal(hasBody(req), want, name);
  }
});

Deno.test("parsePayload(): each Content-Type gives its value", async () => {
  const table: Array<[string, Request, unknown]> = [
    ["no body", new Request(URL_), undefined],
    ["JSON", post('{"a":[1,"x"]}', "application/json"), { a: [1, "x"] }],
    ["JSON scalar", post("7", "application/json"), 7],
    ["+json", post("[true,null]", "application/vnd.api+json"), [true, null]],
    ["text, utf-8 by default", post("naïve ☃", "text/plain"), "naïve ☃"],
    [
      "text, latin-1",
      post(
        new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
        "text/plain; charset=iso-8859-1",
      ),
      "café",
    ],
    [
      "unknown type: bytes",
      post(new Uint8Array([5, 6, 7]), "application/x-custom"),
      new Uint8Array([5, 6, 7]),
    ],
    [
      "no type: bytes",
      post(new Uint8Array([200, 1])),
      new Uint8Array([200, 1]),
    ],
    ["empty body without a type", post(new Uint8Array(0)), undefined],
  ];
  for (const [name, req, want] of table) {
    assert.deepEqual(await parsePayload(req), want, name);
  }
});

Deno.test("parsePayload(): forms become FormData", async () => {
  const form = new FormData();
  form.append("title", "report");
  form.append("upload", new File([new Uint8Array(12)], "data.bin"));
  const multipart = await parsePayload(post(form)) as FormData;
  assert.equal(multipart.get("title"), "report");
  assert.equal((multipart.get("upload") as File).size, 12);
  const urlencoded = await parsePayload(
    post(new URLSearchParams({ b: "é & ü" })),
  ) as FormData;
  assert.equal(urlencoded.get("b"), "é & ü");
});

Deno.test("parsePayload(): bodies that do not parse are HttpError(400) naming the problem", async () => {
  const table: Array<[string, Request, RegExp]> = [
    [
      "bad JSON",
      post('{"a": 1,', "application/json"),
      /Cannot parse JSON body/,
    ],
    [
      "unknown charset",
      post("abc", "text/plain; charset=klingon-8"),
      /unknown charset "klingon-8"/,
    ],
    [
      "invalid utf-8",
      post(new Uint8Array([0x61, 0xff, 0xfe]), "text/plain; charset=utf-8"),
      /not valid "utf-8"/,
    ],
    [
      "multipart cut short",
      post(
        '--XYZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue',
        "multipart/form-data; boundary=XYZ",
      ),
      /multipart\/form-data.*closing boundary "--XYZ--"/,
    ],
    [
      "multipart without a boundary",
      post("whatever", "multipart/form-data"),
      /Cannot parse multipart\/form-data body/,
    ],
  ];
  for (const [name, req, message] of table) {
    await assert.rejects(
      () => parsePayload(req),
      (error: unknown) => {
        assert.ok(error instanceof HttpError, name);
        assert.equal(error.status, 400, name);
        assert.match(error.message, message, name);
        return true;
      },
    );
  }
});

/** A POST with `body` and these headers. */
function postWith(body: string, headers: Record<string, string>): Request {
  return new Request(URL_, { method: "POST", body, headers });
}

Deno.test("parsePayload() with headers the caller read: JSON, text, none", async () => {
  const json = postWith('{"a":1}', { "content-type": "application/json" });
  assert.deepEqual(await parsePayload(json, bodyHeadersOf(json)), { a: 1 });
  const text = postWith("hi", { "content-type": "text/plain" });
  assert.equal(
    await parsePayload(text, { contentLength: "2", contentType: "text/plain" }),
    "hi",
  );
  // A declared empty body is no body, whatever the request holds.
  const empty = postWith("", { "content-type": "application/json" });
  assert.equal(
    await parsePayload(empty, {
      contentLength: "0",
      contentType: "application/json",
    }),
    undefined,
  );
});

Deno.test("parsePayload(): bad JSON on the application/json fast path is a 400 too", async () => {
  const error = await parsePayload(postWith("{", {
    "content-type": "application/json",
  })).then(() => null, (e) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 400);
  assert.match(error.message, /^Cannot parse JSON body: /);
});
