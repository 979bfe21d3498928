/**
 * The concurrency rules of the ergonomic layer, exactly as the code states
 * them (tests/stream_test.ts already covers a second read being Busy and
 * write() order for 48 large writes; this file extends those):
 *
 * - `Conn.read`: one at a time. A second concurrent read rejects
 *   `Deno.errors.Busy` at once (also against the readable stream's pull),
 *   takes no data and does not disturb the first.
 * - `Listener.accept` / `SeqpacketListener.accept`: one at a time; a
 *   second (or the async iterator while one is pending) rejects Busy.
 * - `DatagramConn.receive*` / `SeqpacketConn.receive*`: any number, queued,
 *   completed in call order.
 * - `Conn.write`: queued in call order; each may be partial (the count it
 *   resolves to), so the peer sees each write's written prefix in call
 *   order. `Conn.writeAll` and the writable stream put every byte of a
 *   call on the wire contiguously, in call order, however many run at once.
 * - `close()` while reads, writes and waits are pending rejects them all
 *   as Deno does (`Deno.errors.Interrupted`; a pending accept says
 *   `BadResource` "Listener has been closed"; a call made after close
 *   `BadResource`) and releases the descriptor exactly once:
 *   a socket that is given the same number afterwards keeps working through
 *   every late path (the rejected promises, a second close, more calls).
 *
 * Run: deno test --allow-ffi --allow-net --allow-read --allow-write tests/concurrency_test.ts
 */

import assert from "@assert";
import {
  type Conn,
  connect,
  connectSeqpacket,
  type DatagramConn,
  listen,
  listenDatagram,
  listenSeqpacket,
} from "../mod.ts";
import * as ffi from "../ffi/mod.ts";
import {
  assertBytes,
  deadline,
  decoder,
  delay,
  encoder,
  fdOpen,
  state,
  tcpPair,
  unixPair,
  writeUntilBlocked,
} from "./helpers.ts";

/** 64 KiB block `i`: every 4-byte word holds i and its offset, so misplaced bytes show. */
function block(i: number, size = 64 * 1024): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  for (let off = 0; off + 4 <= size; off += 4) v.setUint32(off, (i << 20) ^ off);
  return b;
}

/** Reads exactly `size` bytes, slowly: `chunk` bytes at a time with a pause between. */
async function slowRead(conn: Conn, size: number, chunk: number, pauseMs: number) {
  const out = new Uint8Array(size);
  let len = 0;
  let reads = 0;
  while (len < size) {
    const n = await conn.read(out.subarray(len, Math.min(size, len + chunk)));
    if (n === null) throw new Error(`end of stream after ${len} of ${size} bytes`);
    len += n;
    if (++reads % 8 === 0) await delay(pauseMs);
  }
  return out;
}

// ---------------------------------------------------------------- reads

Deno.test("read: concurrent reads on TCP and Unix — the 2nd and 3rd reject Busy at once, take nothing, the 1st gets every byte", async () => {
  using unix = await unixPair(`\0bsd-conc-read-${Deno.pid}`);
  using tcp = await tcpPair();
  const [ua, ub] = [unix.client, unix.server];
  for (const [label, a, b] of [["tcp", tcp.client, tcp.server], ["unix", ua, ub]] as const) {
    const first = new Uint8Array(64);
    const pending = a.read(first);
    assert.equal(await state(pending), "pending");
    // Rejected synchronously-ish, while the first still waits: before any data exists.
    await assert.rejects(() => a.read(new Uint8Array(64)), Deno.errors.Busy, label);
    await assert.rejects(() => a.read(new Uint8Array(0)), Deno.errors.Busy, label);
    assert.equal(await state(pending), "pending", `${label}: Busy disturbed the first read`);
    await b.write(encoder.encode("all of it"));
    assert.equal(await deadline(pending, 2000, `${label} first read`), 9);
    assert.equal(decoder.decode(first.subarray(0, 9)), "all of it");
    // The reader is free again, and nothing was lost or stolen.
    await b.write(encoder.encode("next"));
    const again = new Uint8Array(16);
    assert.equal(await deadline(a.read(again), 2000, "next read"), 4);
    assert.equal(decoder.decode(again.subarray(0, 4)), "next");
  }
  // The readable stream's pull is a read too: a direct read while it waits is Busy.
  const reader = tcp.client.readable.getReader();
  const streamed = reader.read();
  await delay(10);
  await assert.rejects(() => tcp.client.read(new Uint8Array(8)), Deno.errors.Busy);
  await tcp.server.write(encoder.encode("via stream"));
  const { value } = await deadline(streamed, 2000, "stream read");
  assert.equal(decoder.decode(value), "via stream");
  reader.releaseLock();
});

