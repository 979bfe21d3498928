/**
 * Tests of net/datagram.ts: UDP (IPv4, IPv6, dual-stack, connected) against
 * Deno's own `Deno.listenDatagram` in both directions, the size limits,
 * truncation, Unix datagram sockets (file paths, abstract names, unbound
 * senders, Deno's "unixpacket"), multicast on the loopback interface, and
 * the permission check on send. All traffic stays on 127.0.0.1 / ::1 / lo.
 *
 * Run: deno test --unstable-net --allow-ffi --allow-net --allow-read --allow-write --allow-run tests/datagram_test.ts
 */

import assert from "@assert";
import {
  connectDatagram,
  connectSeqpacket,
  DatagramConn,
  DatagramTruncatedError,
  listenDatagram,
  listenSeqpacket,
  MAX_UDP_PAYLOAD_V4,
  MAX_UDP_PAYLOAD_V6,
  SocketError,
} from "../mod.ts";
import { plain, readProc, runDenoSource, seededBytes, udpPair, within } from "./helpers.ts";

for (
  const [family, host, max] of [
    ["IPv4", "127.0.0.1", MAX_UDP_PAYLOAD_V4],
    ["IPv6", "::1", MAX_UDP_PAYLOAD_V6],
  ] as const
) {
  Deno.test(`UDP ${family}: sizes 0, 1, ${max} both ways with Deno.listenDatagram; ${max + 1} is the kernel's EMSGSIZE, as with Deno`, async () => {
    const ours = listenDatagram({ transport: "udp", hostname: host, port: 0 });
    const theirs = Deno.listenDatagram({ transport: "udp", hostname: host, port: 0 });
    const theirsAddr = theirs.addr as Deno.NetAddr;
    try {
      assert.equal(ours.addr.hostname, host);
      assert.ok(ours.addr.port > 0);
      const big = new Uint8Array(70000);
      for (const size of [0, 1, max]) {
        const payload = seededBytes(size, size);
        // ours -> Deno
        assert.equal(await ours.send(payload, theirsAddr), size);
        const [got, from] = await theirs.receive(big);
        assert.deepEqual(got, payload, `Deno received ${size} bytes intact`);
        assert.deepEqual(plain(from), ours.addr);
        // Deno -> ours (no buffer: never truncated)
        assert.equal(await theirs.send(payload, ours.addr), size);
        const [back, sender] = await ours.receive();
        assert.equal(back.byteLength, size);
        assert.deepEqual(back, payload, `we received ${size} bytes intact`);
        assert.deepEqual(sender, { transport: "udp", hostname: host, port: theirsAddr.port });
      }
      // One byte over the limit: the kernel refuses it (EMSGSIZE) and nothing
      // reaches the peer; Deno's own socket fails the same send the same way.
      const error = await ours.send(new Uint8Array(max + 1), theirsAddr).then(
        () => null,
        (e) => e,
      );
      const denoError = await theirs.send(new Uint8Array(max + 1), ours.addr).then(
        () => null,
        (e) => e,
      );
      assert.ok(error instanceof SocketError, String(error));
      assert.equal(error.code, "EMSGSIZE");
      assert.match(error.message, new RegExp(`${max + 1}-byte message`));
      assert.equal(denoError?.code, error.code, `Deno: ${denoError}`);
      await ours.send(seededBytes(3), theirsAddr);
      const [next] = await theirs.receive(big);
      assert.equal(next.byteLength, 3, "the next datagram Deno sees is the 3-byte one");
    } finally {
      ours.close();
      theirs.close();
    }
  });
}

Deno.test("UDP: receive(p) with a small buffer rejects with DatagramTruncatedError; receiveDetailed reports it", async () => {
  const { a, b, close } = udpPair();
  try {
    const payload = seededBytes(1000);
    await a.send(payload, b.addr);
    const small = new Uint8Array(100);
    const error = await b.receive(small).then(() => null, (e) => e);
    assert.ok(error instanceof DatagramTruncatedError);
    assert.ok(error instanceof RangeError);
    assert.equal(error.length, 1000);
    assert.equal(error.bufferSize, 100);
    assert.match(error.message, /1000 bytes .* 100-byte buffer/);
    assert.deepEqual(error.data, payload.subarray(0, 100));
    assert.deepEqual(error.addr, a.addr);

    await a.send(payload, b.addr);
    const info = await b.receiveDetailed(small);
    assert.equal(info.truncated, true);
    assert.equal(info.length, 1000);
    assert.equal(info.data.byteLength, 100);
    assert.equal(info.data.buffer, small.buffer, "data is a view of the caller's buffer");

    await a.send(payload, b.addr);
    const exact = await b.receiveDetailed(new Uint8Array(1000));
    assert.equal(exact.truncated, false);
    assert.deepEqual(exact.data, payload);
  } finally {
    close();
  }
});

