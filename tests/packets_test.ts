/**
 * Direct tests of net/packets.ts: the Internet checksum (RFC 1071) against
 * two independent computations (a reference written here word by word, and
 * Python's), IPv4/IPv6/UDP header parsing, ICMP and ICMPv6 echo builders and
 * parsers in round trips, the ICMPv6 pseudo-header checksum, the errors that
 * embed an original datagram, and malformed or truncated input, which must be
 * refused with a TypeError or RangeError and nothing else.
 *
 * Pure functions: no sockets, no permissions beyond `--allow-run` for the
 * Python cross-check (skipped, and named so, where python3 is missing).
 *
 * Run: deno test --allow-run --allow-read tests/packets_test.ts
 */

import assert from "@assert";
import {
  buildIcmpEcho,
  buildIcmpv6Echo,
  describeIcmp,
  ICMP_TYPE,
  ICMPV6_TYPE,
  icmpv6Checksum,
  internetChecksum,
  onesComplementSum,
  parseIcmp,
  parseIcmpv6,
  parseIPv4Header,
  parseIPv4Packet,
  parseIPv6Header,
  parseUdpHeader,
} from "../net/packets.ts";
import { Rng, run } from "./helpers.ts";

// ------------------------------------------------ moved from raw_test.ts

Deno.test("packets: Internet checksum matches RFC 1071's example and verifies to 0", () => {
  const words = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(internetChecksum(words), 0x220d);
  const withSum = Uint8Array.from([...words, 0x22, 0x0d]);
  assert.equal(internetChecksum(withSum), 0);
  // An odd length is padded with a zero byte.
  assert.equal(
    internetChecksum(Uint8Array.from([0x01])),
    internetChecksum(Uint8Array.from([1, 0])),
  );
  assert.throws(() => internetChecksum([1, 2] as unknown as Uint8Array), TypeError);
});

Deno.test("packets: ICMP echo build/parse round trip, checksum valid, fields checked", () => {
  const payload = Uint8Array.from({ length: 56 }, (_, i) => i);
  const message = buildIcmpEcho({ identifier: 0xbeef, sequence: 513, payload });
  assert.equal(message.byteLength, 64);
  assert.equal(message[0], ICMP_TYPE.ECHO_REQUEST);
  assert.equal(internetChecksum(message), 0);
  const parsed = parseIcmp(message);
  assert.equal(parsed.kind, "echo-request");
  if (parsed.kind !== "echo-request") return;
  assert.deepEqual([parsed.identifier, parsed.sequence, parsed.checksumValid], [0xbeef, 513, true]);
  assert.deepEqual(parsed.payload, payload);
  const reply = parseIcmp(buildIcmpEcho({ identifier: 1, sequence: 2, kind: "reply" }));
  assert.equal(reply.kind, "echo-reply");
  message[9] ^= 1;
  assert.equal(parseIcmp(message).checksumValid, false);
  assert.throws(() => buildIcmpEcho({ identifier: 65536, sequence: 0 }), RangeError);
  assert.throws(() => buildIcmpEcho({ identifier: 1, sequence: -1 }), RangeError);
  assert.throws(() => parseIcmp(new Uint8Array(3)), RangeError);
});

/** An IPv4 header with a correct checksum. */
function ipv4Header(
  fields: { protocol: number; ttl: number; src: number[]; dst: number[]; length: number },
): Uint8Array {
  const h = new Uint8Array(20);
  h[0] = 0x45;
  h[2] = fields.length >> 8;
  h[3] = fields.length & 0xff;
  h[4] = 0x12;
  h[5] = 0x34;
  h[6] = 0x40; // DF
  h[8] = fields.ttl;
  h[9] = fields.protocol;
  h.set(fields.src, 12);
  h.set(fields.dst, 16);
  const sum = internetChecksum(h);
  h[10] = sum >> 8;
  h[11] = sum & 0xff;
  return h;
}

Deno.test("packets: IPv4 header parse (flags, ttl, addresses, checksum)", () => {
  const h = ipv4Header({
    protocol: 17,
    ttl: 3,
    src: [10, 0, 0, 1],
    dst: [127, 0, 0, 1],
    length: 48,
  });
  const parsed = parseIPv4Header(h);
  assert.equal(parsed.version, 4);
  assert.equal(parsed.headerLength, 20);
  assert.equal(parsed.totalLength, 48);
  assert.equal(parsed.identification, 0x1234);
  assert.equal(parsed.flags, 2, "don't fragment");
  assert.equal(parsed.ttl, 3);
  assert.equal(parsed.protocol, 17);
  assert.equal(parsed.source, "10.0.0.1");
  assert.equal(parsed.destination, "127.0.0.1");
  assert.equal(parsed.checksumValid, true);
  assert.throws(() => parseIPv4Header(new Uint8Array(19)), RangeError);
  assert.throws(() => parseIPv4Header(new Uint8Array(20)), RangeError, "version 0");
});

