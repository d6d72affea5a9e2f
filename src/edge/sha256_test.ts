import assert from "node:assert/strict";
import * as nodeCrypto from "node:crypto";
import { sha256, timingSafeEqual } from "./sha256.ts";

const hex = (b: Uint8Array) =>
  [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const nodeSha256 = (data: string | Uint8Array) =>
  nodeCrypto.createHash("sha256").update(data).digest("hex");

Deno.test("sha256: the FIPS 180-4 examples and the empty message", () => {
  assert.equal(
    hex(sha256("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    hex(sha256("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    hex(sha256("a".repeat(1_000_000))),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

Deno.test("sha256: every length from 0 to 300 bytes, as node:crypto", () => {
  // The padding changes at 55/56 bytes and at each 64-byte block.
  for (let n = 0; n <= 300; n++) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
    assert.equal(hex(sha256(bytes)), nodeSha256(bytes), `${n} bytes`);
  }
});

Deno.test("sha256: random strings (UTF-8, lone surrogates) as node:crypto", () => {
  for (let i = 0; i < 500; i++) {
    const length = Math.floor(Math.random() * 200);
    let s = "";
    for (let j = 0; j < length; j++) {
      // ASCII, 2-, 3-byte characters, surrogate halves (lone or paired).
      const pick = Math.random();
      s += String.fromCharCode(
        pick < 0.5
          ? 32 + Math.floor(Math.random() * 95)
          : pick < 0.7
          ? 0x80 + Math.floor(Math.random() * 0x780)
          : pick < 0.9
          ? 0x800 + Math.floor(Math.random() * 0xd000)
          : 0xd800 + Math.floor(Math.random() * 0x800),
      );
    }
    assert.equal(hex(sha256(s)), nodeSha256(s), JSON.stringify(s));
  }
});

Deno.test("timingSafeEqual: equal bytes only, any position of a difference", () => {
  const a = sha256("key");
  assert.equal(timingSafeEqual(a, sha256("key")), true);
  for (let i = 0; i < a.length; i++) {
    const b = a.slice();
    b[i]! ^= 1;
    assert.equal(timingSafeEqual(a, b), false, `byte ${i}`);
  }
  assert.equal(timingSafeEqual(a, a.subarray(0, 31)), false);
  assert.equal(timingSafeEqual(new Uint8Array(), new Uint8Array()), true);
});
