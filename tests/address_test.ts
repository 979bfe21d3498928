/**
 * Direct tests of the resolution half of net/address.ts: `parseNumericHost`,
 * `checkPort`, `resolve` and `resolveSync` — numbers in, endpoints out.
 *
 * Every name resolved here is numeric or `localhost`, answered from
 * /etc/hosts (or by libc's own numeric parsing), so no DNS query leaves the
 * machine. The expected bytes are written out by hand, not computed with the
 * module's own converters.
 *
 * Run: deno test --allow-ffi --allow-net --allow-read tests/address_test.ts
 */

import assert from "@assert";
import { checkPort, parseNumericHost, resolve, resolveSync } from "../net/address.ts";

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;

const V4_LOOPBACK = [127, 0, 0, 1];
const V6_LOOPBACK = [...new Array(15).fill(0), 1];
const V6_ANY = new Array(16).fill(0);
const V6_LINK_LOCAL_1 = [0xfe, 0x80, ...new Array(13).fill(0), 1];
const V4_MAPPED_LOOPBACK = [...new Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1];

/** What an endpoint says, as plain values (its address bytes as an array). */
function shape(e: { family: number; address: Uint8Array; port?: number; scopeId?: number }) {
  const out: Record<string, unknown> = { family: e.family, address: Array.from(e.address) };
  if (e.port !== undefined) out.port = e.port;
  if (e.scopeId !== undefined) out.scopeId = e.scopeId;
  return out;
}

// ---------------------------------------------------------- parseNumericHost

Deno.test("parseNumericHost: dotted IPv4, every IPv6 spelling, brackets and numeric scopes", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["127.0.0.1", { family: AF_INET, address: V4_LOOPBACK }],
    ["0.0.0.0", { family: AF_INET, address: [0, 0, 0, 0] }],
    ["255.255.255.255", { family: AF_INET, address: [255, 255, 255, 255] }],
    ["192.0.2.33", { family: AF_INET, address: [192, 0, 2, 33] }],
    ["::1", { family: AF_INET6, address: V6_LOOPBACK }],
    ["[::1]", { family: AF_INET6, address: V6_LOOPBACK }],
    ["0:0:0:0:0:0:0:1", { family: AF_INET6, address: V6_LOOPBACK }],
    ["::", { family: AF_INET6, address: V6_ANY }],
    ["[::]", { family: AF_INET6, address: V6_ANY }],
    ["::ffff:127.0.0.1", { family: AF_INET6, address: V4_MAPPED_LOOPBACK }],
    ["FE80::1", { family: AF_INET6, address: V6_LINK_LOCAL_1 }],
    [
      "2001:db8:85a3::8a2e:370:7334",
      {
        family: AF_INET6,
        address: [
          0x20,
          0x01,
          0x0d,
          0xb8,
          0x85,
          0xa3,
          0,
          0,
          0,
          0,
          0x8a,
          0x2e,
          0x03,
          0x70,
          0x73,
          0x34,
        ],
      },
    ],
    ["fe80::1%2", { family: AF_INET6, address: V6_LINK_LOCAL_1, scopeId: 2 }],
    ["[fe80::1%1]", { family: AF_INET6, address: V6_LINK_LOCAL_1, scopeId: 1 }],
    ["fe80::1%0", { family: AF_INET6, address: V6_LINK_LOCAL_1, scopeId: 0 }],
    ["fe80::1%4294967295", { family: AF_INET6, address: V6_LINK_LOCAL_1, scopeId: 0xffffffff }],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseNumericHost(text);
    if (parsed === null) throw new Error(`${text} is numeric, yet parsed as null`);
    assert.deepEqual(shape(parsed), expected, text);
    assert.equal(parsed.address.byteLength, parsed.family === AF_INET ? 4 : 16, text);
  }
  // No scope written, no scopeId key: callers spread the result into endpoints.
  assert.equal("scopeId" in parseNumericHost("::1")!, false);
  // Each call gives fresh bytes: changing one result cannot change the next.
  parseNumericHost("127.0.0.1")!.address[0] = 10;
  assert.deepEqual(Array.from(parseNumericHost("127.0.0.1")!.address), V4_LOOPBACK);
});

Deno.test("parseNumericHost: names, malformed numbers, named or oversized scopes and NULs are not numeric (null)", () => {
  for (
    const text of [
      "",
      "localhost",
      "example.com",
      "127.1", // libc's short form: a name here, resolved later
      "0x7f000001",
      "2130706433",
      "1.2.3.4.5",
      "256.0.0.1",
      "127.0.0.1 ",
      " ::1",
      "[127.0.0.1]", // brackets are for IPv6 only
      "[::1",
      "::1]",
      "[]",
      ":::",
      "1::2::3",
      "fe80::1%",
      "fe80::1%eth0",
      "fe80::1%-1",
      "fe80::1%4294967296",
      "%1",
      "127.0.0.1\0.evil.example",
      "::1\0",
    ]
  ) {
    assert.equal(parseNumericHost(text), null, JSON.stringify(text));
  }
});

// ------------------------------------------------------------------ checkPort

Deno.test("checkPort: 0..65535 pass unchanged; others are RangeError, non-numbers TypeError, naming the option", () => {
  for (const port of [0, 1, 80, 443, 65535]) assert.equal(checkPort(port), port);
  assert.ok(Object.is(checkPort(-0), 0), "-0 comes back as +0");
  for (const port of [-1, 65536, 1.5, NaN, Infinity, -Infinity, 2 ** 32]) {
    assert.throws(() => checkPort(port), RangeError, "port", String(port));
  }
  for (const port of ["80", null, undefined, 80n, { valueOf: () => 80 }, [80]]) {
    assert.throws(() => checkPort(port), TypeError, "port", String(port));
  }
  assert.throws(() => checkPort(70000, "localPort"), RangeError, "localPort");
  assert.throws(() => checkPort("1", "localPort"), TypeError, "localPort");
});

