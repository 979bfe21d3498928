/**
 * End-to-end tests of the stream layer: `listen`/`connect`, `Listener` and
 * `Conn`, over TCP (IPv4, IPv6, dual-stack) and Unix sockets (path and
 * abstract name), against ourselves and against Deno's own sockets.
 *
 * Every wait that could hang on a bug is bounded by {@linkcode deadline}, so
 * a regression fails with a message instead of stalling the run.
 *
 * Run: deno test --allow-ffi --allow-net --allow-read --allow-write --allow-run
 *      --allow-env --allow-sys tests/stream_test.ts
 */

import assert from "@assert";
import { type Conn, connect, listen, type Listener, SocketError } from "../mod.ts";
import type { TcpConn, UnixConn } from "../mod.ts";
import {
  assertBytes,
  connectPair,
  deadline,
  decoder,
  delay,
  echo,
  echoRound,
  encoder,
  fdOpen,
  openFdCount,
  readExactly,
  readToEnd,
  seededBytes,
  serveEcho,
  tcpPair,
  tempSocketPath,
  untilSteady,
  writeAll,
  writeUntilBlocked,
} from "./helpers.ts";

// ---------------------------------------------- the seed's workflows

/**
 * The seed's server (accept → read the request → write the answer → close)
 * and client (connect → write → half-close → read the answer to EOF →
 * close), with bytes checked both ways.
 */
async function seedWorkflow<C extends TcpConn | UnixConn>(
  listener: Listener<C, Deno.NetAddr | Deno.UnixAddr>,
  dial: () => Promise<C>,
): Promise<{ client: C; server: C }> {
  const request = encoder.encode("GET /hello from the client\n");
  const answer = encoder.encode("200 hello to you\n");
  const serverSide = (async () => {
    const server = await listener.accept();
    const got = await readToEnd(server);
    assert.equal(decoder.decode(got), decoder.decode(request));
    await writeAll(server, answer);
    server.close();
    return server;
  })();
  const client = await dial();
  await writeAll(client, request);
  await client.closeWrite();
  const back = await readToEnd(client);
  assert.equal(decoder.decode(back), decoder.decode(answer));
  const server = await deadline(serverSide, 5000, "server side");
  client.close();
  return { client, server };
}

Deno.test("workflow: TCP over IPv4", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.equal(listener.addr.transport, "tcp");
    assert.equal(listener.addr.hostname, "127.0.0.1");
    assert.ok(listener.addr.port > 0);
    let seen: { client: Deno.NetAddr; server: Deno.NetAddr } | undefined;
    await seedWorkflow(listener, async () => {
      const c = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
      assert.deepEqual(c.remoteAddr, listener.addr);
      assert.equal(c.localAddr.hostname, "127.0.0.1");
      seen = { client: c.localAddr, server: c.remoteAddr };
      return c;
    });
    assert.ok(seen);
  } finally {
    listener.close();
  }
});

Deno.test("workflow: addresses agree from both ends (TCP v4)", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  assert.deepEqual(server.remoteAddr, client.localAddr);
  assert.deepEqual(server.localAddr, client.remoteAddr);
  assert.deepEqual(server.localAddr, pair.listener.addr);
});

Deno.test("workflow: TCP over IPv6 [::1]", async () => {
  const listener = listen({ hostname: "::1", port: 0 });
  try {
    assert.equal(listener.addr.hostname, "::1");
    await seedWorkflow(listener, async () => {
      const c = await connect({ hostname: "[::1]", port: listener.addr.port });
      assert.deepEqual(c.remoteAddr, {
        transport: "tcp",
        hostname: "::1",
        port: listener.addr.port,
      });
      assert.equal(c.localAddr.hostname, "::1");
      return c;
    });
    const [client, server] = await connectPair(listener);
    assert.deepEqual(server.remoteAddr, client.localAddr);
    assert.deepEqual(server.localAddr, client.remoteAddr);
    client.close();
    server.close();
  } finally {
    listener.close();
  }
});

Deno.test("workflow: dual-stack '::' accepts an IPv4 client (and an IPv6 one)", async () => {
  const listener = listen({ hostname: "::", port: 0 });
  try {
    assert.equal(listener.addr.hostname, "::");
    const { client, server } = await seedWorkflow(
      listener,
      () => connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    );
    // The v4 client appears v4-mapped on the v6 socket.
    assert.equal(server.remoteAddr.hostname, "::ffff:127.0.0.1");
    assert.equal(client.localAddr.hostname, "127.0.0.1");
    assert.equal(server.remoteAddr.port, client.localAddr.port);
    await seedWorkflow(listener, () => connect({ hostname: "::1", port: listener.addr.port }));
  } finally {
    listener.close();
  }
});