Deno.test("packets: ICMP time exceeded and port unreachable expose the embedded IPv4 + UDP header", () => {
  const udp = Uint8Array.from([0x9c, 0x40, 0x82, 0x9a, 0, 40, 0, 0]); // 40000 -> 33434
  const original = Uint8Array.from([
    ...ipv4Header({
      protocol: 17,
      ttl: 1,
      src: [192, 0, 2, 1],
      dst: [198, 51, 100, 7],
      length: 60,
    }),
    ...udp,
  ]);
  for (
    const [type, code, kind, text] of [
      [11, 0, "time-exceeded", "time to live exceeded in transit"],
      [3, 3, "destination-unreachable", "port unreachable"],
    ] as const
  ) {
    const message = new Uint8Array(8 + original.byteLength);
    message[0] = type;
    message[1] = code;
    message.set(original, 8);
    const sum = internetChecksum(message);
    message[2] = sum >> 8;
    message[3] = sum & 0xff;
    const parsed = parseIcmp(message);
    assert.equal(parsed.kind, kind);
    if (parsed.kind !== "time-exceeded" && parsed.kind !== "destination-unreachable") return;
    assert.equal(parsed.checksumValid, true);
    assert.equal(parsed.description, text);
    assert.equal(parsed.original?.header.destination, "198.51.100.7");
    assert.equal(parsed.original?.header.ttl, 1);
    assert.deepEqual(parsed.original?.udp, {
      sourcePort: 40000,
      destinationPort: 33434,
      length: 40,
      checksum: 0,
    });
  }
  assert.equal(describeIcmp(3, 13), "communication administratively prohibited");
  assert.equal(describeIcmp(1, 4, true), "port unreachable");
  assert.deepEqual(parseUdpHeader(udp).destinationPort, 33434);
});

Deno.test("packets: ICMPv6 echo and errors with the embedded IPv6 header; checksum over the pseudo-header", () => {
  const echo = buildIcmpv6Echo({ identifier: 9, sequence: 10, payload: new Uint8Array(4) });
  assert.equal(echo[0], 128);
  assert.equal((echo[2] << 8) | echo[3], 0, "left for the kernel without addresses");
  const summed = buildIcmpv6Echo({
    identifier: 9,
    sequence: 10,
    source: "::1",
    destination: "::1",
  });
  assert.equal((summed[2] << 8) | summed[3], icmpv6Checksum("::1", "::1", summed));
  const parsed = parseIcmpv6(summed);
  assert.equal(parsed.kind, "echo-request");

  const ip6 = new Uint8Array(40);
  ip6[0] = 0x60;
  ip6[5] = 8;
  ip6[6] = 17;
  ip6[7] = 1;
  ip6[23] = 1;
  ip6[39] = 1;
  const header = parseIPv6Header(ip6);
  assert.deepEqual([header.nextHeader, header.hopLimit, header.source], [17, 1, "::1"]);
  const message = new Uint8Array(8 + 40 + 8);
  message[0] = 1; // destination unreachable
  message[1] = 4; // port unreachable
  message.set(ip6, 8);
  message.set([0x9c, 0x40, 0x82, 0x9a, 0, 8, 0, 0], 48);
  const error = parseIcmpv6(message);
  assert.equal(error.kind, "destination-unreachable");
  if (error.kind !== "destination-unreachable") return;
  assert.equal(error.description, "port unreachable");
  assert.equal(error.original?.udp?.destinationPort, 33434);
  const tooBig = new Uint8Array(8 + 40);
  tooBig[0] = 2;
  tooBig[6] = 0x05;
  tooBig[7] = 0xdc;
  tooBig.set(ip6, 8);
  const pmtu = parseIcmpv6(tooBig);
  assert.equal(pmtu.kind === "packet-too-big" && pmtu.mtu, 1500);
});

// ------------------------------------------------------- reference checksum

/**
 * RFC 1071 written out independently of the module: 16-bit big-endian words
 * summed in a 64-bit BigInt (no folding until the end), an odd byte padded
 * on the right, then the carries folded and the result complemented.
 */