// ------------------------------------------------------------ resolve(Sync)

Deno.test("resolve/resolveSync: numeric hosts give exactly that endpoint, the port carried, scope kept", async () => {
  const cases: [string, number, Record<string, unknown>][] = [
    ["127.0.0.1", 80, { family: AF_INET, address: V4_LOOPBACK, port: 80 }],
    ["0.0.0.0", 0, { family: AF_INET, address: [0, 0, 0, 0], port: 0 }],
    ["::1", 65535, { family: AF_INET6, address: V6_LOOPBACK, port: 65535 }],
    ["[::1]", 443, { family: AF_INET6, address: V6_LOOPBACK, port: 443 }],
    ["::", 8080, { family: AF_INET6, address: V6_ANY, port: 8080 }],
    ["::ffff:127.0.0.1", 9, { family: AF_INET6, address: V4_MAPPED_LOOPBACK, port: 9 }],
    ["fe80::1%1", 7, { family: AF_INET6, address: V6_LINK_LOCAL_1, port: 7, scopeId: 1 }],
  ];
  for (const [host, port, expected] of cases) {
    const sync = resolveSync(host, port);
    assert.equal(sync.length, 1, host);
    assert.deepEqual(shape(sync[0]), expected, `resolveSync(${host})`);
    for (const socktype of [SOCK_STREAM, SOCK_DGRAM]) {
      const pending = resolve(host, port, socktype);
      assert.ok(pending instanceof Promise, "resolve is asynchronous even for numbers");
      const endpoints = await pending;
      assert.equal(endpoints.length, 1, host);
      assert.deepEqual(shape(endpoints[0]), expected, `resolve(${host}, ${socktype})`);
    }
  }
});

/** The IPv4 and IPv6 addresses /etc/hosts gives `name`, as text, read independently. */
function hostsEntries(name: string): string[] {
  const text = Deno.readTextFileSync("/etc/hosts");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (address && names.includes(name)) out.push(address);
  }
  return out;
}

/** An endpoint's address as text: dotted IPv4, or IPv6 loopback/mapped forms this test meets. */
function addressText(e: { family: number; address: Uint8Array }): string {
  if (e.family === AF_INET) return Array.from(e.address).join(".");
  const words = Array.from({ length: 8 }, (_, i) => (e.address[2 * i] << 8) | e.address[2 * i + 1]);
  if (words.slice(0, 7).every((w) => w === 0) && words[7] === 1) return "::1";
  return words.map((w) => w.toString(16)).join(":");
}

const isLoopback = (e: { family: number; address: Uint8Array }) =>
  e.family === AF_INET ? e.address[0] === 127 : addressText(e) === "::1";

Deno.test("resolve/resolveSync('localhost'): the /etc/hosts addresses, loopback only, distinct, with the port", async () => {
  const listed = hostsEntries("localhost");
  assert.ok(listed.length > 0, "/etc/hosts names localhost");
  const sync = resolveSync("localhost", 443);
  const stream = await resolve("localhost", 443, SOCK_STREAM);
  const dgram = await resolve("localhost", 53, SOCK_DGRAM);
  for (
    const [what, endpoints, port] of [["sync", sync, 443], ["stream", stream, 443], [
      "dgram",
      dgram,
      53,
    ]] as const
  ) {
    assert.ok(endpoints.length > 0, what);
    for (const e of endpoints) {
      assert.ok(e.family === AF_INET || e.family === AF_INET6, `${what}: family ${e.family}`);
      assert.equal(e.address.byteLength, e.family === AF_INET ? 4 : 16);
      assert.equal(e.port, port, what);
      assert.ok(isLoopback(e), `${what}: ${addressText(e)} is loopback`);
    }
    // One socket type asked for: one endpoint per address, not one per socket type.
    const texts = endpoints.map(addressText);
    assert.equal(new Set(texts).size, texts.length, `${what}: ${texts} has duplicates`);
    // Every address /etc/hosts lists for localhost is among them.
    for (const address of listed) {
      assert.ok(texts.includes(address), `${what}: ${address} in ${texts}`);
    }
  }
  // The synchronous and asynchronous lookups agree.
  assert.deepEqual(sync.map(shape), stream.map(shape));
});

Deno.test("resolve/resolveSync: libc's numeric spellings (127.1, 0x7f000001) come back as 127.0.0.1 without a lookup", async () => {
  // glibc parses these with inet_aton before asking any name service.
  for (const host of ["127.1", "0x7f000001", "2130706433"]) {
    const [sync] = resolveSync(host, 5);
    assert.deepEqual(shape(sync), { family: AF_INET, address: V4_LOOPBACK, port: 5 }, host);
    const endpoints = await resolve(host, 5, SOCK_STREAM);
    assert.deepEqual(
      endpoints.map(shape),
      [{ family: AF_INET, address: V4_LOOPBACK, port: 5 }],
      host,
    );
  }
});

Deno.test("resolve/resolveSync: an empty, non-string or NUL-holding hostname is a TypeError before any lookup", async () => {
  for (
    const host of ["", "local\0host", "127.0.0.1\0", 127, null, undefined, {
      toString: () => "localhost",
    }]
  ) {
    assert.throws(() => resolveSync(host as string, 80), TypeError, undefined, String(host));
    await assert.rejects(
      () => resolve(host as string, 80, SOCK_STREAM),
      TypeError,
      undefined,
      String(host),
    );
  }
});