Deno.test("workflow: Unix socket at a path", async () => {
  const { path, cleanup } = tempSocketPath();
  try {
    const listener = listen({ transport: "unix", path });
    try {
      assert.deepEqual(listener.addr, { transport: "unix", path });
      const { client, server } = await seedWorkflow(
        listener,
        () => connect({ transport: "unix", path }),
      );
      assert.deepEqual(client.remoteAddr, { transport: "unix", path });
      assert.deepEqual(server.localAddr, { transport: "unix", path });
    } finally {
      listener.close();
    }
  } finally {
    cleanup();
  }
});

Deno.test("workflow: Unix abstract name '\\0...'", async () => {
  const path = `\0bsd-sockets-test-${Deno.pid}-${crypto.randomUUID()}`;
  const listener = listen({ transport: "unix", path });
  try {
    assert.deepEqual(listener.addr, { transport: "unix", path });
    const { client, server } = await seedWorkflow(
      listener,
      () => connect({ transport: "unix", path }),
    );
    assert.deepEqual(client.remoteAddr, { transport: "unix", path });
    assert.deepEqual(server.localAddr, { transport: "unix", path });
  } finally {
    listener.close();
  }
});

// ---------------------------------------------------------- bulk and concurrency

Deno.test("echo: 10 MiB byte-exact with a concurrent reader and writer (TCP and Unix)", async () => {
  const data = seededBytes(10 * 1024 * 1024, 10);
  const tcp = listen({ hostname: "127.0.0.1", port: 0 });
  const unixPath = `\0bsd-sockets-bulk-${Deno.pid}`;
  const unix = listen({ transport: "unix", path: unixPath });
  const servers = [serveEcho(tcp), serveEcho(unix)];
  try {
    await deadline(
      echoRound(await connect({ hostname: "127.0.0.1", port: tcp.addr.port }), data),
      20000,
      "10 MiB TCP echo",
    );
    await deadline(
      echoRound(await connect({ transport: "unix", path: unixPath }), data),
      20000,
      "10 MiB Unix echo",
    );
  } finally {
    tcp.close();
    unix.close();
    await Promise.all(servers);
  }
});

Deno.test("half-close: client closeWrite, server reads EOF then still answers, client reads it then EOF", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  await writeAll(client, encoder.encode("question"));
  await client.closeWrite();
  // The client can no longer write...
  await assert.rejects(() => client.write(encoder.encode("more")), (e: unknown) => {
    assert.ok(e instanceof Deno.errors.BrokenPipe, String(e));
    assert.ok(e instanceof SocketError);
    assert.equal((e as SocketError).code, "EPIPE");
    return true;
  });
  // ... a second closeWrite is harmless ...
  await client.closeWrite();
  // ... the server reads the request, then end of stream ...
  assert.equal(decoder.decode(await readToEnd(server)), "question");
  assert.equal(await server.read(new Uint8Array(8)), null);
  // ... and still answers on its open half.
  const answer = seededBytes(300 * 1024, 3);
  await writeAll(server, answer);
  server.close();
  assertBytes(await readToEnd(client), answer, "answer");
  assert.equal(await client.read(new Uint8Array(8)), null);
  client.close();
});

Deno.test("scale: 1,000 concurrent connections echoing at once", async () => {
  const COUNT = 1000;
  const listener = listen({ hostname: "127.0.0.1", port: 0, backlog: 2048 });
  const before = openFdCount();
  const accepted: Conn[] = [];
  const acceptAll = (async () => {
    while (accepted.length < COUNT) accepted.push(await listener.accept());
  })();
  try {
    // Open them all first, so every one of them is live at the same time...
    const clients = await deadline(
      Promise.all(Array.from({ length: COUNT }, () => connect({ port: listener.addr.port }))),
      20000,
      "1,000 connects",
    );
    await deadline(acceptAll, 10000, "1,000 accepts");
    assert.ok(
      openFdCount() >= before + 2 * COUNT,
      `expected >= ${before + 2 * COUNT} fds, have ${openFdCount()}`,
    );
    // ... then echo on all of them at once.
    const echoes = accepted.map((conn) => echo(conn));
    await deadline(
      Promise.all(clients.map((c, i) => echoRound(c, seededBytes(1024 + (i % 7) * 100, i)))),
      30000,
      "1,000 echoes",
    );
    await deadline(Promise.all(echoes), 5000, "server echoes end");
    assert.equal(openFdCount(), before);
  } finally {
    listener.close();
    for (const c of accepted) c.close();
  }
});