function referenceChecksum(bytes: Uint8Array, pseudo: Uint8Array = new Uint8Array(0)): number {
  const all = new Uint8Array(pseudo.length + bytes.length + 1);
  all.set(pseudo, 0);
  all.set(bytes, pseudo.length);
  const length = pseudo.length + bytes.length;
  let sum = 0n;
  for (let i = 0; i < length; i += 2) {
    sum += BigInt(all[i] * 256 + (i + 1 < length ? all[i + 1] : 0));
  }
  while (sum >> 16n) sum = (sum & 0xffffn) + (sum >> 16n);
  return Number(~sum & 0xffffn);
}

/** The IPv6 pseudo-header of RFC 8200 §8.1 for ICMPv6 (next header 58), built by hand. */
function pseudoHeader(source: number[], destination: number[], length: number): Uint8Array {
  const p = new Uint8Array(40);
  p.set(source, 0);
  p.set(destination, 16);
  new DataView(p.buffer).setUint32(32, length);
  p[39] = 58;
  return p;
}

const LOOPBACK6 = [...new Array(15).fill(0), 1];
const LINK_LOCAL = [0xfe, 0x80, ...new Array(13).fill(0), 1]; // fe80::1
const ALL_NODES = [0xff, 0x02, ...new Array(13).fill(0), 1]; // ff02::1

/** Buffers whose checksums are easy to get wrong: empty, odd, all ones, carries, random. */
function checksumCases(rng: Rng): Uint8Array[] {
  const cases = [
    new Uint8Array(0),
    Uint8Array.of(0xff),
    Uint8Array.of(0xff, 0xff),
    new Uint8Array(4097).fill(0xff),
    new Uint8Array(64).fill(0),
    Uint8Array.of(0x80, 0x00, 0x80, 0x00), // carry out of the top bit
  ];
  for (let n = 1; n <= 80; n++) cases.push(rng.bytes(n));
  for (const n of [1499, 1500, 9000, 65535]) cases.push(rng.bytes(n));
  return cases;
}

Deno.test("packets: internetChecksum equals an independent RFC 1071 reference on 90 buffers (odd lengths, carries, 64 KiB)", () => {
  const rng = new Rng(0x1071);
  for (const bytes of checksumCases(rng)) {
    const expected = referenceChecksum(bytes);
    assert.equal(internetChecksum(bytes), expected, `${bytes.length} bytes`);
    // Storing the checksum after an even-length message makes the whole verify to 0.
    if (bytes.length % 2 === 0) {
      const sealed = Uint8Array.from([...bytes, expected >> 8, expected & 0xff]);
      assert.equal(internetChecksum(sealed), 0, `${bytes.length} bytes + checksum`);
    }
  }
});

const python = (await run("sh", ["-c", "command -v python3"])).stdout.trim();

Deno.test({
  name: python
    ? "packets: internetChecksum equals Python's RFC 1071 checksum on the same buffers"
    : "packets: internetChecksum vs Python — NOT RUN (no python3 here)",
  ignore: !python,
  fn: async () => {
    const cases = checksumCases(new Rng(0x7e57));
    const program = [
      "import sys, json",
      "def csum(b):",
      "    if len(b) % 2: b = b + b'\\x00'",
      "    s = sum(int.from_bytes(b[i:i+2], 'big') for i in range(0, len(b), 2))",
      "    while s >> 16: s = (s & 0xffff) + (s >> 16)",
      "    return ~s & 0xffff",
      "print(json.dumps([csum(bytes.fromhex(h)) for h in json.load(sys.stdin)]))",
    ].join("\n");
    const hex = cases.map((b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""));
    const r = await run(python, ["-c", program], { stdin: JSON.stringify(hex) });
    assert.equal(r.code, 0, r.stderr);
    const theirs: number[] = JSON.parse(r.stdout);
    assert.equal(theirs.length, cases.length);
    cases.forEach((bytes, i) => {
      assert.equal(internetChecksum(bytes), theirs[i], `${bytes.length} bytes`);
    });
  },
});

