/**
 * Tests of net/packets.ts (checksums, headers, ICMP/ICMPv6 build and parse)
 * and net/raw.ts: ICMP echo to 127.0.0.1 and ::1 through raw sockets (as
 * root) and through ping sockets (mode "dgram", with the sysctl
 * net.ipv4.ping_group_range opened for the test and restored after), the
 * errors that explain a refusal, a raw UDP socket, and the ICMP port
 * unreachable a UDP probe provokes (what traceroute reads).
 *
 * Run (as root): deno test --allow-ffi --allow-net --allow-read --allow-run tests/raw_test.ts
 */

import assert from "@assert";
import {
  DatagramTruncatedError,
  listenDatagram,
  openRawSocket,
  type RawSocket,
  SocketError,
} from "../mod.ts";
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP } from "../ffi/mod.ts";
import {
  buildIcmpEcho,
  buildIcmpv6Echo,
  describeIcmp,
  ICMP_TYPE,
  icmpv6Checksum,
  internetChecksum,
  parseIcmp,
  parseIcmpv6,
  parseIPv4Header,
  parseIPv4Packet,
  parseIPv6Header,
  parseUdpHeader,
} from "../net/packets.ts";

const RANGE_FILE = "/proc/sys/net/ipv4/ping_group_range";

async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return {
    code: result.code,
    out: new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr),
  };
}

/** Deno reads and writes /proc/sys only with --allow-all: go through the shell. */
async function readPingRange(): Promise<string> {
  return (await run("cat", [RANGE_FILE])).out.trim().replace(/\s+/, " ");
}

async function writePingRange(value: string): Promise<boolean> {
  const r = await run("sh", ["-c", `echo "$1" > ${RANGE_FILE}`, "sh", value]);
  return r.code === 0 && (await readPingRange()) === value;
}

const isRoot = Deno.uid() === 0;
const originalRange = await readPingRange();
const rangeWritable = await writePingRange(originalRange);

function rawAvailable(): boolean {
  try {
    openRawSocket({ protocol: IPPROTO_ICMP, mode: "raw" }).close();
    return true;
  } catch {
    return false;
  }
}
const haveRaw = rawAvailable();

// ---------------------------------------------------------------- packets

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

// ------------------------------------------------------------- raw sockets

async function echo(sock: RawSocket, target: string, identifier: number, sequence: number) {
  const v6 = sock.family === "ipv6";
  const payload = Uint8Array.from({ length: 24 }, (_, i) => i * 3);
  const message = v6
    ? buildIcmpv6Echo({ identifier, sequence, payload })
    : buildIcmpEcho({ identifier, sequence, payload });
  const start = performance.now();
  assert.equal(await sock.send(message, target), message.byteLength);
  for (;;) {
    const [data, from] = await sock.receive();
    let icmpBytes: Uint8Array = data;
    let ttl: number | undefined;
    if (sock.headerIncluded) {
      const packet = parseIPv4Packet(data);
      assert.equal(packet.header.checksumValid, true);
      assert.equal(packet.header.protocol, IPPROTO_ICMP);
      ttl = packet.header.ttl;
      icmpBytes = packet.payload;
    }
    const parsed = v6 ? parseIcmpv6(icmpBytes) : parseIcmp(icmpBytes);
    if (parsed.kind !== "echo-reply") continue;
    if (parsed.identifier !== identifier || parsed.sequence !== sequence) continue;
    assert.equal(parsed.checksumValid, true);
    assert.deepEqual(parsed.payload, payload);
    return { from: from.hostname, ttl, rtt: performance.now() - start };
  }
}

Deno.test({
  name: `raw ICMP: echo to 127.0.0.1 answered through SOCK_RAW${
    haveRaw ? "" : " (skipped: no CAP_NET_RAW)"
  }`,
  ignore: !haveRaw,
  fn: async () => {
    const sock = openRawSocket({ family: "ipv4", protocol: IPPROTO_ICMP, mode: "raw" });
    try {
      assert.equal(sock.mode, "raw");
      assert.equal(sock.headerIncluded, true);
      assert.equal(sock.identifier, undefined);
      sock.setIcmpFilter([ICMP_TYPE.ECHO_REPLY]);
      const reply = await echo(sock, "127.0.0.1", 0x7000 + (Deno.pid & 0xfff), 1);
      assert.equal(reply.from, "127.0.0.1");
      assert.equal(reply.ttl, 64);
      // With the filter, our own echo request (also delivered to lo) was never seen:
      // the first packet matching our identifier was the reply.
    } finally {
      sock.close();
    }
  },
});