Deno.test("reset: the peer resets mid-write → writes reject ConnectionReset/BrokenPipe, process lives", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  const chunk = seededBytes(256 * 1024, 7);
  let written = 0;
  const writer = (async () => {
    for (;;) written += await client.write(chunk);
  })();
  // Let the writer get going, read a little, then reset.
  await readExactly(server, 64 * 1024);
  server.setOption("SO_LINGER", { enabled: true, seconds: 0 });
  assert.deepEqual(server.getOption("SO_LINGER"), { enabled: true, seconds: 0 });
  server.close();
  const error = await deadline(writer.then(() => null, (e) => e), 10000, "writes after RST");
  assert.ok(
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe,
    `expected ConnectionReset or BrokenPipe, got ${error}`,
  );
  assert.ok(error instanceof SocketError);
  assert.ok(["ECONNRESET", "EPIPE"].includes((error as SocketError).code));
  assert.ok(written >= 64 * 1024);
  // Still alive, and further writes keep failing the same way (no SIGPIPE).
  await assert.rejects(() => client.write(chunk), (e: unknown) => {
    assert.ok(e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset);
    return true;
  });
  client.close();
});

Deno.test("fairness: a client that never reads does not stall the others", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const echoes: Promise<void>[] = [];
  let slowServer: Conn | undefined;
  let slowWritten = 0;
  let slowWriter: Promise<unknown> = Promise.resolve();
  const server = (async () => {
    for await (const conn of listener) {
      if (slowServer === undefined) {
        slowServer = conn;
        const big = seededBytes(1024 * 1024, 1);
        slowWriter = (async () => {
          for (let i = 0; i < 256; i++) slowWritten += await conn.write(big);
        })().catch((e) => e);
      } else {
        echoes.push(echo(conn));
      }
    }
  })();
  try {
    const slow = await connect({ port: listener.addr.port });
    // Wait until the server's writes to the slow client are blocked.
    await untilSteady(() => slowWritten);
    assert.ok(slowWritten < 256 * 1024 * 1024, "the slow client must exert backpressure");
    const t0 = performance.now();
    await deadline(
      Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          await echoRound(
            await connect({ port: listener.addr.port }),
            seededBytes(256 * 1024, 100 + i),
          );
        }),
      ),
      5000,
      "other clients' echoes",
    );
    const took = performance.now() - t0;
    assert.ok(took < 3000, `20 echoes took ${took.toFixed(0)} ms`);
    // The slow writer is still blocked; closing its peer ends it with an error.
    const written = slowWritten;
    slow.close();
    const ended = await deadline(slowWriter, 5000, "slow writer after peer close");
    assert.ok(
      ended instanceof Deno.errors.ConnectionReset || ended instanceof Deno.errors.BrokenPipe,
      `slow writer ended with ${ended} after ${written} bytes`,
    );
  } finally {
    listener.close();
    slowServer?.close();
    await server;
    await Promise.all(echoes);
  }
});

// ------------------------------------------------------------ close semantics

Deno.test("close: a pending accept rejects BadResource; accept after close too; the iterator ends", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const pending = listener.accept();
  listener.close();
  await assert.rejects(() => deadline(pending, 2000, "accept"), Deno.errors.BadResource);
  await assert.rejects(() => listener.accept(), Deno.errors.BadResource);
  listener.close(); // harmless

  const second = listen({ hostname: "127.0.0.1", port: 0 });
  let count = 0;
  const loop = (async () => {
    for await (const conn of second) {
      count++;
      conn.close();
    }
    return "ended";
  })();
  const c = await connect({ port: second.addr.port });
  assert.equal(await c.read(new Uint8Array(1)), null); // server closed it
  c.close();
  second.close();
  assert.equal(await deadline(loop, 2000, "iterator"), "ended");
  assert.equal(count, 1);
});