Deno.test("packets: onesComplementSum continues from `initial` like one sum over both parts", () => {
  const rng = new Rng(42);
  for (let i = 0; i < 50; i++) {
    // The first part even-sized, so the words line up across the split.
    const a = rng.bytes(2 * rng.int(40));
    const b = rng.bytes(rng.int(81));
    const whole = Uint8Array.from([...a, ...b]);
    assert.equal(internetChecksum(b, onesComplementSum(a)), internetChecksum(whole));
    assert.equal(onesComplementSum(whole), ~referenceChecksum(whole) & 0xffff);
  }
  assert.equal(onesComplementSum(Uint8Array.of(0xff, 0xff, 0x00, 0x01)), 0x0001);
  for (const initial of [-1, 1.5, 2 ** 32, NaN, "1"]) {
    assert.throws(() => onesComplementSum(new Uint8Array(2), initial as number), RangeError);
  }
});

// ----------------------------------------------------------------- headers

/** An IPv4 header of `words` 32-bit words, options filled with `0x01` (NOP). */
function ipv4(
  fields: {
    words?: number;
    tos?: number;
    total: number;
    id?: number;
    flags?: number;
    offset?: number;
    ttl?: number;
    protocol: number;
    src: number[];
    dst: number[];
  },
): Uint8Array {
  const words = fields.words ?? 5;
  const h = new Uint8Array(words * 4).fill(0x01);
  const v = new DataView(h.buffer);
  h[0] = 0x40 | words;
  h[1] = fields.tos ?? 0;
  v.setUint16(2, fields.total);
  v.setUint16(4, fields.id ?? 0);
  v.setUint16(6, ((fields.flags ?? 0) << 13) | ((fields.offset ?? 0) / 8));
  h[8] = fields.ttl ?? 64;
  h[9] = fields.protocol;
  v.setUint16(10, 0);
  h.set(fields.src, 12);
  h.set(fields.dst, 16);
  v.setUint16(10, referenceChecksum(h));
  return h;
}

Deno.test("packets: IPv4 header with options, TOS, MF flag and fragment offset; a flipped bit fails the checksum", () => {
  const h = ipv4({
    words: 7,
    tos: 0xb8,
    total: 28 + 100,
    id: 0xfedc,
    flags: 1,
    offset: 1480,
    ttl: 255,
    protocol: 6,
    src: [192, 0, 2, 33],
    dst: [203, 0, 113, 200],
  });
  const parsed = parseIPv4Header(h);
  assert.deepEqual(
    {
      headerLength: parsed.headerLength,
      tos: parsed.tos,
      totalLength: parsed.totalLength,
      identification: parsed.identification,
      flags: parsed.flags,
      fragmentOffset: parsed.fragmentOffset,
      ttl: parsed.ttl,
      protocol: parsed.protocol,
      source: parsed.source,
      destination: parsed.destination,
      checksumValid: parsed.checksumValid,
    },
    {
      headerLength: 28,
      tos: 0xb8,
      totalLength: 128,
      identification: 0xfedc,
      flags: 1,
      fragmentOffset: 1480,
      ttl: 255,
      protocol: 6,
      source: "192.0.2.33",
      destination: "203.0.113.200",
      checksumValid: true,
    },
  );
  assert.equal(parsed.checksum, (h[10] << 8) | h[11]);
  assert.deepEqual(parsed.options, new Uint8Array(8).fill(0x01));
  // The options are a copy: changing them leaves the packet alone.
  parsed.options[0] = 0;
  assert.equal(h[20], 0x01);
  for (let bit = 0; bit < h.length * 8; bit += 13) {
    const bad = h.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    if ((bad[0] >> 4) !== 4 || (bad[0] & 0x0f) * 4 < 20 || (bad[0] & 0x0f) * 4 > bad.length) {
      continue; // no longer parsable as this header; covered below
    }
    assert.equal(parseIPv4Header(bad).checksumValid, false, `bit ${bit} flipped`);
  }
});

Deno.test("packets: malformed IPv4 headers are RangeErrors that say what is wrong", () => {
  const good = ipv4({ total: 20, protocol: 1, src: [127, 0, 0, 1], dst: [127, 0, 0, 1] });
  assert.throws(() => parseIPv4Header(good.subarray(0, 19)), RangeError, "at least 20 bytes");
  const v6 = good.slice();
  v6[0] = 0x65;
  assert.throws(() => parseIPv4Header(v6), RangeError, "version 6");
  const short = good.slice();
  short[0] = 0x44; // IHL 4: 16 bytes
  assert.throws(() => parseIPv4Header(short), RangeError, "below 20");
  const long = good.slice();
  long[0] = 0x46; // IHL 6 claims 24 bytes, only 20 given
  assert.throws(() => parseIPv4Header(long), RangeError, "at least 24 bytes");
});