Deno.test("UDP: a dual-stack socket on :: receives IPv4 as ::ffff:a.b.c.d and replies to it", async () => {
  const v6 = listenDatagram({ transport: "udp", hostname: "::", port: 0 });
  const v4 = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await v4.send(seededBytes(10), { transport: "udp", hostname: "127.0.0.1", port: v6.addr.port });
    const [data, from] = await v6.receive();
    assert.equal(data.byteLength, 10);
    assert.equal(from.hostname, "::ffff:127.0.0.1");
    await v6.send(seededBytes(5), from);
    // And an IPv4 destination written as IPv4 is mapped by the socket.
    await v6.send(seededBytes(6), v4.addr);
    assert.equal((await v4.receive())[0].byteLength, 5);
    assert.equal((await v4.receive())[0].byteLength, 6);
    // An IPv4 socket cannot send to IPv6.
    await assert.rejects(() => v4.send(seededBytes(1), v6.addr), TypeError);
  } finally {
    v6.close();
    v4.close();
  }
});

Deno.test("UDP: connected socket sends without an address, hears only its peer, and reports ECONNREFUSED", async () => {
  const server = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const serverAddr = server.addr as Deno.NetAddr;
  const stranger = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const conn = await connectDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: serverAddr.port,
  });
  try {
    assert.deepEqual(conn.remoteAddr, plain(serverAddr));
    assert.equal(conn.addr.hostname, "127.0.0.1");
    assert.equal(await conn.send(seededBytes(4)), 4);
    const [got, from] = await server.receive(new Uint8Array(100));
    assert.deepEqual(got, seededBytes(4));
    assert.deepEqual(plain(from), conn.addr);
    // A datagram from someone else is dropped by the kernel; the peer's arrives.
    await stranger.send(seededBytes(7), conn.addr);
    await server.send(seededBytes(9), conn.addr);
    const [reply, replyFrom] = await conn.receive();
    assert.deepEqual(reply, seededBytes(9));
    assert.deepEqual(replyFrom, plain(serverAddr));
    // Nobody listens any more: the ICMP port unreachable surfaces.
    server.close();
    await conn.send(seededBytes(1));
    await assert.rejects(() => conn.receive(), Deno.errors.ConnectionRefused);
    // connect() on an existing socket, then disconnect().
    conn.disconnect();
    assert.equal(conn.remoteAddr, undefined);
    await assert.rejects(() => conn.send(seededBytes(1)), TypeError);
    await conn.connect(stranger.addr);
    await conn.send(seededBytes(2));
    assert.deepEqual((await stranger.receive())[0], seededBytes(2));
  } finally {
    stranger.close();
    conn.close();
  }
});

Deno.test("UDP: concurrent receives complete in call order; close rejects pending ones and ends iteration", async () => {
  const { a, b } = udpPair();
  const first = b.receive();
  const second = b.receive(new Uint8Array(10));
  await a.send(seededBytes(1), b.addr);
  await a.send(seededBytes(2), b.addr);
  assert.equal((await first)[0].byteLength, 1);
  assert.equal((await second)[0].byteLength, 2);

  const iterated: number[] = [];
  const loop = (async () => {
    for await (const [data] of b) iterated.push(data.byteLength);
  })();
  await a.send(seededBytes(3), b.addr);
  await new Promise((r) => setTimeout(r, 50));
  // As Deno: a receive pending at close is Interrupted, a call after it BadResource.
  const pending = a.receive();
  a.close();
  await assert.rejects(() => pending, Deno.errors.Interrupted);
  await assert.rejects(() => a.send(seededBytes(1), b.addr), Deno.errors.BadResource);
  b.close();
  await loop;
  assert.deepEqual(iterated, [3]);
  b.close(); // twice is fine
});