Deno.test("close: a pending read rejects Interrupted, a read after close BadResource (as Deno)", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  const read = client.read(new Uint8Array(16));
  client.close();
  await assert.rejects(() => deadline(read, 2000, "read"), Deno.errors.Interrupted);
  await assert.rejects(() => client.read(new Uint8Array(16)), Deno.errors.BadResource);
  server.close();
  // Deno's own Conn, side by side.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const theirs = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const accepted = await listener.accept();
  const denoRead = theirs.read(new Uint8Array(16));
  theirs.close();
  await assert.rejects(() => denoRead, Deno.errors.Interrupted);
  await assert.rejects(() => theirs.read(new Uint8Array(16)), Deno.errors.BadResource);
  accepted.close();
  listener.close();
});

Deno.test("close: a pending write (blocked on a full buffer) rejects Interrupted (as Deno)", async () => {
  using pair = await tcpPair();
  const { server } = pair;
  // The client never reads, so the server's writes block once the buffers fill.
  const { blocked } = await writeUntilBlocked(server, { attempts: 512, waitMs: 50 });
  assert.ok(blocked, "a write should block once the peer stops reading");
  server.close();
  await assert.rejects(() => deadline(blocked!, 2000, "write"), Deno.errors.Interrupted);
});

Deno.test("close: a second close() is harmless and cannot close a reused fd", async () => {
  using pair = await tcpPair();
  const { client: a, server: aPeer } = pair;
  const fd = a.fd;
  a.close();
  aPeer.close();
  assert.ok(!fdOpen(fd));
  // Open connections until one of them is given the same descriptor number.
  let b: Conn | undefined;
  let bPeer: Conn | undefined;
  for (let i = 0; i < 100 && b === undefined; i++) {
    const [c, s] = await pair.another();
    if (c.fd === fd) [b, bPeer] = [c, s];
    else if (s.fd === fd) [b, bPeer] = [s, c];
  }
  if (b === undefined || bPeer === undefined) throw new Error(`no new connection got fd ${fd}`);
  a.close(); // must not touch fd, now b's
  a.close();
  assert.ok(fdOpen(fd));
  await writeAll(b, encoder.encode("still here"));
  assert.equal(decoder.decode(await readExactly(bPeer, 10)), "still here");
  await writeAll(bPeer, encoder.encode("and back"));
  assert.equal(decoder.decode(await readExactly(b, 8)), "and back");
});

Deno.test("close: every call on a closed Conn fails with BadResource", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  client.close();
  server.close();
  assert.ok(client.closed);
  for (const conn of [client, server]) {
    await assert.rejects(() => conn.read(new Uint8Array(4)), Deno.errors.BadResource);
    await assert.rejects(() => conn.read(new Uint8Array(0)), Deno.errors.BadResource);
    await assert.rejects(() => conn.write(new Uint8Array(4)), Deno.errors.BadResource);
    await assert.rejects(() => conn.write(new Uint8Array(0)), Deno.errors.BadResource);
    await assert.rejects(() => conn.closeWrite(), Deno.errors.BadResource);
    assert.throws(() => conn.fd, Deno.errors.BadResource);
    assert.throws(() => conn.setNoDelay(true), Deno.errors.BadResource);
    assert.throws(() => conn.setKeepAlive(true), Deno.errors.BadResource);
    assert.throws(() => conn.setOption("SO_RCVBUF", 4096), Deno.errors.BadResource);
    assert.throws(() => conn.getOption("SO_RCVBUF"), Deno.errors.BadResource);
    conn.close(); // harmless
  }
  const listenerAddr = pair.listener.addr;
  pair.listener.close();
  assert.deepEqual(pair.listener.addr, listenerAddr); // still readable, as in Deno
  assert.throws(() => pair.listener.fd, Deno.errors.BadResource);
});

Deno.test("close: localAddr/remoteAddr stay readable after close, as in Deno", async () => {
  using pair = await tcpPair();
  const denoListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    // Deno's view: addresses are fixed when the Conn is made and survive close().
    const [dc, ds] = await Promise.all([
      Deno.connect({ port: denoListener.addr.port }),
      denoListener.accept(),
    ]);
    dc.close();
    ds.close();
    assert.equal(dc.localAddr.port, ds.remoteAddr.port);
    // Ours, with the addresses never read before close().
    const { client, server } = pair;
    client.close();
    server.close();
    assert.deepEqual(client.remoteAddr, pair.listener.addr);
    assert.deepEqual(server.localAddr, pair.listener.addr);
    assert.deepEqual(client.localAddr, server.remoteAddr);
  } finally {
    denoListener.close();
  }
});