Deno.test("packets: parseIPv4Packet cuts the payload at the total length, or at the end when it lies", () => {
  const body = Uint8Array.from({ length: 30 }, (_, i) => i + 1);
  const packet = (total: number) =>
    Uint8Array.from([
      ...ipv4({ total, protocol: 17, src: [10, 0, 0, 1], dst: [10, 0, 0, 2] }),
      ...body,
    ]);
  assert.deepEqual(parseIPv4Packet(packet(20 + 12)).payload, body.subarray(0, 12));
  assert.deepEqual(parseIPv4Packet(packet(50)).payload, body, "exactly the bytes");
  assert.deepEqual(parseIPv4Packet(packet(51)).payload, body, "longer than the bytes");
  assert.deepEqual(parseIPv4Packet(packet(19)).payload, body, "shorter than the header");
  assert.equal(parseIPv4Packet(packet(20)).payload.byteLength, 0);
  assert.throws(() => parseIPv4Packet(new Uint8Array(10)), RangeError);
});

Deno.test("packets: IPv6 header fields (traffic class, flow label, lengths, addresses); truncated or v4 refused", () => {
  const h = new Uint8Array(40);
  new DataView(h.buffer).setUint32(0, (6 << 28) | (0xa5 << 20) | 0xbeef5);
  new DataView(h.buffer).setUint16(4, 1232);
  h[6] = 58;
  h[7] = 255;
  h.set(LINK_LOCAL, 8);
  h.set(ALL_NODES, 24);
  const parsed = parseIPv6Header(h);
  assert.deepEqual(parsed, {
    version: 6,
    headerLength: 40,
    trafficClass: 0xa5,
    flowLabel: 0xbeef5,
    payloadLength: 1232,
    nextHeader: 58,
    hopLimit: 255,
    source: "fe80::1",
    destination: "ff02::1",
  });
  assert.throws(() => parseIPv6Header(h.subarray(0, 39)), RangeError, "at least 40 bytes");
  const v4 = h.slice();
  v4[0] = 0x45;
  assert.throws(() => parseIPv6Header(v4), RangeError, "version 4");
});

Deno.test("packets: UDP header fields, and fewer than 8 bytes refused", () => {
  const udp = Uint8Array.of(0xff, 0xff, 0x00, 0x00, 0x05, 0xdc, 0xab, 0xcd);
  assert.deepEqual(parseUdpHeader(udp), {
    sourcePort: 65535,
    destinationPort: 0,
    length: 1500,
    checksum: 0xabcd,
  });
  assert.deepEqual(parseUdpHeader(Uint8Array.from([...udp, 1, 2, 3])), parseUdpHeader(udp));
  assert.throws(() => parseUdpHeader(udp.subarray(0, 7)), RangeError, "at least 8 bytes");
});

// --------------------------------------------------------------------- ICMP

Deno.test("packets: ICMP echo round trips over identifiers, sequences and payload sizes; checksum = reference", () => {
  const rng = new Rng(8);
  for (const [identifier, sequence] of [[0, 0], [65535, 65535], [1, 65534], [0x1234, 0xabcd]]) {
    for (const size of [0, 1, 7, 56, 1472, 65499]) {
      for (const kind of ["request", "reply"] as const) {
        const payload = rng.bytes(size);
        const m = buildIcmpEcho({ identifier, sequence, payload, kind });
        assert.equal(m.byteLength, 8 + size);
        assert.equal(m[0], kind === "request" ? ICMP_TYPE.ECHO_REQUEST : ICMP_TYPE.ECHO_REPLY);
        assert.equal(m[1], 0);
        const zeroed = m.slice();
        zeroed[2] = zeroed[3] = 0;
        assert.equal((m[2] << 8) | m[3], referenceChecksum(zeroed), `${size} bytes`);
        const parsed = parseIcmp(m);
        assert.ok(parsed.kind === `echo-${kind}`, parsed.kind);
        if (parsed.kind !== "echo-request" && parsed.kind !== "echo-reply") continue;
        assert.deepEqual(
          [parsed.identifier, parsed.sequence, parsed.code, parsed.checksumValid],
          [identifier, sequence, 0, true],
        );
        assert.deepEqual(parsed.payload, payload);
      }
    }
  }
  // The payload is copied in: changing the caller's buffer afterwards changes nothing.
  const payload = Uint8Array.of(1, 2, 3);
  const m = buildIcmpEcho({ identifier: 1, sequence: 1, payload });
  payload[0] = 9;
  assert.equal(m[8], 1);
});

