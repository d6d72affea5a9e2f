import assert from "node:assert/strict";
import {
  netEntryProblem,
  ownPorts,
  parseIpv6,
  parseNetEntry,
} from "./net_rules.ts";

Deno.test("parseIpv6() expands :: and embedded IPv4, rejects the malformed", () => {
  assert.deepEqual(parseIpv6("::1"), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(parseIpv6("::"), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(parseIpv6("2001:db8::8:1"), [
    0x2001,
    0xdb8,
    0,
    0,
    0,
    0,
    8,
    1,
  ]);
  assert.deepEqual(parseIpv6("::ffff:127.0.0.1"), [
    0,
    0,
    0,
    0,
    0,
    0xffff,
    0x7f00,
    1,
  ]);
  for (
    const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7", "::g", "fe80::1%lo"]
  ) {
    assert.equal(parseIpv6(bad), null, bad);
  }
});

Deno.test("parseNetEntry() tells loopback hosts from others", () => {
  const loopback = [
    "127.0.0.1:1",
    "127.255.0.9:1",
    "localhost:1",
    "LOCALHOST:1",
    "api.localhost:1",
    "localhost.localdomain:1",
    "ip6-localhost:1",
    "[::1]:1",
    "[0::1]:1",
    "[::ffff:127.0.0.1]:1",
    "[::ffff:7f00:1]:1",
    "[::127.0.0.1]:1",
  ];
  for (const text of loopback) {
    const e = parseNetEntry(text);
    assert.ok(typeof e !== "string", `${text}: ${e}`);
    assert.equal(e.loopback, true, text);
  }
  for (
    const text of [
      "10.0.0.1:1",
      "example.com:1",
      "[2001:db8::1]:1",
      "notlocalhost:1",
    ]
  ) {
    const e = parseNetEntry(text);
    assert.ok(typeof e !== "string", `${text}: ${e}`);
    assert.equal(e.loopback, false, text);
  }
  assert.deepEqual(parseNetEntry("[2001:DB8::1]:443"), {
    host: "2001:db8::1",
    port: 443,
    ipv6: true,
    loopback: false,
  });
});

Deno.test("netEntryProblem(): form only without rules; loopback and own ports with them", () => {
  assert.equal(netEntryProblem("127.0.0.1:5432"), null);
  assert.match(netEntryProblem("127.0.0.1")!, /a port is required/);
  // Not host:port at all: Unix sockets (the gRPC bridge), ranges, URLs.
  for (
    const text of [
      "unix:/tmp/cortex-x/grpc.sock",
      "10.0.0.0/8:80",
      "http://example.com:80",
      "example.com:80/path",
      "user@example.com:22",
    ]
  ) {
    assert.notEqual(netEntryProblem(text), null, text);
  }
  const rules = {
    allowLoopback: false,
    ownPorts: ownPorts({ http: 8888, grpc: 0, control: 4000 }),
  };
  assert.match(netEntryProblem("127.0.0.1:5432", rules)!, /loopback/);
  assert.equal(netEntryProblem("db.example.com:5432", rules), null);
  // The control port listens on loopback only: other hosts may use it.
  assert.equal(netEntryProblem("db.example.com:4000", rules), null);
  assert.match(netEntryProblem("db.example.com:8888", rules)!, /HTTP port/);
  // Port 0 (not bound yet) is no port of the server.
  assert.deepEqual(ownPorts({ http: 0, grpc: null }), []);
});