Deno.test("concurrency: a second concurrent read rejects Busy; the first still completes", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  const buf = new Uint8Array(16);
  const first = client.read(buf);
  await assert.rejects(() => client.read(new Uint8Array(16)), Deno.errors.Busy);
  await writeAll(server, encoder.encode("hi"));
  assert.equal(await deadline(first, 2000, "first read"), 2);
  assert.equal(decoder.decode(buf.subarray(0, 2)), "hi");
  // Reading works again once the first read settled.
  const again = client.read(buf);
  await writeAll(server, encoder.encode("yo"));
  assert.equal(await again, 2);
});

Deno.test("concurrency: concurrent writes are performed in call order", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  const chunks = Array.from({ length: 48 }, (_, i) => seededBytes(128 * 1024 + i * 997, 500 + i));
  // Issue every write before any of them settles: most must queue.
  const writes = chunks.map((c) => client.write(c));
  const reader = readToEnd(server, 8 * 1024 * 1024);
  const counts = await deadline(Promise.all(writes), 10000, "queued writes");
  client.close();
  const got = await deadline(reader, 10000, "reader");
  // Each write may be partial (like Deno's), but the bytes it wrote sit in call order.
  const expected = new Uint8Array(counts.reduce((a, b) => a + b, 0));
  let off = 0;
  counts.forEach((n, i) => {
    assert.ok(n > 0 && n <= chunks[i].length);
    expected.set(chunks[i].subarray(0, n), off);
    off += n;
  });
  assertBytes(got, expected, "ordered writes");
  server.close();
});

Deno.test("leaks: no descriptor left after 5,000 connect/close cycles", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0, backlog: 1024 });
  const unixPath = `\0bsd-sockets-cycles-${Deno.pid}`;
  const unixListener = listen({ transport: "unix", path: unixPath, backlog: 1024 });
  const before = openFdCount();
  const BATCH = 50;
  try {
    for (let done = 0; done < 5000; done += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, async (_, i) => {
        const unix = i % 2 === 1;
        const client = unix
          ? await connect({ transport: "unix", path: unixPath })
          : await connect({ port: listener.addr.port });
        client.close();
      }));
      for (let i = 0; i < BATCH; i++) {
        (await (i % 2 === 1 ? unixListener : listener).accept()).close();
      }
    }
    assert.equal(openFdCount(), before);
  } finally {
    listener.close();
    unixListener.close();
  }
});

// --------------------------------------------------------------- interop

Deno.test("interop: our connect against Deno.listen, addresses agree", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [client, server] = await Promise.all([
      connect({ port: listener.addr.port }),
      listener.accept(),
    ]);
    // Deno's address objects have a null prototype: compare the fields.
    assert.deepEqual(client.localAddr, { ...server.remoteAddr });
    assert.deepEqual(client.remoteAddr, { ...server.localAddr });
    const data = seededBytes(2 * 1024 * 1024, 42);
    const serverSide = (async () => {
      const got = await readToEnd(server, data.length);
      assertBytes(got, data, "to Deno");
      await writeAll(server, got.subarray(0, 1000));
      server.close();
    })();
    await writeAll(client, data);
    await client.closeWrite();
    assertBytes(await readToEnd(client), data.subarray(0, 1000), "from Deno");
    await deadline(serverSide, 10000, "Deno server");
    client.close();
  } finally {
    listener.close();
  }
});

Deno.test("interop: Deno.connect against our listen, addresses agree (TCP and Unix)", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const { path, cleanup } = tempSocketPath();
  const unixListener = listen({ transport: "unix", path });
  try {
    const [client, server] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      listener.accept(),
    ]);
    // Deno's address objects have a null prototype: compare the fields.
    assert.deepEqual(server.localAddr, { ...client.remoteAddr });
    assert.deepEqual(server.remoteAddr, { ...client.localAddr });
    const echoing = echo(server);
    await echoRound(client, seededBytes(3 * 1024 * 1024, 43));
    await deadline(echoing, 5000, "our echo");

    const [uClient, uServer] = await Promise.all([
      Deno.connect({ transport: "unix", path }),
      unixListener.accept(),
    ]);
    assert.deepEqual({ ...uClient.remoteAddr }, { transport: "unix", path });
    assert.deepEqual(uServer.localAddr, { transport: "unix", path });
    const uEchoing = echo(uServer);
    await echoRound(uClient, seededBytes(1024 * 1024, 44));
    await deadline(uEchoing, 5000, "our Unix echo");
  } finally {
    listener.close();
    unixListener.close();
    cleanup();
  }
});