Deno.test("packets: ICMPv6 echo checksum equals the reference over a hand-built pseudo-header", () => {
  const rng = new Rng(6);
  for (
    const [src, dst, srcBytes, dstBytes] of [
      ["::1", "::1", LOOPBACK6, LOOPBACK6],
      ["fe80::1", "ff02::1", LINK_LOCAL, ALL_NODES],
      ["ff02::1", "fe80::1", ALL_NODES, LINK_LOCAL],
    ] as const
  ) {
    for (const size of [0, 1, 32, 1232]) {
      const payload = rng.bytes(size);
      const m = buildIcmpv6Echo({
        identifier: 0xaaaa,
        sequence: size,
        payload,
        source: src,
        destination: dst,
      });
      assert.equal(m[0], ICMPV6_TYPE.ECHO_REQUEST);
      const zeroed = m.slice();
      zeroed[2] = zeroed[3] = 0;
      const expected = referenceChecksum(
        zeroed,
        pseudoHeader([...srcBytes], [...dstBytes], m.byteLength),
      );
      assert.equal((m[2] << 8) | m[3], expected, `${src} -> ${dst}, ${size} bytes`);
      // The checksum field's old content does not enter the computation.
      const dirty = m.slice();
      dirty[2] = 0x12;
      dirty[3] = 0x34;
      assert.equal(icmpv6Checksum(src, dst, dirty), expected);
      const parsed = parseIcmpv6(m);
      assert.equal(parsed.kind, "echo-request");
      if (parsed.kind === "echo-request") assert.deepEqual(parsed.payload, payload);
    }
  }
  const reply = buildIcmpv6Echo({ identifier: 1, sequence: 2, kind: "reply" });
  assert.equal(reply[0], ICMPV6_TYPE.ECHO_REPLY);
  assert.equal(parseIcmpv6(reply).kind, "echo-reply");
  // Only one address given: the other is taken as ::.
  const half = buildIcmpv6Echo({ identifier: 1, sequence: 2, source: "::1" });
  assert.equal((half[2] << 8) | half[3], icmpv6Checksum("::1", "::", half));
  assert.throws(() => icmpv6Checksum("127.0.0.1", "::1", reply), TypeError, "IPv6");
  assert.throws(() => icmpv6Checksum("::1", "not an address", reply), TypeError, "IPv6");
});

/** An ICMP (v4) message of `type`/`code` with `rest` after the 8-byte header, checksummed. */
function icmpMessage(type: number, code: number, word: number[], rest: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + rest.byteLength);
  m[0] = type;
  m[1] = code;
  m.set(word, 4);
  m.set(rest, 8);
  const sum = referenceChecksum(m);
  m[2] = sum >> 8;
  m[3] = sum & 0xff;
  return m;
}

Deno.test("packets: ICMP errors: fragmentation-needed MTU, parameter problem, embedded TCP (no udp), unparsable original", () => {
  const tcp = Uint8Array.of(0x01, 0xbb, 0xc0, 0x00, 0, 0, 0, 1);
  const original = Uint8Array.from([
    ...ipv4({ total: 60, protocol: 6, src: [10, 1, 1, 1], dst: [10, 2, 2, 2] }),
    ...tcp,
  ]);
  const fragNeeded = parseIcmp(icmpMessage(3, 4, [0, 0, 0x05, 0x78], original));
  assert.equal(fragNeeded.kind, "destination-unreachable");
  if (fragNeeded.kind !== "destination-unreachable") return;
  assert.equal(fragNeeded.mtu, 1400);
  assert.equal(fragNeeded.description, "fragmentation needed and DF set");
  assert.equal(fragNeeded.original?.header.protocol, 6);
  assert.equal(fragNeeded.original?.udp, undefined, "a TCP original has no UDP header");
  assert.deepEqual(fragNeeded.original?.payload, tcp);

  const problem = parseIcmp(icmpMessage(12, 0, [20, 0, 0, 0], original));
  assert.equal(problem.kind, "parameter-problem");
  assert.equal(
    problem.kind === "parameter-problem" && problem.description,
    "parameter problem (code 0)",
  );

  // Only 10 bytes of the original: no header to parse, the error still parses.
  const cut = parseIcmp(icmpMessage(11, 0, [0, 0, 0, 0], original.subarray(0, 10)));
  assert.equal(cut.kind, "time-exceeded");
  assert.equal(cut.kind === "time-exceeded" && cut.original, undefined);
  // A UDP original with fewer than 8 UDP bytes: header yes, udp no.
  const udpShort = Uint8Array.from([
    ...ipv4({ total: 28, protocol: 17, src: [10, 1, 1, 1], dst: [10, 2, 2, 2] }),
    0x9c,
    0x40,
    0x82,
  ]);
  const partial = parseIcmp(icmpMessage(3, 3, [0, 0, 0, 0], udpShort));
  assert.equal(partial.kind, "destination-unreachable");
  if (partial.kind !== "destination-unreachable") return;
  assert.equal(partial.original?.header.protocol, 17);
  assert.equal(partial.original?.udp, undefined);
  assert.deepEqual(partial.original?.payload, Uint8Array.of(0x9c, 0x40, 0x82));
  // An unknown code still has a description.
  const odd = parseIcmp(icmpMessage(3, 99, [0, 0, 0, 0], original));
  assert.equal(
    odd.kind === "destination-unreachable" && odd.description,
    "destination unreachable (code 99)",
  );
});