Deno.test({
  name: `raw ICMPv6: echo to ::1 answered, and the kernel's checksum equals icmpv6Checksum${
    haveRaw ? "" : " (skipped: no CAP_NET_RAW)"
  }`,
  ignore: !haveRaw,
  fn: async () => {
    const sock = openRawSocket({ family: "ipv6", protocol: IPPROTO_ICMPV6, mode: "raw" });
    try {
      assert.equal(sock.headerIncluded, false);
      const identifier = 0x6000 + (Deno.pid & 0xfff);
      // Without a filter, the request we send to ::1 comes back to us first, checksummed by the kernel.
      const message = buildIcmpv6Echo({ identifier, sequence: 77, payload: new Uint8Array(8) });
      await sock.send(message, "::1");
      for (;;) {
        const [data] = await sock.receive();
        const parsed = parseIcmpv6(data);
        if (parsed.kind !== "echo-request" || parsed.identifier !== identifier) continue;
        assert.equal(parsed.checksum, icmpv6Checksum("::1", "::1", data));
        break;
      }
      sock.setIcmpFilter([129]);
      const reply = await echo(sock, "::1", identifier, 2);
      assert.equal(reply.from, "::1");
    } finally {
      sock.close();
    }
  },
});

Deno.test({
  name: `raw: receive(p) too small rejects with DatagramTruncatedError; receiveDetailed reports it${
    haveRaw ? "" : " (skipped)"
  }`,
  ignore: !haveRaw,
  fn: async () => {
    const sock = openRawSocket({ protocol: IPPROTO_ICMP, mode: "raw" });
    try {
      sock.setIcmpFilter([ICMP_TYPE.ECHO_REPLY]);
      const identifier = 0x5000 + (Deno.pid & 0xfff);
      const send = (sequence: number) =>
        sock.send(
          buildIcmpEcho({ identifier, sequence, payload: new Uint8Array(100) }),
          "127.0.0.1",
        );
      await send(1);
      const error = await sock.receive(new Uint8Array(20)).then(() => null, (e) => e);
      assert.ok(error instanceof DatagramTruncatedError, String(error));
      assert.equal(error.length, 20 + 108);
      assert.equal(error.bufferSize, 20);
      assert.equal(parseIPv4Header(error.data).protocol, IPPROTO_ICMP);
      await send(2);
      const info = await sock.receiveDetailed(new Uint8Array(64));
      assert.deepEqual([info.truncated, info.length, info.data.byteLength], [true, 128, 64]);
      await send(3);
      const whole = await sock.receiveDetailed(new Uint8Array(128));
      assert.equal(whole.truncated, false);
    } finally {
      sock.close();
    }
  },
});

Deno.test({
  name:
    `raw: a UDP probe to a closed port on 127.0.0.1 brings back ICMP port unreachable with our UDP header${
      haveRaw ? "" : " (skipped)"
    }`,
  ignore: !haveRaw,
  fn: async () => {
    const icmp = openRawSocket({ protocol: IPPROTO_ICMP, mode: "raw" });
    const udpRaw = openRawSocket({ protocol: IPPROTO_UDP, mode: "raw", hostname: "127.0.0.1" });
    const probe = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const closed = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const closedPort = closed.addr.port;
    closed.close();
    try {
      icmp.setIcmpFilter([ICMP_TYPE.DESTINATION_UNREACHABLE, ICMP_TYPE.TIME_EXCEEDED]);
      probe.setTTL(1);
      await probe.send(new Uint8Array(12), {
        transport: "udp",
        hostname: "127.0.0.1",
        port: closedPort,
      });
      // The raw UDP socket sees the datagram itself, IP header included.
      for (;;) {
        const [data] = await udpRaw.receive();
        const { header, payload } = parseIPv4Packet(data);
        const udp = parseUdpHeader(payload);
        if (udp.sourcePort !== probe.addr.port) continue;
        assert.deepEqual([header.ttl, header.protocol, udp.destinationPort, udp.length], [
          1,
          17,
          closedPort,
          20,
        ]);
        break;
      }
      for (;;) {
        const [data, from] = await icmp.receive();
        const message = parseIcmp(parseIPv4Packet(data).payload);
        if (message.kind !== "destination-unreachable") continue;
        if (message.original?.udp?.sourcePort !== probe.addr.port) continue;
        assert.equal(from.hostname, "127.0.0.1");
        assert.equal(message.code, 3);
        assert.equal(message.description, "port unreachable");
        assert.equal(message.original.udp.destinationPort, closedPort);
        assert.equal(message.original.header.destination, "127.0.0.1");
        break;
      }
    } finally {
      icmp.close();
      udpRaw.close();
      probe.close();
    }
  },
});