// --------------------------------------------------------------- connect

Deno.test("connect: a closed port rejects ConnectionRefused, a SocketError with ECONNREFUSED", async () => {
  const probe = listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const before = openFdCount();
  await assert.rejects(() => connect({ hostname: "127.0.0.1", port }), (e: unknown) => {
    assert.ok(e instanceof Deno.errors.ConnectionRefused, String(e));
    assert.ok(e instanceof SocketError);
    assert.equal((e as SocketError).code, "ECONNREFUSED");
    assert.equal((e as SocketError).errno, 111);
    assert.equal((e as SocketError).syscall, "connect");
    return true;
  });
  assert.equal(openFdCount(), before);
});

Deno.test("connect: a Unix path nobody listens on rejects NotFound (missing) / ConnectionRefused (stale)", async () => {
  const { path, cleanup } = tempSocketPath();
  try {
    // The same classes Deno.connect gives for the same paths.
    await assert.rejects(() => Deno.connect({ transport: "unix", path }), Deno.errors.NotFound);
    await assert.rejects(() => connect({ transport: "unix", path }), (e: unknown) => {
      assert.ok(e instanceof Deno.errors.NotFound, String(e));
      assert.ok(e instanceof SocketError);
      assert.equal((e as SocketError).code, "ENOENT");
      return true;
    });
    // A socket file left behind by a closed listener: nobody accepts there.
    const stale = listen({ transport: "unix", path });
    stale.close();
    let exists = true;
    try {
      Deno.statSync(path);
    } catch {
      exists = false;
    }
    if (exists) {
      await assert.rejects(() => connect({ transport: "unix", path }), (e: unknown) => {
        assert.ok(e instanceof Deno.errors.ConnectionRefused, String(e));
        assert.equal((e as SocketError).code, "ECONNREFUSED");
        return true;
      });
    }
  } finally {
    cleanup();
  }
});

/**
 * A listener whose accept queue is full and never drained: the kernel drops
 * further SYNs, so a connect to it stays pending (no external address needed).
 */
async function fullListener(): Promise<{ port: number; close: () => void }> {
  const listener = listen({ hostname: "127.0.0.1", port: 0, backlog: 0 });
  const fillers: Conn[] = [];
  // backlog 0 still queues one; add a couple more in case the kernel allows it.
  for (let i = 0; i < 3; i++) {
    try {
      fillers.push(await connect({ port: listener.addr.port, timeout: 300 }));
    } catch (e) {
      if (!(e instanceof Deno.errors.TimedOut)) throw e;
      break;
    }
  }
  return {
    port: listener.addr.port,
    close: () => {
      for (const f of fillers) f.close();
      listener.close();
    },
  };
}

Deno.test("connect: an already-aborted signal rejects with its reason, no fd used", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const before = openFdCount();
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(
      () => connect({ port: listener.addr.port, signal: ac.signal }),
      (e: unknown) => e === ac.signal.reason && (e as Error).name === "AbortError",
    );
    const reason = new Error("my reason");
    await assert.rejects(
      () => connect({ port: listener.addr.port, signal: AbortSignal.abort(reason) }),
      (e: unknown) => e === reason,
    );
    assert.equal(openFdCount(), before);
  } finally {
    listener.close();
  }
});

Deno.test("connect: a signal aborted mid-connect rejects with its reason and frees the fd", async () => {
  const full = await fullListener();
  try {
    const before = openFdCount();
    const ac = new AbortController();
    const reason = new Error("gave up");
    const t0 = performance.now();
    const pending = connect({ port: full.port, signal: ac.signal });
    const timer = setTimeout(() => ac.abort(reason), 100);
    await assert.rejects(() => deadline(pending, 3000, "aborted connect"), (e: unknown) => {
      assert.equal(e, reason);
      return true;
    });
    clearTimeout(timer);
    const took = performance.now() - t0;
    assert.ok(took >= 90 && took < 1500, `aborted after ${took.toFixed(0)} ms`);
    assert.equal(openFdCount(), before);
  } finally {
    full.close();
  }
});