// --------------------------------------------------------------- accepts

Deno.test("accept: a second concurrent accept (and the iterator) rejects Busy; the first gets the connection", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const seqPath = `\0bsd-conc-seq-${Deno.pid}`;
  const seq = listenSeqpacket({ path: seqPath });
  try {
    const first = listener.accept();
    assert.equal(await state(first), "pending");
    await assert.rejects(() => listener.accept(), Deno.errors.Busy);
    await assert.rejects(() => listener[Symbol.asyncIterator]().next(), Deno.errors.Busy);
    const client = await connect({ port: listener.addr.port });
    const server = await deadline(first, 2000, "first accept");
    assert.equal(server.remoteAddr.port, client.localAddr.port);
    // Free again: two clients, accepted one after the other.
    const clients = await Promise.all([
      connect({ port: listener.addr.port }),
      connect({ port: listener.addr.port }),
    ]);
    const a1 = await listener.accept();
    const a2 = await listener.accept();
    const ports = new Set([a1.remoteAddr.port, a2.remoteAddr.port]);
    assert.deepEqual(ports, new Set(clients.map((c) => c.localAddr.port)));
    for (const c of [client, server, a1, a2, ...clients]) c.close();

    const seqFirst = seq.accept();
    await assert.rejects(() => seq.accept(), Deno.errors.Busy);
    const seqClient = await connectSeqpacket({ path: seqPath });
    const seqServer = await deadline(seqFirst, 2000, "seqpacket accept");
    await seqClient.send(encoder.encode("m"));
    assert.equal(decoder.decode((await seqServer.receive())!), "m");
    seqClient.close();
    seqServer.close();
  } finally {
    listener.close();
    seq.close();
  }
});

// -------------------------------------------------------------- receives