Deno.test("packets: short and unknown ICMP messages parse as 'other' with their body; under 4 bytes is a RangeError", () => {
  // An echo needs 8 bytes: with 4..7 it is reported as-is, not misread.
  for (let n = 4; n < 8; n++) {
    for (const [type, parse] of [[8, parseIcmp], [128, parseIcmpv6], [3, parseIcmp]] as const) {
      const m = new Uint8Array(n);
      m[0] = type;
      const parsed = parse(m);
      assert.equal(parsed.kind, "other", `type ${type}, ${n} bytes`);
      if (parsed.kind === "other") assert.equal(parsed.body.byteLength, n - 4);
    }
  }
  const timestamp = icmpMessage(13, 0, [0, 1, 0, 2], new Uint8Array(12).fill(7));
  const parsed = parseIcmp(timestamp);
  assert.equal(parsed.kind, "other");
  if (parsed.kind === "other") {
    assert.deepEqual([parsed.type, parsed.code, parsed.checksumValid], [13, 0, true]);
    assert.deepEqual(parsed.body, timestamp.subarray(4));
  }
  for (let n = 0; n < 4; n++) {
    assert.throws(() => parseIcmp(new Uint8Array(n)), RangeError, "an ICMP message");
    assert.throws(() => parseIcmpv6(new Uint8Array(n)), RangeError, "an ICMPv6 message");
  }
});

Deno.test("packets: ICMPv6 time exceeded and parameter problem; describeIcmp for v6 codes", () => {
  const ip6 = new Uint8Array(40);
  ip6[0] = 0x60;
  ip6[6] = 58;
  ip6[7] = 1;
  ip6.set(LOOPBACK6, 8);
  ip6.set(LOOPBACK6, 24);
  for (const [type, kind] of [[3, "time-exceeded"], [4, "parameter-problem"]] as const) {
    const m = new Uint8Array(8 + 40);
    m[0] = type;
    m.set(ip6, 8);
    const parsed = parseIcmpv6(m);
    assert.equal(parsed.kind, kind);
    if (parsed.kind !== kind) continue;
    assert.equal(parsed.original?.header.nextHeader, 58);
    assert.equal(parsed.original?.udp, undefined);
    assert.equal(parsed.mtu, undefined);
  }
  assert.equal(describeIcmp(3, 0, true), "hop limit exceeded in transit");
  assert.equal(describeIcmp(3, 1, true), "fragment reassembly time exceeded");
  assert.equal(describeIcmp(1, 0, true), "no route to destination");
  assert.equal(describeIcmp(1, 42, true), "destination unreachable (code 42)");
  assert.equal(describeIcmp(128, 0, true), "echo request");
  assert.equal(describeIcmp(200, 1, true), "ICMPv6 type 200 code 1");
  assert.equal(describeIcmp(11, 1), "fragment reassembly time exceeded");
  assert.equal(describeIcmp(0, 0), "echo reply");
  assert.equal(describeIcmp(42, 7), "ICMP type 42 code 7");
  for (const bad of [-1, 256, 1.5, NaN]) {
    assert.throws(() => describeIcmp(bad, 0), RangeError);
    assert.throws(() => describeIcmp(0, bad), RangeError);
  }
});

// ------------------------------------------------------------ bad input