Deno.test("UDP: bad arguments are rejected before libc", async () => {
  const a = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(() => a.send("hi" as unknown as Uint8Array, a.addr), TypeError);
    await assert.rejects(
      () => a.send(seededBytes(1), { transport: "udp", hostname: "127.0.0.1", port: 70000 }),
      RangeError,
    );
    await assert.rejects(() => a.send(seededBytes(1)), TypeError, "not connected");
    await assert.rejects(() => a.receive([1, 2] as unknown as Uint8Array), TypeError);
    assert.throws(
      () => listenDatagram({ transport: "udp", port: -1 }),
      RangeError,
    );
    assert.throws(
      () =>
        listenDatagram({
          transport: "udp",
          port: 0,
          reusePort: "yes" as unknown as boolean,
        }),
      TypeError,
    );
    assert.throws(
      () => listenDatagram({ transport: "tcp" } as unknown as { transport: "udp"; port: 0 }),
      TypeError,
    );
  } finally {
    a.close();
  }
});

Deno.test("UDP: send checks --allow-net for the destination, like Deno", async () => {
  const script = `
    import { listenDatagram } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
    const a = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const results = [];
    try {
      await a.send(new Uint8Array(1), { transport: "udp", hostname: "127.0.0.1", port: 9 });
      results.push("sent");
    } catch (e) { results.push(e.constructor.name + ": " + e.message); }
    try {
      await a.send(new Uint8Array(1), { transport: "udp", hostname: "127.0.0.2", port: 9 });
      results.push("sent");
    } catch (e) { results.push(e.constructor.name + ": " + e.message); }
    a.close();
    console.log(JSON.stringify(results));
  `;
  // deno eval grants every permission: run a file with a narrow --allow-net instead.
  const out = await runDenoSource(["--allow-ffi", "--allow-net=127.0.0.1"], script);
  assert.equal(out.code, 0, out.stderr);
  const results = JSON.parse(out.stdout);
  assert.equal(results[0], "sent");
  assert.match(results[1], /^NotCapable: Requires net access to "127\.0\.0\.2:9"/);
});