Deno.test("receive: 60 concurrent receives (mixed forms) on UDP, Unix datagram and seqpacket complete in call order", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "bsd-conc-" });
  const seqPath = `\0bsd-conc-recv-${Deno.pid}`;
  const seqListener = listenSeqpacket({ path: seqPath });
  try {
    const udpA = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const udpB = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const gramA = listenDatagram({ transport: "unixgram", path: `${dir}/a.sock` });
    const gramB = listenDatagram({ transport: "unixgram", path: `${dir}/b.sock` });
    const [seqA, seqB] = await Promise.all([
      connectSeqpacket({ path: seqPath }),
      seqListener.accept(),
    ]);
    const N = 60;
    const message = (i: number) => encoder.encode(`message ${i} `.padEnd(10 + (i % 7) * 13, "."));
    const cases: [string, () => Promise<number>[], (i: number) => Promise<unknown>][] = [
      [
        "udp",
        () =>
          Array.from({ length: N }, (_, i) => {
            const r = i % 3 === 0
              ? udpB.receive()
              : i % 3 === 1
              ? udpB.receive(new Uint8Array(256))
              : udpB.receiveDetailed(new Uint8Array(256)).then((d) => [d.data, d.addr] as const);
            return r.then(([data]) => Number(decoder.decode(data).split(" ")[1]));
          }),
        (i) => udpA.send(message(i), udpB.addr),
      ],
      [
        "unixgram",
        () =>
          Array.from(
            { length: N },
            (_, i) =>
              (i % 2 ? gramB.receive() : gramB.receive(new Uint8Array(256))).then(([data]) =>
                Number(decoder.decode(data).split(" ")[1])
              ),
          ),
        (i) => gramA.send(message(i), gramB.addr),
      ],
      [
        "seqpacket",
        () =>
          Array.from(
            { length: N },
            (_, i) =>
              (i % 2 ? seqB.receive() : seqB.receive(new Uint8Array(256))).then((data) =>
                Number(decoder.decode(data!).split(" ")[1])
              ),
          ),
        (i) => seqA.send(message(i)),
      ],
    ];
    for (const [label, receives, send] of cases) {
      const pending = receives();
      assert.equal(await state(pending[0]), "pending", label);
      for (let i = 0; i < N; i++) await send(i);
      const got = await deadline(Promise.all(pending), 5000, `${label} receives`);
      assert.deepEqual(got, Array.from({ length: N }, (_, i) => i), `${label}: call order`);
    }
    // Close with receives queued: every one rejects Interrupted, as Deno's pending receives do.
    const queued = Array.from({ length: 10 }, () => udpB.receive());
    udpB.close();
    const results = await deadline(Promise.allSettled(queued), 2000, "queued after close");
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.ok((r as PromiseRejectedResult).reason instanceof Deno.errors.Interrupted);
    }
    for (const c of [udpA, gramA, gramB, seqA, seqB]) c.close();
  } finally {
    seqListener.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------- writes

Deno.test("write: 200 concurrent write()s of distinct 64 KiB blocks, slow reader — each write's bytes in call order", async () => {
  const pair = await tcpPair();
  const { client: a, server: b } = pair;
  try {
    a.setOption("SO_SNDBUF", 64 * 1024);
    b.setOption("SO_RCVBUF", 64 * 1024);
    const blocks = Array.from({ length: 200 }, (_, i) => block(i));
    // Issued together, before any settles: nearly all of them queue behind backpressure.
    const writes = blocks.map((blk) => a.write(blk));
    assert.equal(await state(writes[199]), "pending", "the last write should wait");
    const counts: number[] = [];
    const settledInOrder = (async () => {
      for (const w of writes) counts.push(await w);
    })();
    let total = 0;
    // Read slowly until end of stream (the writer half-closes once every write settled).
    const reading = (async () => {
      const parts: Uint8Array[] = [];
      for (;;) {
        const buf = new Uint8Array(16 * 1024);
        const n = await b.read(buf);
        if (n === null) return parts;
        parts.push(buf.subarray(0, n));
        total += n;
        if (parts.length % 16 === 0) await delay(1);
      }
    })();
    await deadline(settledInOrder, 20000, "writes");
    await a.closeWrite();
    const parts = await deadline(reading, 20000, "reader");
    const got = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      got.set(p, off);
      off += p.length;
    }
    // Each write may be partial (like Deno's): what it wrote sits in call order.
    const expected = new Uint8Array(counts.reduce((x, y) => x + y, 0));
    off = 0;
    counts.forEach((n, i) => {
      assert.ok(n > 0 && n <= blocks[i].length, `write ${i} wrote ${n}`);
      expected.set(blocks[i].subarray(0, n), off);
      off += n;
    });
    assertBytes(got, expected, "write() order");
  } finally {
    pair.close();
  }
});

Deno.test("writeAll: 200 concurrent writeAll()s of distinct 64 KiB blocks, slow reader — exactly the concatenation in call order", async () => {
  const pair = await tcpPair();
  const { client: a, server: b } = pair;
  try {
    a.setOption("SO_SNDBUF", 64 * 1024);
    b.setOption("SO_RCVBUF", 64 * 1024);
    const blocks = Array.from({ length: 200 }, (_, i) => block(i));
    // Plain writes interleaved with the writeAlls must keep their place too.
    const extra = encoder.encode("<between>");
    const ops: Promise<unknown>[] = [];
    const expectedParts: Uint8Array[] = [];
    blocks.forEach((blk, i) => {
      ops.push(a.writeAll(blk));
      expectedParts.push(blk);
      if (i % 50 === 25) {
        ops.push(a.writeAll(extra));
        expectedParts.push(extra);
      }
    });
    const size = expectedParts.reduce((x, p) => x + p.length, 0);
    const got = await deadline(slowRead(b, size, 16 * 1024, 1), 20000, "slow reader");
    await deadline(Promise.all(ops), 5000, "writeAlls");
    const expected = new Uint8Array(size);
    let off = 0;
    for (const p of expectedParts) {
      expected.set(p, off);
      off += p.length;
    }
    assertBytes(got, expected, "writeAll order");
  } finally {
    pair.close();
  }
});