Deno.test("packets: builders refuse bad fields with RangeError/TypeError", () => {
  for (const build of [buildIcmpEcho, buildIcmpv6Echo]) {
    for (const bad of [-1, 65536, 1.5, NaN, Infinity, "1", null, 1n]) {
      assert.throws(
        () => build({ identifier: bad as number, sequence: 0 }),
        RangeError,
        "identifier",
      );
      assert.throws(
        () => build({ identifier: 0, sequence: bad as number }),
        RangeError,
        "sequence",
      );
    }
    assert.throws(() => build(null as never), TypeError, "options");
    assert.throws(() => build("echo" as never), TypeError, "options");
    for (const payload of ["abc", [1, 2], new ArrayBuffer(4), 5]) {
      assert.throws(
        () => build({ identifier: 0, sequence: 0, payload: payload as never }),
        TypeError,
      );
    }
    // 65507 is the largest IPv4 UDP-sized datagram: 8 header bytes leave 65499.
    assert.equal(
      build({ identifier: 0, sequence: 0, payload: new Uint8Array(65499) }).length,
      65507,
    );
    assert.throws(
      () => build({ identifier: 0, sequence: 0, payload: new Uint8Array(65500) }),
      RangeError,
      "at most 65499",
    );
  }
});

/** Every parser, for the hostile-input sweep. */
const PARSERS: [string, (b: Uint8Array) => unknown][] = [
  ["parseIPv4Header", parseIPv4Header],
  ["parseIPv4Packet", parseIPv4Packet],
  ["parseIPv6Header", parseIPv6Header],
  ["parseUdpHeader", parseUdpHeader],
  ["parseIcmp", parseIcmp],
  ["parseIcmpv6", parseIcmpv6],
  ["internetChecksum", (b) => internetChecksum(b)],
  ["onesComplementSum", (b) => onesComplementSum(b)],
  ["icmpv6Checksum", (b) => icmpv6Checksum("::1", "::1", b)],
];

Deno.test("packets: non-byte arguments are TypeErrors for every parser, never anything else", () => {
  const detached = new ArrayBuffer(8);
  const view = new Uint8Array(detached);
  detached.transfer();
  const notBytes: unknown[] = [
    undefined,
    null,
    0,
    "45000014",
    [0x45, 0, 0, 20],
    { length: 20, 0: 0x45 },
    new ArrayBuffer(20),
    new DataView(new ArrayBuffer(20)),
    new Uint16Array(20),
  ];
  for (const [name, parse] of PARSERS) {
    for (const value of notBytes) {
      assert.throws(() => parse(value as Uint8Array), TypeError, undefined, `${name}(${value})`);
    }
    // A detached view has no bytes: too short for a header, empty for a checksum.
    try {
      parse(view);
    } catch (error) {
      assert.ok(error instanceof RangeError, `${name}(detached): ${error}`);
    }
  }
});

Deno.test("packets: 20,000 random and truncated packets: a result or a RangeError, never another error", () => {
  const rng = new Rng(0xbad);
  const valid = [
    ipv4({ total: 28, protocol: 1, src: [127, 0, 0, 1], dst: [127, 0, 0, 1] }),
    buildIcmpEcho({ identifier: 1, sequence: 2, payload: rng.bytes(20) }),
    icmpMessage(
      11,
      0,
      [0, 0, 0, 0],
      ipv4({ total: 28, protocol: 17, src: [1, 2, 3, 4], dst: [5, 6, 7, 8] }),
    ),
  ];
  let results = 0, rangeErrors = 0;
  for (let i = 0; i < 20000; i++) {
    let bytes: Uint8Array;
    if (rng.chance(0.5)) {
      // A valid packet cut short or with bytes flipped: the parsers' edge cases.
      const base = rng.pick(valid);
      bytes = base.slice(0, rng.int(base.length + 1));
      for (let f = rng.int(3); f > 0 && bytes.length > 0; f--) {
        bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
      }
    } else {
      bytes = rng.bytes(rng.int(90));
      if (rng.chance(0.5) && bytes.length > 0) {
        bytes[0] = rng.pick([0x45, 0x46, 0x4f, 0x60, 3, 11, 1, 2]);
      }
    }
    const [name, parse] = PARSERS[i % PARSERS.length];
    try {
      parse(bytes);
      results++;
    } catch (error) {
      if (!(error instanceof RangeError)) {
        assert.fail(`${name}(${Array.from(bytes)}) threw ${error}`);
      }
      rangeErrors++;
    }
  }
  assert.ok(results > 1000 && rangeErrors > 1000, `${results} results, ${rangeErrors} RangeErrors`);
});