Deno.test("connect: the timeout option rejects TimedOut; a fast connect clears its timer", async () => {
  const full = await fullListener();
  try {
    const before = openFdCount();
    const t0 = performance.now();
    await assert.rejects(
      () => deadline(connect({ port: full.port, timeout: 250 }), 3000, "timed connect"),
      Deno.errors.TimedOut,
    );
    const took = performance.now() - t0;
    assert.ok(took >= 240 && took < 1500, `timed out after ${took.toFixed(0)} ms`);
    assert.equal(openFdCount(), before);
  } finally {
    full.close();
  }
  // A connect that succeeds leaves no timer behind (the test sanitizer checks it).
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const c = await connect({ port: listener.addr.port, timeout: 60000 });
  const s = await listener.accept();
  c.close();
  s.close();
  listener.close();
});

Deno.test("connect: Unix listener with a full backlog — connect waits, then completes once accept makes room", async () => {
  const path = `\0bsd-sockets-backlog-${Deno.pid}`;
  const listener = listen({ transport: "unix", path, backlog: 0 });
  const conns: Conn[] = [];
  try {
    // Fill the queue.
    for (let i = 0; i < 4; i++) {
      try {
        conns.push(await connect({ transport: "unix", path, timeout: 200 }));
      } catch (e) {
        if (!(e instanceof Deno.errors.TimedOut)) throw e;
        break;
      }
    }
    assert.ok(conns.length >= 1);
    const t0 = performance.now();
    const late = connect({ transport: "unix", path, timeout: 5000 });
    await delay(200);
    conns.push(await listener.accept()); // room for one more
    const lateConn = await deadline(late, 4000, "connect after accept made room");
    conns.push(lateConn);
    const took = performance.now() - t0;
    assert.ok(took < 1500, `connected ${took.toFixed(0)} ms after it started`);
    // It is a working connection: the queue held one, so the next accept is its peer.
    const server = await deadline(listener.accept(), 2000, "accept of the late client");
    conns.push(server);
    await writeAll(lateConn, encoder.encode("late"));
    assert.equal(decoder.decode(await readExactly(server, 4)), "late");
  } finally {
    for (const c of conns) c.close();
    listener.close();
  }
});

Deno.test("connect: 'localhost' resolves (listen and connect)", async () => {
  const listener = listen({ hostname: "localhost", port: 0 });
  try {
    assert.equal(listener.addr.hostname, "127.0.0.1");
    const [client, server] = await Promise.all([
      connect({ hostname: "localhost", port: listener.addr.port }),
      listener.accept(),
    ]);
    assert.equal(client.remoteAddr.hostname, "127.0.0.1");
    assert.deepEqual(server.remoteAddr, client.localAddr);
    client.close();
    server.close();
  } finally {
    listener.close();
  }
});

// ---------------------------------------------------------------- streams

Deno.test("streams: conn.readable.pipeTo(conn.writable) echo with a Deno.connect client; fd released", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const before = openFdCount();
    const pipes: Promise<void>[] = [];
    const served: Conn[] = [];
    const server = (async () => {
      for await (const conn of listener) {
        served.push(conn);
        pipes.push(conn.readable.pipeTo(conn.writable));
      }
    })();
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await echoRound(client, seededBytes(4 * 1024 * 1024, 77));
    await deadline(Promise.all(pipes), 5000, "pipeTo");
    assert.equal(served.length, 1);
    assert.ok(served[0].closed, "the server's Conn is closed after the pipe ends");
    assert.equal(openFdCount(), before);
    listener.close();
    await server;
  } finally {
    listener.close();
  }
});

Deno.test("streams: BYOB reader on conn.readable; with halfClose, writable close half-closes", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  // The proxy opt-in: the streams end only their own half.
  server.halfClose = true;
  client.halfClose = true;
  const data = seededBytes(1024 * 1024 + 123, 5);
  const writing = (async () => {
    const writer = server.writable.getWriter();
    for (let off = 0; off < data.length; off += 100_000) {
      await writer.write(data.slice(off, off + 100_000));
    }
    await writer.close();
  })();
  const reader = client.readable.getReader({ mode: "byob" });
  const got = new Uint8Array(data.length);
  let len = 0;
  let buffer = new ArrayBuffer(4096);
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    assert.ok(value.byteLength > 0 && value.byteLength <= 4096);
    got.set(value, len);
    len += value.byteLength;
    buffer = value.buffer; // the same memory, handed back
  }
  await deadline(writing, 5000, "writer");
  assert.equal(len, data.length);
  assertBytes(got, data, "byob");
  // The server only half-closed: it can still read what the client sends.
  await writeAll(client, encoder.encode("tail"));
  assert.equal(decoder.decode(await readExactly(server, 4)), "tail");
  reader.releaseLock();
});