Deno.test("writable stream: 200 writer.write()s without awaiting, slow reader — exactly the concatenation in call order", async () => {
  const pair = await tcpPair();
  const { client: a, server: b } = pair;
  try {
    a.setOption("SO_SNDBUF", 64 * 1024);
    const blocks = Array.from({ length: 200 }, (_, i) => block(i + 1000));
    const writer = a.writable.getWriter();
    const writes = blocks.map((blk) => writer.write(blk));
    const size = blocks.length * blocks[0].length;
    const got = await deadline(slowRead(b, size, 16 * 1024, 1), 20000, "slow reader");
    await deadline(Promise.all(writes), 5000, "stream writes");
    const expected = new Uint8Array(size);
    blocks.forEach((blk, i) => expected.set(blk, i * blk.length));
    assertBytes(got, expected, "stream order");
    writer.releaseLock();
  } finally {
    pair.close();
  }
});

// ----------------------------------------------------------------- close

Deno.test("close with a read, queued write()s, a writeAll and a closeWrite pending: all reject Interrupted; the fd is released once", async () => {
  const pair = await tcpPair();
  const { client: a } = pair;
  const held: Conn[] = [];
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const fd = a.fd;
    // A pending read (the peer sends nothing).
    const read = a.read(new Uint8Array(1024));
    // Writes pending behind a full buffer (the peer does not read).
    const { blocked: stuck } = await writeUntilBlocked(a, {
      chunk: new Uint8Array(256 * 1024),
      attempts: 1024,
      waitMs: 30,
    });
    if (!stuck) throw new Error("a write never blocked although the peer does not read");
    const blocked = stuck;
    const queued = [a.write(block(1)), a.write(block(2)), a.writeAll(block(3))];
    const closingWrite = a.closeWrite();
    for (const p of [read, blocked, ...queued, closingWrite]) {
      assert.equal(await state(p), "pending");
    }
    a.close();
    assert.ok(!fdOpen(fd), "close() released the descriptor");
    const results = await deadline(
      Promise.allSettled([read, blocked, ...queued, closingWrite]),
      2000,
      "pending operations after close",
    );
    results.forEach((r, i) => {
      assert.equal(r.status, "rejected", `operation ${i} should reject`);
      const reason = (r as PromiseRejectedResult).reason;
      assert.ok(reason instanceof Deno.errors.Interrupted, `operation ${i}: ${reason}`);
    });

    // Give the number to a new connection, then run every late path of the old Conn.
    let reused: Conn | undefined;
    let peer: Conn | undefined;
    for (let i = 0; i < 100 && reused === undefined; i++) {
      const [c, s] = await Promise.all([connect({ port: listener.addr.port }), listener.accept()]);
      if (c.fd === fd) [reused, peer] = [c, s];
      else if (s.fd === fd) [reused, peer] = [s, c];
      else held.push(c, s);
    }
    if (reused === undefined || peer === undefined) throw new Error(`no connection got fd ${fd}`);
    held.push(reused, peer);
    a.close();
    a.close();
    await assert.rejects(() => a.read(new Uint8Array(4)), Deno.errors.BadResource);
    await assert.rejects(() => a.write(new Uint8Array(4)), Deno.errors.BadResource);
    await assert.rejects(() => a.writeAll(new Uint8Array(4)), Deno.errors.BadResource);
    await assert.rejects(() => a.closeWrite(), Deno.errors.BadResource);
    assert.throws(() => a.setNoDelay(true), Deno.errors.BadResource);
    // Late readiness for the old registration must not reach the new one either.
    await delay(20);
    assert.ok(fdOpen(fd), "the reused descriptor is still open");
    await reused.write(encoder.encode("still mine"));
    const got = new Uint8Array(10);
    let n = 0;
    while (n < 10) n += (await deadline(peer.read(got.subarray(n)), 2000, "peer read"))!;
    assert.equal(decoder.decode(got), "still mine");
    await peer.write(encoder.encode("back"));
    const back = new Uint8Array(4);
    assert.equal(await deadline(reused.read(back), 2000, "reused read"), 4);
    assert.equal(decoder.decode(back), "back");
  } finally {
    for (const c of held) c.close();
    pair.close();
    listener.close();
  }
});

