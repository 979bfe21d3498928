// The pure conversions of ffi/convert.ts against glibc itself (libcConvert):
// exhaustive where the domain is small, large random samples where it is not,
// a corpus of tricky strings, and seeded fuzz. Run:
//   deno test --allow-ffi tests/convert_test.ts
// A fuzz failure prints its seed; replay it with
//   CONVERT_SEED=<seed> deno test --allow-ffi --allow-env=CONVERT_SEED tests/convert_test.ts

import assert from "@assert";
import { AF_INET, AF_INET6, AF_UNIX, EAFNOSUPPORT, INADDR_NONE } from "../ffi/constants.ts";
import {
  htonl,
  htons,
  inet_addr,
  inet_aton,
  inet_ntoa,
  inet_ntop,
  inet_pton,
  libcConvert as C,
  ntohl,
  ntohs,
} from "../ffi/convert.ts";
import { SocketError } from "../ffi/errors.ts";

function chooseSeed(): number {
  const granted =
    Deno.permissions.querySync({ name: "env", variable: "CONVERT_SEED" }).state === "granted";
  const fixed = granted ? Deno.env.get("CONVERT_SEED") : undefined;
  return fixed !== undefined ? Number(fixed) >>> 0 : (Date.now() ^ (Math.random() * 2 ** 32)) >>> 0;
}

const SEED = chooseSeed();

/** mulberry32: a small, fast, seedable PRNG returning 32-bit unsigned integers. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Distinct sub-seeds per test, so each test replays on its own. */
const seedFor = (name: string): number => {
  let h = SEED;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1) >>> 0;
  return h;
};

