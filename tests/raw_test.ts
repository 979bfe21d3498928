/**
 * Tests of net/raw.ts (tests/packets_test.ts has the packet builders and
 * parsers this file uses): ICMP echo to 127.0.0.1 and ::1 through raw sockets (as
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
  ICMP_TYPE,
  icmpv6Checksum,
  parseIcmp,
  parseIcmpv6,
  parseIPv4Header,
  parseIPv4Packet,
  parseUdpHeader,
} from "../net/packets.ts";
import { readPingRange, writePingRange } from "./helpers.ts";

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