Deno.test("close of a DatagramConn and a Listener with waits pending: Interrupted / BadResource as Deno, fd released once, a reused number unharmed", async () => {
  const udp = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const udpFd = udp.fd, listenerFd = listener.fd;
  const receives = [udp.receive(), udp.receive(new Uint8Array(8)), udp.receiveDetailed()];
  const accept = listener.accept();
  const iterated = (async () => {
    const seen: number[] = [];
    for await (const [data] of udp) seen.push(data.length);
    return seen;
  })();
  for (const p of [...receives, accept]) assert.equal(await state(p), "pending");
  udp.close();
  listener.close();
  assert.ok(!fdOpen(udpFd) && !fdOpen(listenerFd));
  // Both numbers are handed out again (lowest free first) before the late paths run.
  const fresh = [
    ffi.socket(ffi.AF_INET, ffi.SOCK_DGRAM | ffi.SOCK_NONBLOCK, 0),
    ffi.socket(ffi.AF_INET, ffi.SOCK_DGRAM | ffi.SOCK_NONBLOCK, 0),
  ];
  try {
    const results = await deadline(
      Promise.allSettled([...receives, accept]),
      2000,
      "waits after close",
    );
    // Deno's classes: pending receives are Interrupted; a pending accept is
    // BadResource "Listener has been closed".
    results.forEach((r, i) => {
      assert.equal(r.status, "rejected");
      const reason = (r as PromiseRejectedResult).reason;
      if (i < receives.length) assert.ok(reason instanceof Deno.errors.Interrupted, String(reason));
      else {
        assert.ok(reason instanceof Deno.errors.BadResource, String(reason));
        assert.equal(reason.message, "Listener has been closed");
      }
    });
    assert.deepEqual(await deadline(iterated, 2000, "iteration end"), []);
    udp.close();
    listener.close();
    await assert.rejects(() => udp.send(new Uint8Array(1), udp.addr), Deno.errors.BadResource);
    await assert.rejects(() => listener.accept(), Deno.errors.BadResource);
    for (const f of fresh) {
      if (f === udpFd || f === listenerFd) {
        assert.ok(fdOpen(f), `reused fd ${f} was closed by a late path`);
        assert.equal(ffi.fcntl(f, ffi.F_GETFL) & ffi.O_NONBLOCK, ffi.O_NONBLOCK);
      }
    }
  } finally {
    for (const f of fresh) ffi.close(f);
  }
});

Deno.test("DatagramConn: 1,000 sends issued at once to a peer reading later all arrive, in order", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "bsd-conc-send-" });
  try {
    const a = listenDatagram({ transport: "unixgram", path: `${dir}/a.sock` });
    const b = listenDatagram({ transport: "unixgram", path: `${dir}/b.sock` }) as DatagramConn<
      Deno.UnixAddr
    >;
    // A Unix datagram receiver's queue is short: most sends must wait for room, in order.
    const N = 1000;
    const sends = Array.from({ length: N }, (_, i) => a.send(encoder.encode(String(i)), b.addr));
    assert.equal(await state(sends[N - 1]), "pending", "the last sends should wait for room");
    const got: number[] = [];
    while (got.length < N) {
      const [data] = await deadline(b.receive(), 5000, `datagram ${got.length}`);
      got.push(Number(decoder.decode(data)));
    }
    await deadline(Promise.all(sends), 5000, "sends");
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
    a.close();
    b.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