Deno.test("Unix datagram: both ways between two bound sockets (file path and abstract name), 100 kB unclipped", async () => {
  const dir = await Deno.makeTempDir();
  const abstract = `\0bsd-sockets-test-${Deno.pid}-${Math.random()}`;
  const a = listenDatagram({ transport: "unixgram", path: `${dir}/a.sock` });
  const b = listenDatagram({ transport: "unixgram", path: abstract });
  try {
    assert.deepEqual(a.addr, { transport: "unixpacket", path: `${dir}/a.sock` });
    assert.equal((await Deno.stat(`${dir}/a.sock`)).isSocket, true);
    await a.send(seededBytes(5), b.addr);
    const [got, from] = await b.receive();
    assert.deepEqual(got, seededBytes(5));
    assert.deepEqual(from, { transport: "unixpacket", path: `${dir}/a.sock` });
    await b.send(seededBytes(100_000), from);
    const [back, backFrom] = await a.receive();
    assert.equal(back.byteLength, 100_000, "a Unix datagram above 64 KiB is not cut");
    assert.deepEqual(back, seededBytes(100_000));
    assert.equal(backFrom.path, abstract);
    // Zero-length datagrams exist too.
    await a.send(new Uint8Array(0), b.addr);
    assert.equal((await b.receive())[0].byteLength, 0);
    // Truncation reporting works the same way.
    await a.send(seededBytes(50), b.addr);
    const info = await b.receiveDetailed(new Uint8Array(8));
    assert.deepEqual([info.truncated, info.length, info.data.byteLength], [true, 50, 8]);
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Unix datagram: an unbound sender, connectDatagram, and Deno's unixpacket both ways", async () => {
  const dir = await Deno.makeTempDir();
  const theirs = Deno.listenDatagram({ transport: "unixpacket", path: `${dir}/deno.sock` });
  const ours = listenDatagram({ transport: "unixpacket", path: `${dir}/ours.sock` });
  const unbound = listenDatagram({ transport: "unixgram" });
  try {
    // As Deno: an unbound socket and an unnamed sender have a null path.
    assert.equal(unbound.addr.path, null);
    await unbound.send(seededBytes(3), ours.addr);
    const [got, from] = await ours.receive();
    assert.deepEqual(got, seededBytes(3));
    assert.equal(from.path, null, "an unbound sender has no address");
    await unbound.send(seededBytes(3), theirs.addr);
    const [, denoSaw] = await theirs.receive(new Uint8Array(16));
    assert.equal((denoSaw as Deno.UnixAddr).path, from.path, "Deno reports the same sender");

    // ours -> Deno and Deno -> ours.
    await ours.send(seededBytes(20), { transport: "unixpacket", path: `${dir}/deno.sock` });
    const [denoGot, denoFrom] = await theirs.receive(new Uint8Array(100));
    assert.deepEqual(denoGot, seededBytes(20));
    assert.equal((denoFrom as Deno.UnixAddr).path, `${dir}/ours.sock`);
    await theirs.send(seededBytes(30), ours.addr);
    const [oursGot, oursFrom] = await ours.receive();
    assert.deepEqual(oursGot, seededBytes(30));
    assert.equal(oursFrom.path, `${dir}/deno.sock`);

    // A connected client with its own path, so the server can answer.
    const client = await connectDatagram({
      transport: "unixgram",
      path: `${dir}/ours.sock`,
      localPath: `${dir}/client.sock`,
    });
    try {
      await client.send(seededBytes(4));
      const [req, reqFrom] = await ours.receive();
      assert.deepEqual(req, seededBytes(4));
      assert.equal(reqFrom.path, `${dir}/client.sock`);
      await ours.send(seededBytes(6), reqFrom);
      assert.deepEqual((await client.receive())[0], seededBytes(6));
    } finally {
      client.close();
    }
    await assert.rejects(
      () => connectDatagram({ transport: "unixgram", path: `${dir}/nobody.sock` }),
      Deno.errors.NotFound,
    );
  } finally {
    theirs.close();
    ours.close();
    unbound.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Multicast memberships the kernel lists for `lo` in /proc/net/igmp (hex, host order). */
async function igmpGroupsOnLo(): Promise<string[]> {
  const text = await readProc("/proc/net/igmp");
  const groups: string[] = [];
  let onLo = false;
  for (const line of text.split("\n")) {
    if (/^\d+\s/.test(line)) onLo = /^\d+\s+lo\s/.test(line);
    else if (onLo && /^\s+[0-9A-F]{8}\s/.test(line)) groups.push(line.trim().split(/\s+/)[0]);
  }
  return groups;
}

Deno.test("Multicast IPv4: join 239.255.x.y on 127.0.0.1, receive with loopback, leave", async () => {
  const group = `239.255.${Deno.pid & 0xff}.${(Deno.pid >> 8) & 0xff || 1}`;
  const hex = group.split(".").map((n) => Number(n).toString(16).padStart(2, "0").toUpperCase())
    .reverse().join("");
  const receiver = listenDatagram({
    transport: "udp",
    hostname: "0.0.0.0",
    port: 0,
    reuseAddress: true,
  });
  const sender = listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
    loopback: true,
  });
  try {
    // Keep the traffic on lo: the outgoing interface is pinned, TTL 0.
    sender.setMulticastInterface("127.0.0.1");
    assert.equal(sender.getOption("IP_MULTICAST_IF"), "127.0.0.1");
    assert.equal(sender.getOption("IP_MULTICAST_LOOP"), true);
    sender.setOption("IP_MULTICAST_TTL", 0);
    const membership = await receiver.joinMulticastV4(group, "127.0.0.1");
    assert.ok((await igmpGroupsOnLo()).includes(hex), `${group} listed on lo in /proc/net/igmp`);
    await membership.setTTL(0);
    await membership.setLoopback(true);
    assert.equal(receiver.getOption("IP_MULTICAST_TTL"), 0);

    const to = { transport: "udp" as const, hostname: group, port: receiver.addr.port };
    await sender.send(seededBytes(12), to);
    const [data, from] = await receiver.receive();
    assert.deepEqual(data, seededBytes(12));
    assert.deepEqual(from, sender.addr);

    await membership.leave();
    await membership.leave(); // a second leave does nothing
    assert.ok(!(await igmpGroupsOnLo()).includes(hex), "membership gone after leave()");
    await sender.send(seededBytes(13), to);
    assert.equal(await within(receiver.receive(), 200), "timeout", "no delivery after leave");
  } finally {
    receiver.close();
    sender.close();
  }
  const conn = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(() => conn.joinMulticastV4("10.0.0.1", "127.0.0.1"), TypeError);
    await assert.rejects(() => conn.joinMulticastV4("239.1.1.1", "lo"), TypeError);
  } finally {
    conn.close();
  }
});

const IPV6_GROUP = "ff02::1:ff00:beef";

async function igmp6GroupsOnLo(): Promise<string[]> {
  const text = await readProc("/proc/net/igmp6");
  return text.split("\n").filter((line) => /^\d+\s+lo\s/.test(line)).map((line) =>
    line.trim().split(/\s+/)[2]
  );
}

// lo has no IPv6 multicast route in many sandboxes (this one included): the
// kernel then refuses the send with ENETUNREACH. Joining and leaving work
// everywhere and are checked against /proc/net/igmp6.
const v6Probe = await (async () => {
  const s = listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  try {
    s.setMulticastInterface(1);
    await s.send(new Uint8Array(0), { transport: "udp", hostname: IPV6_GROUP, port: 9 });
    return "delivered";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  } finally {
    s.close();
  }
})();

Deno.test(
  `Multicast IPv6: join/leave ${IPV6_GROUP} on lo (ifindex 1)${
    v6Probe === "delivered"
      ? ", send and receive"
      : `; send refused by this kernel (${v6Probe}: lo has no IPv6 multicast route)`
  }`,
  async () => {
    const receiver = listenDatagram({ transport: "udp", hostname: "::", port: 0, loopback: true });
    try {
      const membership = await receiver.joinMulticastV6(IPV6_GROUP, 1);
      assert.equal(membership.interfaceIndex, 1);
      assert.ok((await igmp6GroupsOnLo()).includes("ff0200000000000000000001ff00beef"));
      await membership.setLoopback(true);
      assert.equal(receiver.getOption("IPV6_MULTICAST_LOOP"), true);
      receiver.setMulticastInterface(1);
      assert.equal(receiver.getOption("IPV6_MULTICAST_IF"), 1);
      const to = { transport: "udp" as const, hostname: IPV6_GROUP, port: receiver.addr.port };
      if (v6Probe === "delivered") {
        await receiver.send(seededBytes(8), to);
        assert.deepEqual((await receiver.receive())[0], seededBytes(8));
      } else {
        await assert.rejects(
          () => receiver.send(seededBytes(8), to),
          Deno.errors.NetworkUnreachable,
        );
      }
      await membership.leave();
      assert.ok(!(await igmp6GroupsOnLo()).includes("ff0200000000000000000001ff00beef"));
      await assert.rejects(() => receiver.joinMulticastV6("fe80::1", 1), TypeError);
    } finally {
      receiver.close();
    }
  },
);

Deno.test("DatagramConn implements Deno.DatagramConn (typed) and exposes setOption/getOption", () => {
  const conn: Deno.DatagramConn = listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
    broadcast: true,
  });
  try {
    assert.ok(conn instanceof DatagramConn);
    const ours = conn as DatagramConn;
    assert.equal(ours.getOption("SO_BROADCAST"), true);
    ours.setBroadcast(false);
    assert.equal(ours.getOption("SO_BROADCAST"), false);
    ours.setTTL(7);
    assert.equal(ours.getOption("IP_TTL"), 7);
    ours.setLoopback(true);
    assert.equal(ours.getOption("IP_MULTICAST_LOOP"), true);
    assert.equal(ours.getOption("SO_TYPE"), 2 /* SOCK_DGRAM */);
  } finally {
    conn.close();
  }
});