const show = (s: string): string => JSON.stringify(s.length > 80 ? s.slice(0, 80) + "…" : s);
const hex = (b: Uint8Array | null): string =>
  b === null ? "null" : [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Compares pure and libc on one string for all string parsers; returns a failure text or "". */
function compareParsers(s: string): string {
  const a1 = inet_aton(s), a2 = C.inet_aton(s);
  if (a1 !== a2) return `inet_aton(${show(s)}): pure ${a1}, libc ${a2}`;
  const d1 = inet_addr(s), d2 = C.inet_addr(s);
  if (d1 !== d2) return `inet_addr(${show(s)}): pure ${d1}, libc ${d2}`;
  const p41 = inet_pton(AF_INET, s), p42 = C.inet_pton(AF_INET, s);
  if (!sameBytes(p41, p42)) {
    return `inet_pton(AF_INET, ${show(s)}): pure ${hex(p41)}, libc ${hex(p42)}`;
  }
  const p61 = inet_pton(AF_INET6, s), p62 = C.inet_pton(AF_INET6, s);
  if (!sameBytes(p61, p62)) {
    return `inet_pton(AF_INET6, ${show(s)}): pure ${hex(p61)}, libc ${hex(p62)}`;
  }
  return "";
}

// Must stay the first test: libc is opened lazily, so a pure function that
// called it would fail here, where FFI is denied.
Deno.test({
  name: "pure conversions need no --allow-ffi",
  permissions: { ffi: false },
  fn() {
    assert.equal(htons(0x1234), 0x3412);
    assert.equal(ntohs(0x3412), 0x1234);
    assert.equal(htonl(0x7f000001), 0x0100007f);
    assert.equal(ntohl(0x0100007f), 0x7f000001);
    assert.equal(inet_addr("127.0.0.1"), 0x0100007f);
    assert.equal(inet_aton("127.1"), 0x0100007f);
    assert.equal(inet_ntoa(0x0100007f), "127.0.0.1");
    assert.deepEqual(inet_pton(AF_INET, "1.2.3.4"), new Uint8Array([1, 2, 3, 4]));
    assert.equal(inet_ntop(AF_INET6, inet_pton(AF_INET6, "::ffff:1.2.3.4")!), "::ffff:1.2.3.4");
    // The error path too (SocketError falls back to "errno 97" for its text).
    assert.throws(() => inet_pton(AF_UNIX, "x"), SocketError);
    assert.throws(() => inet_ntop(AF_UNIX, new Uint8Array(16)), SocketError);
  },
});

Deno.test("htons/ntohs equal libc for all 65536 values", () => {
  for (let n = 0; n <= 0xffff; n++) {
    const h = htons(n), r = ntohs(n);
    if (h !== C.htons(n) || r !== C.ntohs(n)) {
      assert.fail(`n=${n}: htons pure ${h} libc ${C.htons(n)}; ntohs pure ${r} libc ${C.ntohs(n)}`);
    }
    if (ntohs(h) !== n) assert.fail(`ntohs(htons(${n})) !== ${n}`);
  }
});

Deno.test("htonl/ntohl equal libc on edge values and 1,000,000 random ones", () => {
  const next = rng(seedFor("htonl"));
  const edges = [
    0,
    1,
    0xff,
    0x100,
    0xffff,
    0x10000,
    0x7fffffff,
    0x80000000,
    0xfffffffe,
    0xffffffff,
  ];
  for (let i = 0; i < 1_000_000 + edges.length; i++) {
    const n = i < edges.length ? edges[i] : next();
    const h = htonl(n), r = ntohl(n);
    if (h !== C.htonl(n) || r !== C.ntohl(n) || ntohl(h) !== n || h < 0) {
      assert.fail(`seed ${SEED}: n=${n}: htonl pure ${h} libc ${C.htonl(n)}; ntohl ${r}`);
    }
  }
});

Deno.test("inet_ntoa and inet_ntop(AF_INET) equal libc on 1,000,000 random addresses", () => {
  const next = rng(seedFor("ntoa"));
  const bytes = new Uint8Array(4);
  const view = new DataView(bytes.buffer);
  const edges = [0, 0xffffffff, 0x0100007f, 0x7f000001, 0x000000ff, 0xff000000];
  for (let i = 0; i < 1_000_000 + edges.length; i++) {
    const s = i < edges.length ? edges[i] : next();
    const a = inet_ntoa(s), b = C.inet_ntoa(s);
    if (a !== b) assert.fail(`seed ${SEED}: inet_ntoa(${s}): pure ${a}, libc ${b}`);
    view.setUint32(0, s);
    const p = inet_ntop(AF_INET, bytes), q = C.inet_ntop(AF_INET, bytes);
    if (p !== q) {
      assert.fail(`seed ${SEED}: inet_ntop(AF_INET, ${hex(bytes)}): pure ${p}, libc ${q}`);
    }
    // Round trips through every parser.
    if (inet_aton(a) !== s || !sameBytes(inet_pton(AF_INET, p), bytes)) {
      assert.fail(`round trip of ${a}`);
    }
  }
});

const CORPUS: string[] = [
  // inet_addr's pitfall: valid, yet equal to INADDR_NONE.
  "255.255.255.255",
  "0xffffffff",
  "037777777777",
  "255.255.255.254",
  "127.0.0.1",
  "0.0.0.0",
  "0",
  "0x7f.1",
  "0X7F.0X1",
  "0x7F.1",
  "010.0.0.1",
  "0377.0377.0377.0377",
  "0400.1.1.1",
  "1.2.3",
  "1.2.65535",
  "1.2.65536",
  "1.16777215",
  "1.16777216",
  "1.256.3.4",
  "256.1",
  "1",
  "4294967295",
  "4294967296",
  "18446744073709551615",
  "18446744073709551616",
  "99999999999999999999999999",
  "0x100000000",
  "0xffffffffffffffff",
  "0x1ffffffffffffffff",
  "1.2.3.4 junk",
  "1.2.3.4\tx",
  "1.2.3.4\n",
  "1.2.3.4\r",
  "1.2.3.4\v",
  "1.2.3.4\f",
  "1.2.3.4 ",
  " 1.2.3.4",
  "\t1.2.3.4",
  "+1.2.3.4",
  "-1.2.3.4",
  "1.-2.3.4",
  "1.+2.3.4",
  "1. 2.3.4",
  "1.2.3.4.",
  "1.2.3.4.5",
  "1..2",
  ".1.2.3",
  "1.",
  ".",
  "",
  " ",
  "0x",
  "0x.1",
  "0X",
  "0xg",
  "00x1",
  "0x0x1",
  "0b1",
  "0o1",
  "08",
  "09.1",
  "0.08",
  "07",
  "0777",
  "1e3",
  "1.2.3.4x",
  "1.2.3.4:80",
  "1,2,3,4",
  "1.2.3.4/24",
  "1.2.3.0x4",
  "1.2.3.04",
  "1.2.3.010",
  "01.2.3.4",
  "00.0.0.0",
  "1.2.3.4 5",
  "localhost",
  "a.b.c.d",
  // IPv6
  "::1",
  "::ffff:1.2.3.4",
  "::FFFF:1.2.3.4",
  "::ffff:01.2.3.4",
  "::ffff:1.2.3",
  "::ffff:256.2.3.4",
  "1::",
  "::",
  ":::",
  ":",
  "1:",
  ":1",
  "1:2",
  "1::2::3",
  "1:::2",
  "1:2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7:8:9",
  "1:2:3:4:5:6:7::",
  "::2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7:8::",
  "::1:2:3:4:5:6:7:8",
  "1::3:4:5:6:7:8",
  "1:2:3:4:5:6:7:",
  "::1.2.3.4",
  "::0.0.0.0",
  "::1.2.3.4:5",
  "::1.2.3.4.5",
  "::1.2.3",
  "::1.2.3.",
  "fe80::1%eth0",
  "fe80::1%1",
  "[::1]",
  "1:2:3:4:5:6:1.2.3.4",
  "1:2:3:4:5:6:7:1.2.3.4",
  "1:2:3:4:5::1.2.3.4",
  "1:2:3:4:5:6::1.2.3.4",
  "1.2.3.4::",
  "::1.2.3.4::",
  "1.2.3.4",
  "12.34.56.78:",
  "ffff::1.2.3.4",
  "a:b:c:d:e:f:1.2.3.4",
  "::fff:1.2.3.4",
  "::12.2.3.4",
  "::123.2.3.4",
  "::1234.2.3.4",
  "::12345.2.3.4",
  "::a.2.3.4",
  "02001:db8::1",
  "2001:db8::1",
  "2001:DB8::1",
  "2001:Db8:0:0:0:0:0:1",
  "2001:db8::1 ",
  " 2001:db8::1",
  "2001:db8::1\t",
  "2001:0db8:0000:0000:0000:0000:0000:0001",
  "2001:0db8:0000:0000:0000:0000:0000:00001",
  "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789",
  "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
  "FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF",
  "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
  "g::1",
  "::g",
  "0x1::",
  "1:2:3:4:5:6:7:8 ",
  "0:0:0:0:0:0:0:0",
  "0:0:0:0:0:0:0:1",
  "0:0::0:0",
  "::0:0:0:0:0:0:0",
  "::0:0:0:0:0:0",
  // Unicode digits and other non-ASCII text (UTF-8 bytes >= 0x80 in C).
  "١.٢.٣.٤",
  "１.2.3.4",
  "1.2.3.４",
  "1.2.3.4\u00a0",
  "1.2.3.4\u00a0x",
  "1.2.3.4 ü",
  "1.2.3.4ü",
  "²",
  "::１",
  "\u2028",
  "1.2.3.4\u3000",
  "1.2.3.\ud800",
  "\ud800",
  "1.2.3.4 \ud800",
  // Embedded NUL: C stops there.
  "1.2.3.4\0junk",
  "1.2\0.3.4",
  "\x001.2.3.4",
  "::1\0:2",
  "::\0",
  "1:2:3:4:5:6:7:8\0:9",
  "0x\0" + "1",
  "1.2.3.4 \0x",
  // Long strings.
  "1".repeat(10_000),
  "0".repeat(10_000),
  "0".repeat(10_000) + "1",
  "0x" + "0".repeat(10_000) + "ff",
  "0x" + "f".repeat(10_000),
  "1.2.3." + "0".repeat(5_000) + "4",
  "1.2.3.4 " + "x".repeat(10_000),
  "1.2.3.4" + "x".repeat(10_000),
  "1.".repeat(5_000),
  "::" + "1:".repeat(5_000) + "1",
  ":".repeat(10_000),
  "1:".repeat(7) + "0".repeat(10_000),
  "::ffff:" + "1".repeat(10_000),
  "ü".repeat(10_000),
];

Deno.test("parsers equal libc on a corpus of tricky strings", () => {
  for (const s of CORPUS) {
    const failure = compareParsers(s);
    if (failure) assert.fail(failure);
  }
  // And a few values spelled out, so the corpus is not only self-consistent.
  const sAddr = (a: number, b: number, c: number, d: number) =>
    htonl(((a << 24) | (b << 16) | (c << 8) | d) >>> 0);
  assert.equal(inet_aton("255.255.255.255"), 0xffffffff);
  assert.equal(inet_addr("255.255.255.255"), INADDR_NONE);
  assert.equal(inet_addr("256.255.255.255"), INADDR_NONE);
  assert.equal(inet_aton("0x7f.1"), sAddr(127, 0, 0, 1));
  assert.equal(inet_aton("010.0.0.1"), sAddr(8, 0, 0, 1));
  assert.equal(inet_aton("1.2.3"), sAddr(1, 2, 0, 3));
  assert.equal(inet_aton("1.2.300"), sAddr(1, 2, 1, 44));
  assert.equal(inet_aton("1"), sAddr(0, 0, 0, 1));
  assert.equal(inet_aton("4294967295"), 0xffffffff);
  assert.equal(inet_aton("4294967296"), null);
  assert.equal(inet_aton("0x100000000"), null);
  assert.equal(inet_aton("1.2.3.4 junk"), sAddr(1, 2, 3, 4));
  assert.equal(inet_aton("1.2.3.4\tx"), sAddr(1, 2, 3, 4));
  assert.equal(inet_aton(" 1.2.3.4"), null);
  assert.equal(inet_aton("1.2.3.4."), null);
  assert.equal(inet_aton("1..2"), null);
  assert.equal(inet_aton(""), null);
  assert.equal(inet_aton("0x"), null);
  assert.equal(inet_aton("08"), null);
  assert.equal(inet_aton("1.256.3.4"), null);
  assert.equal(inet_aton("1.2.65536"), null);
  assert.equal(inet_aton("1.2.3.4\0junk"), sAddr(1, 2, 3, 4));
  assert.equal(inet_pton(AF_INET, "1.2.3.4 "), null);
  assert.equal(inet_pton(AF_INET, "01.2.3.4"), null);
  assert.equal(inet_pton(AF_INET6, "fe80::1%eth0"), null);
  assert.equal(inet_pton(AF_INET6, "02001:db8::1"), null);
  assert.equal(inet_pton(AF_INET6, "1:2:3:4:5:6:7:8:9"), null);
  assert.equal(
    inet_ntop(AF_INET6, inet_pton(AF_INET6, "1:2:3:4:5:6:1.2.3.4")!),
    "1:2:3:4:5:6:102:304",
  );
  assert.equal(inet_ntop(AF_INET6, inet_pton(AF_INET6, "::1.2.3.4")!), "::1.2.3.4");
  assert.equal(inet_ntop(AF_INET6, inet_pton(AF_INET6, "1:2:3:4:5:6:7::")!), "1:2:3:4:5:6:7:0");
  assert.equal(inet_ntop(AF_INET6, inet_pton(AF_INET6, "ABCD::0:0:1:0:0")!), "abcd::1:0:0");
});

/** Text forms of 32-bit numbers near every boundary inet_aton checks. */
const BOUNDARY = [
  0,
  1,
  7,
  8,
  9,
  10,
  0x7f,
  0xff,
  0x100,
  0xfff,
  0xffff,
  0x10000,
  0xffffff,
  0x1000000,
  0x7fffffff,
  0xffffffff,
  0x100000000,
  0x1000000000,
];

function spell(next: () => number, n: number): string {
  switch (next() % 5) {
    case 0:
      return "0" + n.toString(8);
    case 1:
      return "0x" + n.toString(16);
    case 2:
      return "0X" + n.toString(16).toUpperCase();
    default:
      return n.toString(10);
  }
}

Deno.test("inet_aton/inet_addr equal libc on 300,000 structured numbers-and-dots strings", () => {
  const next = rng(seedFor("structured-aton"));
  const TAILS = ["", "", "", " ", "\t", " junk", "x", ".", "\n1", "\0x"];
  let valid = 0;
  for (let i = 0; i < 300_000; i++) {
    const parts = 1 + (next() % 4);
    const pieces: string[] = [];
    for (let p = 0; p < parts; p++) {
      const base = BOUNDARY[next() % BOUNDARY.length];
      const n = Math.max(0, base + ((next() % 3) - 1));
      pieces.push(spell(next, p < parts - 1 && next() % 2 ? n % 300 : n));
    }
    const s = pieces.join(".") + TAILS[next() % TAILS.length];
    const a = inet_aton(s), b = C.inet_aton(s);
    if (a !== b) assert.fail(`seed ${SEED}: inet_aton(${show(s)}): pure ${a}, libc ${b}`);
    if (inet_addr(s) !== C.inet_addr(s)) assert.fail(`seed ${SEED}: inet_addr(${show(s)})`);
    if (a !== null) valid++;
  }
  assert.ok(valid > 20_000, `only ${valid} valid strings: the generator lost its coverage`);
});

const FUZZ_ALPHABET = "0123456789abcdefxX.: \t";

function fuzzString(next: () => number, maxLength: number): string {
  const length = next() % (maxLength + 1);
  let s = "";
  for (let i = 0; i < length; i++) s += FUZZ_ALPHABET[next() % FUZZ_ALPHABET.length];
  return s;
}

Deno.test("inet_aton/inet_addr/inet_pton(AF_INET) equal libc on 500,000 fuzz strings", () => {
  const next = rng(seedFor("fuzz-aton"));
  let valid = 0;
  for (let i = 0; i < 500_000; i++) {
    // Short strings find the interesting cases; "x" and letters are rarer
    // in real text, so half the strings use digits and dots only.
    let s = fuzzString(next, 1 + (next() % 16));
    if (i % 2) s = s.replace(/[a-fxX:]/g, () => String(next() % 10));
    const a = inet_aton(s), b = C.inet_aton(s);
    if (a !== b) assert.fail(`seed ${SEED}: inet_aton(${show(s)}): pure ${a}, libc ${b}`);
    if (inet_addr(s) !== C.inet_addr(s)) assert.fail(`seed ${SEED}: inet_addr(${show(s)})`);
    const p = inet_pton(AF_INET, s), q = C.inet_pton(AF_INET, s);
    if (!sameBytes(p, q)) assert.fail(`seed ${SEED}: inet_pton(AF_INET, ${show(s)})`);
    if (a !== null) valid++;
  }
  assert.ok(valid > 5_000, `only ${valid} valid strings`);
});

Deno.test("inet_pton(AF_INET6) equals libc on 500,000 fuzz strings", () => {
  const next = rng(seedFor("fuzz-pton6"));
  let valid = 0;
  for (let i = 0; i < 500_000; i++) {
    // Half the strings drop the characters that always fail (x, X, white
    // space) in favour of ':', to reach deeper into the parser.
    let s = fuzzString(next, 1 + (next() % 24));
    if (i % 2) s = s.replace(/[xX \t]/g, ":");
    const p = inet_pton(AF_INET6, s), q = C.inet_pton(AF_INET6, s);
    if (!sameBytes(p, q)) {
      assert.fail(`seed ${SEED}: inet_pton(AF_INET6, ${show(s)}): pure ${hex(p)}, libc ${hex(q)}`);
    }
    if (p !== null) valid++;
  }
  assert.ok(valid > 5_000, `only ${valid} valid strings`);
});

/** A random IPv6 text: groups, an optional "::", an optional IPv4 tail, then maybe one mutation. */
function ipv6Text(next: () => number): string {
  const groups = next() % 10;
  const parts: string[] = [];
  for (let g = 0; g < groups; g++) {
    const w = next() % 4 === 0 ? 0 : next() & (next() % 2 ? 0xffff : 0xf);
    let t = w.toString(16);
    if (next() % 8 === 0) t = t.padStart(4, "0");
    if (next() % 8 === 0) t = "0" + t;
    if (next() % 4 === 0) t = t.toUpperCase();
    parts.push(t);
  }
  if (next() % 4 === 0) {
    parts.push(
      [next() % 300, next() % 256, next() % 256, next() % 256].join("."),
    );
  }
  if (next() % 3) parts.splice(next() % (parts.length + 1), 0, "");
  let s = parts.join(":");
  if (s.startsWith(":") && !s.startsWith("::")) s = ":" + s;
  if (s.endsWith(":") && !s.endsWith("::")) s += ":";
  if (next() % 4 === 0) {
    const at = next() % (s.length + 1);
    const c = FUZZ_ALPHABET[next() % FUZZ_ALPHABET.length];
    s = next() % 2 ? s.slice(0, at) + c + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
  }
  return s;
}

Deno.test("inet_pton(AF_INET6) equals libc on 300,000 structured IPv6 strings", () => {
  const next = rng(seedFor("structured-pton6"));
  let valid = 0;
  for (let i = 0; i < 300_000; i++) {
    const s = ipv6Text(next);
    const p = inet_pton(AF_INET6, s), q = C.inet_pton(AF_INET6, s);
    if (!sameBytes(p, q)) {
      assert.fail(`seed ${SEED}: inet_pton(AF_INET6, ${show(s)}): pure ${hex(p)}, libc ${hex(q)}`);
    }
    if (p !== null) valid++;
  }
  assert.ok(valid > 20_000, `only ${valid} valid strings`);
});

/** 16 bytes biased toward zero groups and the IPv4-mapped/compatible prefixes. */
function ipv6Bytes(next: () => number, out: Uint8Array): void {
  const view = new DataView(out.buffer);
  const zeroBias = [0.2, 0.5, 0.7, 0.9][next() % 4];
  for (let w = 0; w < 8; w++) {
    let v = 0;
    if (next() / 2 ** 32 >= zeroBias) {
      const kind = next() % 4;
      v = kind === 0
        ? next() & 0xffff
        : kind === 1
        ? 1 + (next() % 15)
        : kind === 2
        ? 0xffff
        : 0x100;
    }
    view.setUint16(2 * w, v);
  }
  const prefix = next() % 8;
  if (prefix <= 2) {
    // ::ffff:0:0/96 (mapped), ::/96 (compatible), or ::/80 + one other word.
    out.fill(0, 0, 10);
    view.setUint16(10, prefix === 0 ? 0xffff : prefix === 1 ? 0 : next() & 0xffff);
  }
}

Deno.test("inet_ntop(AF_INET6) equals libc on every zero-group pattern and 500,000 random addresses", () => {
  const next = rng(seedFor("ntop6"));
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  const check = () => {
    const a = inet_ntop(AF_INET6, bytes), b = C.inet_ntop(AF_INET6, bytes);
    if (a !== b) {
      assert.fail(`seed ${SEED}: inet_ntop(AF_INET6, ${hex(bytes)}): pure ${a}, libc ${b}`);
    }
    const back = inet_pton(AF_INET6, a);
    if (!sameBytes(back, bytes)) assert.fail(`round trip of ${a}: ${hex(back)} != ${hex(bytes)}`);
  };
  // Every pattern of zero/non-zero words, with several fillers (and 0xffff in word 5).
  const FILL = [1, 0xffff, 0xabcd, 0x100];
  for (let pattern = 0; pattern < 256; pattern++) {
    for (const fill of FILL) {
      for (const w5 of [-1, 0xffff]) {
        for (let w = 0; w < 8; w++) view.setUint16(2 * w, pattern & (1 << w) ? fill : 0);
        if (w5 !== -1) view.setUint16(10, w5);
        check();
      }
    }
  }
  for (let i = 0; i < 500_000; i++) {
    ipv6Bytes(next, bytes);
    check();
  }
});

Deno.test("bad arguments throw TypeError/RangeError (pure and libc alike)", () => {
  for (
    const impl of [{
      htons,
      ntohs,
      htonl,
      ntohl,
      inet_aton,
      inet_addr,
      inet_ntoa,
      inet_pton,
      inet_ntop,
    }, C]
  ) {
    const f = impl as unknown as Record<string, (...args: unknown[]) => unknown>;
    assert.throws(() => f.htons(65536), RangeError);
    assert.throws(() => f.htons(-1), RangeError);
    assert.throws(() => f.htons(1.5), RangeError);
    assert.throws(() => f.htons(NaN), RangeError);
    assert.throws(() => f.htons(Infinity), RangeError);
    assert.throws(() => f.htons("1"), TypeError);
    assert.throws(() => f.htons(1n), TypeError);
    assert.throws(() => f.htons(), TypeError);
    assert.throws(() => f.ntohs(65536), /netshort/);
    assert.throws(() => f.htons(65536), /hostshort/);
    assert.throws(() => f.htonl(2 ** 32), RangeError);
    assert.throws(() => f.htonl(-1), /hostlong/);
    assert.throws(() => f.ntohl(2 ** 32), /netlong/);
    assert.throws(() => f.ntohl(null), TypeError);
    assert.throws(() => f.inet_ntoa(-1), RangeError);
    assert.throws(() => f.inet_ntoa(2 ** 32), /s_addr/);
    assert.throws(() => f.inet_ntoa("1.2.3.4"), TypeError);
    assert.throws(() => f.inet_aton(123), TypeError);
    assert.throws(() => f.inet_aton(null), /cp must be a string/);
    assert.throws(() => f.inet_addr(undefined), TypeError);
    assert.throws(() => f.inet_pton(AF_INET, 1234), /src must be a string/);
    assert.throws(() => f.inet_pton("2", "1.2.3.4"), /af must be a number/);
    assert.throws(() => f.inet_pton(2.5, "1.2.3.4"), RangeError);
    assert.throws(() => f.inet_ntop(AF_INET, new Uint8Array(3)), RangeError);
    assert.throws(() => f.inet_ntop(AF_INET6, new Uint8Array(15)), /at least 16 bytes/);
    assert.throws(() => f.inet_ntop(AF_INET6, [0, 0, 0, 0]), TypeError);
    assert.throws(() => f.inet_ntop(AF_INET, new Uint16Array(4)), TypeError);
  }
  // A redefined `length` does not fool the check (libc would read past the buffer).
  const liar = new Uint8Array(4);
  Object.defineProperty(liar, "length", { value: 16 });
  assert.throws(() => inet_ntop(AF_INET6, liar), /got 4/);
  assert.throws(() => C.inet_ntop(AF_INET6, liar), /got 4/);
  // A longer buffer is fine: only the address's bytes are read.
  assert.equal(inet_ntop(AF_INET, new Uint8Array([1, 2, 3, 4, 5])), "1.2.3.4");
  assert.equal(C.inet_ntop(AF_INET, new Uint8Array([1, 2, 3, 4, 5])), "1.2.3.4");
});

Deno.test("an unsupported family is SocketError EAFNOSUPPORT, as glibc's -1/NULL", () => {
  for (const af of [AF_UNIX, 0, -1, 3, 11, 0x7fffffff]) {
    for (const pton of [inet_pton, C.inet_pton]) {
      assert.throws(() => pton(af, "1.2.3.4"), (e: unknown) => {
        if (!(e instanceof SocketError)) return false;
        assert.equal(e.errno, EAFNOSUPPORT);
        assert.equal(e.code, "EAFNOSUPPORT");
        assert.equal(e.syscall, "inet_pton");
        return true;
      });
    }
    for (const ntop of [inet_ntop, C.inet_ntop]) {
      assert.throws(() => ntop(af, new Uint8Array(16)), (e: unknown) => {
        if (!(e instanceof SocketError)) return false;
        assert.equal(e.errno, EAFNOSUPPORT);
        assert.equal(e.syscall, "inet_ntop");
        return true;
      });
    }
  }
});

Deno.test("results are fresh values, not shared buffers", () => {
  const a = inet_pton(AF_INET6, "::1")!, b = inet_pton(AF_INET6, "::1")!;
  assert.notEqual(a, b);
  a[15] = 2;
  assert.equal(b[15], 1);
  const x = C.inet_pton(AF_INET, "1.2.3.4")!, y = C.inet_pton(AF_INET, "5.6.7.8")!;
  assert.deepEqual([...x, ...y], [1, 2, 3, 4, 5, 6, 7, 8]);
  const s = C.inet_ntoa(0x0100007f);
  C.inet_ntoa(0x04030201); // overwrites libc's static buffer
  assert.equal(s, "127.0.0.1");
});