Deno.test("raw: argument checks before the kernel (dgram needs ICMP, family, protocol range)", () => {
  assert.throws(
    () => openRawSocket({ protocol: IPPROTO_UDP, mode: "dgram" }),
    TypeError,
    "ping socket",
  );
  assert.throws(
    () => openRawSocket({ family: "ipv6", protocol: IPPROTO_ICMP, mode: "dgram" }),
    TypeError,
    "ICMPv6",
  );
  assert.throws(() => openRawSocket({ protocol: 256 }), RangeError);
  assert.throws(() => openRawSocket({ protocol: 1, family: "ipx" as "ipv4" }), TypeError);
  assert.throws(() => openRawSocket({ protocol: 1, mode: "packet" as "raw" }), TypeError);
  assert.throws(() => openRawSocket({ protocol: 1, hostname: "::1" }), TypeError, "numeric ipv4");
});

Deno.test({
  name: haveRaw
    ? "raw: mode auto opens SOCK_RAW when CAP_NET_RAW is there"
    : "raw: mode auto (no CAP_NET_RAW here)",
  fn: () => {
    let sock: RawSocket | undefined;
    try {
      sock = openRawSocket({ protocol: IPPROTO_ICMP });
      assert.equal(sock.mode, haveRaw ? "raw" : "dgram");
    } catch (error) {
      assert.ok(!haveRaw);
      assert.ok(error instanceof Deno.errors.PermissionDenied);
      assert.match((error as Error).message, /CAP_NET_RAW.*ping_group_range/s);
    } finally {
      sock?.close();
    }
  },
});

Deno.test({
  name: rangeWritable
    ? `ping socket (mode "dgram"): echo to 127.0.0.1 and ::1 with net.ipv4.ping_group_range opened (was "${originalRange}", restored after)`
    : `ping socket (mode "dgram"): NOT RUN — net.ipv4.ping_group_range is not writable in this sandbox (it is "${originalRange}")`,
  ignore: !rangeWritable,
  fn: async () => {
    try {
      assert.ok(await writePingRange("0 2147483647"));
      for (
        const [family, protocol, target] of [
          ["ipv4", IPPROTO_ICMP, "127.0.0.1"],
          ["ipv6", IPPROTO_ICMPV6, "::1"],
        ] as const
      ) {
        const sock = openRawSocket({ family, protocol, mode: "dgram" });
        try {
          assert.equal(sock.mode, "dgram");
          assert.equal(sock.headerIncluded, false);
          assert.ok(sock.identifier !== undefined && sock.identifier > 0);
          // The kernel puts the socket's identifier in the request; the reply carries it.
          const reply = await echo(sock, target, sock.identifier!, 5);
          assert.equal(reply.from, target);
          // A ping socket accepts only echo requests.
          await assert.rejects(
            () => sock.send(Uint8Array.from([13, 0, 0, 0, 0, 0, 0, 0]), target),
            SocketError,
          );
        } finally {
          sock.close();
        }
      }
    } finally {
      await writePingRange(originalRange);
    }
  },
});

Deno.test({
  name: rangeWritable
    ? 'ping socket refused (range "1 0"): PermissionDenied naming net.ipv4.ping_group_range'
    : "ping socket refused: NOT RUN — net.ipv4.ping_group_range is not writable here",
  ignore: !rangeWritable || !isRoot,
  fn: async () => {
    try {
      assert.ok(await writePingRange("1 0"));
      const error = (() => {
        try {
          openRawSocket({ protocol: IPPROTO_ICMP, mode: "dgram" }).close();
        } catch (e) {
          return e;
        }
      })();
      assert.ok(error instanceof Deno.errors.PermissionDenied, String(error));
      assert.ok(error instanceof SocketError);
      assert.equal((error as SocketError).code, "EACCES");
      assert.match((error as Error).message, /net\.ipv4\.ping_group_range/);
      assert.match(
        (error as Error).message,
        /sysctl -w net\.ipv4\.ping_group_range="0 2147483647"/,
      );
    } finally {
      await writePingRange(originalRange);
    }
  },
});