Deno.test("Unix seqpacket: listen/accept/connect, message boundaries kept, empty message vs end", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/seq.sock`;
  const listener = listenSeqpacket({ path });
  try {
    assert.deepEqual(listener.addr, { transport: "unixpacket", path });
    const accepting = listener.accept();
    const client = await connectSeqpacket({ path });
    const server = await accepting;
    try {
      assert.equal(client.getOption("SO_TYPE"), 5 /* SOCK_SEQPACKET */);
      assert.deepEqual(client.remoteAddr, { transport: "unixpacket", path });
      // Three sends are three receives, whatever their sizes.
      await client.send(seededBytes(3));
      await client.send(seededBytes(100_000));
      await client.send(new Uint8Array(0));
      await client.send(seededBytes(7));
      assert.deepEqual(await server.receive(), seededBytes(3));
      assert.deepEqual(await server.receive(), seededBytes(100_000));
      assert.deepEqual(
        await server.receive(),
        new Uint8Array(0),
        "an empty message is not the end",
      );
      const error = await server.receive(new Uint8Array(2)).then(() => null, (e) => e);
      assert.ok(error instanceof DatagramTruncatedError);
      assert.equal(error.length, 7);
      // Replies, then the end.
      await server.send(seededBytes(9));
      assert.deepEqual(await client.receive(), seededBytes(9));
      client.close();
      assert.equal(await server.receive(), null);
      const messages: number[] = [];
      for await (const m of server) messages.push(m.byteLength);
      assert.deepEqual(messages, []);
      await assert.rejects(() => server.send(seededBytes(1)), Deno.errors.BrokenPipe);
    } finally {
      client.close();
      server.close();
    }
    await assert.rejects(
      () => connectSeqpacket({ path: `${dir}/none.sock` }),
      Deno.errors.NotFound,
    );
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