Deno.test("streams: by default closing writable or the end of readable closes the connection, as Deno's", async () => {
  const outcomes: Record<string, string[]> = {};
  for (const side of ["ours", "deno"] as const) {
    const listener = side === "ours"
      ? listen({ hostname: "127.0.0.1", port: 0 })
      : Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const client: Deno.Conn = side === "ours"
      ? await connect({ hostname: "127.0.0.1", port })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    const server = await listener.accept();
    const seen: string[] = [];
    const outcome = (p: Promise<unknown>) =>
      p.then((v) => `ok ${v}`, (e) => (e as Error).constructor.name);
    // Closing writable: the peer reads the end, and this side is closed.
    await client.writable.getWriter().close();
    seen.push(`peer read: ${await server.read(new Uint8Array(4))}`);
    seen.push(`own read: ${await outcome(client.read(new Uint8Array(4)))}`);
    // The end of readable closes the reader's side too.
    const reader = server.readable.getReader();
    seen.push(`readable done: ${(await reader.read()).done}`);
    seen.push(`write after end: ${await outcome(server.write(new Uint8Array(1)))}`);
    outcomes[side] = seen;
    try {
      server.close();
    } catch { /* already closed, as Deno's is */ }
    listener.close();
  }
  assert.deepEqual(outcomes.ours, outcomes.deno);
  assert.deepEqual(outcomes.ours, [
    "peer read: null",
    "own read: BadResource",
    "readable done: true",
    "write after end: BadResource",
  ]);
});

Deno.test("streams: conn.writable takes any ArrayBuffer or view; a rejected chunk closes the connection (as Deno's)", async () => {
  for (const side of ["ours", "deno"] as const) {
    const listener = side === "ours"
      ? listen({ hostname: "127.0.0.1", port: 0 })
      : Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const client: Deno.Conn = side === "ours"
      ? await connect({ hostname: "127.0.0.1", port })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    const server = await listener.accept();
    const writer = client.writable.getWriter();
    const chunks: unknown[] = [
      new Uint8Array([1]),
      new Uint16Array([0x0302]),
      new DataView(new Uint8Array([4]).buffer),
      new Uint8Array([5]).buffer,
    ];
    for (const chunk of chunks) await writer.write(chunk as Uint8Array);
    const got = await readExactly(server, 5);
    assert.deepEqual([...got], [1, 2, 3, 4, 5], side);
    await assert.rejects(() => writer.write("text" as unknown as Uint8Array), TypeError);
    // The connection was closed: the peer reads the end.
    assert.equal(await server.read(new Uint8Array(1)), null, `${side}: the peer reads EOF`);
    server.close();
    listener.close();
  }
});

// ---------------------------------------------------------------- options

Deno.test("options: setNoDelay and setKeepAlive read back through getOption", async () => {
  using pair = await tcpPair();
  const { client, server } = pair;
  for (const conn of [client, server]) {
    conn.setNoDelay(true);
    assert.equal(conn.getOption("TCP_NODELAY"), true);
    conn.setNoDelay(false);
    assert.equal(conn.getOption("TCP_NODELAY"), false);
    conn.setNoDelay();
    assert.equal(conn.getOption("TCP_NODELAY"), true);

    conn.setKeepAlive(true);
    assert.equal(conn.getOption("SO_KEEPALIVE"), true);
    conn.setKeepAlive(false);
    assert.equal(conn.getOption("SO_KEEPALIVE"), false);
    conn.setKeepAlive();
    assert.equal(conn.getOption("SO_KEEPALIVE"), true);
    conn.setKeepAlive(false);
    conn.setKeepAlive({ time: 45, interval: 7, retries: 4 });
    assert.equal(conn.getOption("SO_KEEPALIVE"), true);
    assert.equal(conn.getOption("TCP_KEEPIDLE"), 45);
    assert.equal(conn.getOption("TCP_KEEPINTVL"), 7);
    assert.equal(conn.getOption("TCP_KEEPCNT"), 4);
  }
  // Still a working connection.
  await writeAll(client, encoder.encode("x"));
  assert.equal(decoder.decode(await readExactly(server, 1)), "x");
});
