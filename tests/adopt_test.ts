// adoptSocket and detach on real descriptors: sockets made the way C (or a
// parent process) makes them — blocking, inheritable — are adopted as the
// right object and carry data; every kind of socket object detaches, after
// which it refuses work and the descriptor serves its next owner.

import assert from "@assert";
import {
  adoptSocket,
  Conn,
  connect,
  connectSeqpacket,
  DatagramConn,
  inspectSocket,
  listen,
  listenDatagram,
  Listener,
  listenSeqpacket,
  openRawSocket,
  type RawSocket,
  SeqpacketConn,
  SeqpacketListener,
  SocketError,
  type SocketHandle,
} from "../mod.ts";
import * as c from "../ffi/mod.ts";
import { libc } from "../ffi/libc.ts";
import { abstractPath, decoder, encoder, fdOpen, readExactly } from "./helpers.ts";

/** O_NONBLOCK and FD_CLOEXEC as the kernel reports them. */
function flagsOf(fd: number): { nonblocking: boolean; cloexec: boolean } {
  return {
    nonblocking: (c.fcntl(fd, c.F_GETFL) & c.O_NONBLOCK) !== 0,
    cloexec: (c.fcntl(fd, c.F_GETFD) & c.FD_CLOEXEC) !== 0,
  };
}

const BLOCKING_INHERITABLE = { nonblocking: false, cloexec: false };
const ADOPTED = { nonblocking: true, cloexec: true };

/** A blocking, inheritable TCP listener on loopback, as C makes one. */
function cListener(): number {
  const fd = c.socket(c.AF_INET, c.SOCK_STREAM, 0);
  c.bind(
    fd,
    c.sockaddr_in.encode({ sin_family: c.AF_INET, sin_port: 0, sin_addr: c.INADDR_LOOPBACK }),
  );
  c.listen(fd, 16);
  return fd;
}

/** bind(2) on a Unix name, with the exact length (an abstract name counts every byte). */
function cBindUnix(fd: number, path: string): void {
  const sun_path = encoder.encode(path);
  c.bind(fd, c.sockaddr_un.encode({ sun_family: c.AF_UNIX, sun_path }), 2 + sun_path.length);
}

function cSocketpair(type: number): [number, number] {
  const sv = new Int32Array(2);
  c.socketpair(c.AF_UNIX, type, 0, sv);
  return [sv[0], sv[1]];
}

Deno.test("adoptSocket: a C-made TCP listener becomes a Listener that accepts", async () => {
  const fd = cListener();
  assert.deepEqual(flagsOf(fd), BLOCKING_INHERITABLE);
  using listener = adoptSocket(fd, { expect: "listener" });
  assert.ok(listener instanceof Listener);
  // Blocking would stall the whole reactor on accept; inheritable would leak into children.
  assert.deepEqual(flagsOf(fd), ADOPTED);
  assert.equal(listener.fd, fd);
  const addr = listener.addr as Deno.NetAddr;
  assert.equal(addr.transport, "tcp");
  assert.equal(addr.hostname, "127.0.0.1");
  assert.ok(addr.port > 0);
  using client = await connect({ hostname: "127.0.0.1", port: addr.port });
  using server = await listener.accept();
  assert.equal((server.remoteAddr as Deno.NetAddr).port, client.localAddr.port);
  await client.write(encoder.encode("over an adopted listener"));
  assert.equal(decoder.decode(await readExactly(server, 24)), "over an adopted listener");
});

Deno.test("adoptSocket: a connected TCP socket becomes a Conn with both addresses", async () => {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  const fd = c.socket(c.AF_INET, c.SOCK_STREAM, 0);
  c.connect(
    fd,
    c.sockaddr_in.encode({
      sin_family: c.AF_INET,
      sin_port: listener.addr.port,
      sin_addr: c.INADDR_LOOPBACK,
    }),
  );
  using conn = adoptSocket(fd);
  assert.ok(conn instanceof Conn);
  assert.deepEqual(flagsOf(fd), ADOPTED);
  using server = await listener.accept();
  const remote = (conn as Conn<Deno.NetAddr>).remoteAddr;
  assert.equal(remote.port, listener.addr.port);
  assert.equal((conn as Conn<Deno.NetAddr>).localAddr.port, server.remoteAddr.port);
  await server.write(encoder.encode("pong"));
  assert.equal(decoder.decode(await readExactly(conn as Conn, 4)), "pong");
});

Deno.test("adoptSocket: Unix stream listener (abstract name) and socketpair Conns", async () => {
  const path = abstractPath("adopt-unix");
  const fd = c.socket(c.AF_UNIX, c.SOCK_STREAM, 0);
  cBindUnix(fd, path);
  c.listen(fd, 8);
  using listener = adoptSocket(fd, { expect: "listener" });
  assert.deepEqual({ ...listener.addr }, { transport: "unix", path });
  using client = await connect({ transport: "unix", path });
  using accepted = await listener.accept();
  // Connections accepted on an adopted Unix listener are Unix Conns.
  assert.equal(accepted.localAddr.transport, "unix");
  await client.write(encoder.encode("u"));
  assert.equal(decoder.decode(await readExactly(accepted, 1)), "u");

  const [a, b] = cSocketpair(c.SOCK_STREAM);
  using left = adoptSocket(a, { expect: "conn" });
  using right = adoptSocket(b, { expect: "conn" });
  assert.equal(left.remoteAddr.transport, "unix");
  await left.write(encoder.encode("pair"));
  assert.equal(decoder.decode(await readExactly(right, 4)), "pair");
});

Deno.test("adoptSocket: UDP and Unix datagram sockets become DatagramConns", async () => {
  const fd = c.socket(c.AF_INET, c.SOCK_DGRAM, 0);
  c.bind(
    fd,
    c.sockaddr_in.encode({ sin_family: c.AF_INET, sin_port: 0, sin_addr: c.INADDR_LOOPBACK }),
  );
  using udp = adoptSocket(fd, { expect: "datagram" });
  assert.ok(udp instanceof DatagramConn);
  assert.deepEqual(flagsOf(fd), ADOPTED);
  const addr = udp.addr as Deno.NetAddr;
  assert.equal(addr.transport, "udp");
  using peer = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  await peer.send(encoder.encode("dgram"), addr);
  const [data, from] = await udp.receive();
  assert.equal(decoder.decode(data), "dgram");
  assert.equal((from as Deno.NetAddr).port, peer.addr.port);

  const [a, b] = cSocketpair(c.SOCK_DGRAM);
  const [left, right] = [adoptSocket(a), adoptSocket(b)];
  assert.ok(left instanceof DatagramConn && right instanceof DatagramConn);
  using _left = left, _right = right;
  assert.equal((left as DatagramConn).addr.transport, "unixpacket");
});

Deno.test("adoptSocket: SOCK_SEQPACKET listener and connection", async () => {
  const path = abstractPath("adopt-seq");
  const fd = c.socket(c.AF_UNIX, c.SOCK_SEQPACKET, 0);
  cBindUnix(fd, path);
  c.listen(fd, 8);
  const adopted = adoptSocket(fd);
  assert.ok(adopted instanceof SeqpacketListener);
  using listener = adopted as SeqpacketListener;
  assert.equal(listener.addr.path, path);
  using client = await connectSeqpacket({ path });
  using server = await listener.accept();
  await client.send(encoder.encode("one message"));
  assert.equal(decoder.decode((await server.receive())!), "one message");

  const [a, b] = cSocketpair(c.SOCK_SEQPACKET);
  using left = adoptSocket(a, { expect: "seqpacket-conn" });
  using right = adoptSocket(b, { expect: "seqpacket-conn" });
  assert.ok(left instanceof SeqpacketConn);
  await left.send(encoder.encode("boundary"));
  assert.equal(decoder.decode((await right.receive())!), "boundary");
});

Deno.test("inspectSocket: reports what the kernel says without taking the descriptor", () => {
  const fd = cListener();
  try {
    const info = inspectSocket(fd);
    assert.deepEqual(info, {
      domain: c.AF_INET,
      type: c.SOCK_STREAM,
      protocol: c.IPPROTO_TCP,
      listening: true,
      kind: "listener",
    });
    assert.deepEqual(flagsOf(fd), BLOCKING_INHERITABLE);
  } finally {
    c.close(fd);
  }
});

Deno.test("adoptSocket: the wrong kind is a TypeError and leaves the descriptor untouched", () => {
  const fd = cListener();
  try {
    throwsLike(
      () => adoptSocket(fd, { expect: "conn" }),
      TypeError,
      `fd ${fd} is a listening stream socket (Listener), expected a connected stream socket (Conn)`,
    );
    assert.throws(() => adoptSocket(fd, { expect: "datagram" }), TypeError);
    // @ts-expect-error: not a kind
    throwsLike(() => adoptSocket(fd, { expect: "socket" }), TypeError, "expect must be one of");
    // @ts-expect-error: not a boolean
    assert.throws(() => adoptSocket(fd, { duplicate: 1 }), TypeError);
    assert.deepEqual(flagsOf(fd), BLOCKING_INHERITABLE);
    // Still the caller's and still a working listener: a connect completes.
    const client = c.socket(c.AF_INET, c.SOCK_STREAM, 0);
    const bound = c.sockaddr_in.decode(getsockname(fd));
    c.connect(
      client,
      c.sockaddr_in.encode({ ...bound, sin_family: c.AF_INET }),
    );
    c.close(c.accept(fd));
    c.close(client);
  } finally {
    c.close(fd);
  }
});

function getsockname(fd: number): Uint8Array {
  const bytes = new Uint8Array(c.sockaddr_in.size);
  const len = new Uint32Array([bytes.byteLength]);
  c.getsockname(fd, bytes, len);
  return bytes;
}

/** Like assert.throws, but also checks the message (node's third argument is only a label). */
function throwsLike(
  fn: () => unknown,
  Class: abstract new (...args: never[]) => Error,
  text: string,
) {
  const error = thrown(fn) as Error;
  assert.ok(error instanceof Class, `expected ${Class.name}, got ${error}`);
  assert.ok(error.message.includes(text), `expected "${text}" in: ${error.message}`);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

Deno.test("adoptSocket: bad descriptors give clear errors, never a crash", () => {
  // @ts-expect-error: a string is not a descriptor, even a numeric one
  throwsLike(() => adoptSocket("3"), TypeError, "fd must be a number");
  throwsLike(() => adoptSocket(-1), RangeError, "fd must be an integer");
  assert.throws(() => adoptSocket(NaN), RangeError);
  assert.throws(() => adoptSocket(1.5), RangeError);
  assert.throws(() => adoptSocket(2 ** 31), RangeError);
  // @ts-expect-error: options must be an object
  throwsLike(() => adoptSocket(0, "listener"), TypeError, "options must be an object");

  // Not open: BadResource, and a SocketError with EBADF.
  const closed = c.socket(c.AF_INET, c.SOCK_STREAM, 0);
  c.close(closed);
  for (const fd of [closed, 1_000_000]) {
    const error = thrown(() => adoptSocket(fd)) as SocketError;
    assert.ok(error instanceof Deno.errors.BadResource, String(error));
    assert.ok(error instanceof SocketError);
    assert.match(error.message, /is not open/);
    assert.equal(error.code, "EBADF");
  }

  // Open but no socket (an eventfd): ENOTSOCK, and it stays open.
  const event = libc().eventfd(0, 0);
  try {
    const error = thrown(() => adoptSocket(event)) as SocketError;
    assert.ok(error instanceof SocketError, String(error));
    assert.match(error.message, /is not a socket/);
    assert.equal(error.code, "ENOTSOCK");
    assert.ok(fdOpen(event));
  } finally {
    c.close(event);
  }

  // -0 is descriptor 0, as for every descriptor argument of the module: the
  // same answer as for 0 (a TypeError or SocketError, whatever stdin is here).
  const zero = (() => {
    try {
      return inspectSocket(0).kind;
    } catch (error) {
      return (error as Error).constructor;
    }
  })();
  if (typeof zero === "function") assert.throws(() => adoptSocket(-0), zero as ErrorConstructor);
});

Deno.test("adoptSocket: sockets this module does not wrap are refused and stay the caller's", () => {
  // A netlink socket: another family.
  const netlink = c.socket(c.AF_NETLINK, c.SOCK_DGRAM, 0);
  try {
    throwsLike(() => adoptSocket(netlink), TypeError, "address family");
    assert.ok(fdOpen(netlink));
    assert.deepEqual(flagsOf(netlink), BLOCKING_INHERITABLE);
  } finally {
    c.close(netlink);
  }
  // A stream socket that is neither listening nor connected.
  const fresh = c.socket(c.AF_INET, c.SOCK_STREAM, 0);
  try {
    throwsLike(() => adoptSocket(fresh), TypeError, "neither listening nor connected");
    assert.deepEqual(flagsOf(fresh), BLOCKING_INHERITABLE);
  } finally {
    c.close(fresh);
  }
  // A ping socket (SOCK_DGRAM with c.IPPROTO_ICMP) is a raw socket's job, when the host allows one.
  let ping = -1;
  try {
    ping = c.socket(c.AF_INET, c.SOCK_DGRAM, c.IPPROTO_ICMP);
  } catch {
    // ping_group_range excludes us: nothing to check
  }
  if (ping >= 0) {
    try {
      throwsLike(() => adoptSocket(ping), TypeError, "is not UDP");
    } finally {
      c.close(ping);
    }
  }
});

Deno.test("adoptSocket: a descriptor another object owns is refused with Busy; the owner keeps working", async () => {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  // A second owner would close the descriptor under the first one.
  throwsLike(() => adoptSocket(listener.fd), Deno.errors.Busy, "detach() it first");
  using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using server = await listener.accept();
  await client.write(encoder.encode("still mine"));
  assert.equal(decoder.decode(await readExactly(server, 10)), "still mine");
});

Deno.test("adoptSocket({ duplicate }): the object owns a dup, the caller keeps its number", async () => {
  using original = listen({ hostname: "127.0.0.1", port: 0 });
  const twin = adoptSocket(original.fd, { expect: "listener", duplicate: true });
  assert.notEqual(twin.fd, original.fd);
  assert.equal((twin.addr as Deno.NetAddr).port, original.addr.port);
  assert.deepEqual(flagsOf(twin.fd), ADOPTED);
  // Either descriptor accepts from the one queue.
  using client = await connect({ hostname: "127.0.0.1", port: original.addr.port });
  using accepted = await twin.accept();
  await client.write(encoder.encode("dup"));
  assert.equal(decoder.decode(await readExactly(accepted, 3)), "dup");
  const twinFd = twin.fd;
  twin.close();
  assert.ok(!fdOpen(twinFd) || twinFd === original.fd);
  assert.ok(fdOpen(original.fd));
  using again = await connect({ hostname: "127.0.0.1", port: original.addr.port });
  using fromOriginal = await original.accept();
  assert.equal(fromOriginal.remoteAddr.port, again.localAddr.port);
});

// ------------------------------------------------------------------ detach

/** One kind's detach: what is pending rejects, what follows is refused, the fd lives on. */
async function checkDetach(
  socket: SocketHandle,
  pending: () => Promise<unknown>,
  afterwards: Array<() => unknown>,
): Promise<number> {
  const waiting = pending();
  const settled = waiting.then(() => "resolved", (error) => error);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const fd = socket.detach();
  const outcome = await settled;
  // The same rejection a close gives: BadResource (accept) or Interrupted (reads).
  assert.ok(
    outcome instanceof Deno.errors.BadResource || outcome instanceof Deno.errors.Interrupted,
    `pending operation after detach: ${outcome}`,
  );
  assert.ok(socket.closed);
  assert.throws(() => socket.fd, Deno.errors.BadResource);
  assert.throws(() => socket.detach(), Deno.errors.BadResource);
  assert.throws(() => socket.setOption("SO_RCVBUF", 65536), Deno.errors.BadResource);
  for (const call of afterwards) {
    await assert.rejects(async () => await call(), Deno.errors.BadResource);
  }
  socket.close(); // a no-op now: the descriptor is someone else's
  assert.ok(fdOpen(fd), "close() after detach closed the descriptor");
  assert.deepEqual(flagsOf(fd), ADOPTED, "detach hands over a non-blocking, close-on-exec fd");
  return fd;
}

Deno.test("detach: TCP Listener, then the descriptor serves as an adopted listener", async () => {
  const listener = listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const fd = await checkDetach(listener, () => listener.accept(), [() => listener.accept()]);
  using adopted = adoptSocket(fd, { expect: "listener" });
  using client = await connect({ hostname: "127.0.0.1", port });
  using server = await adopted.accept();
  await client.write(encoder.encode("x"));
  assert.equal(decoder.decode(await readExactly(server, 1)), "x");
});

Deno.test("detach: Unix Listener", async () => {
  const path = abstractPath("detach-unix");
  const listener = listen({ transport: "unix", path });
  const fd = await checkDetach(listener, () => listener.accept(), [() => listener.accept()]);
  using adopted = adoptSocket(fd, { expect: "listener" });
  using _client = await connect({ transport: "unix", path });
  using server = await adopted.accept();
  assert.equal(server.localAddr.transport, "unix");
});

Deno.test("detach: TCP and Unix Conns keep their bytes for the next owner", async () => {
  for (const transport of ["tcp", "unix"] as const) {
    using listener = transport === "tcp"
      ? listen({ hostname: "127.0.0.1", port: 0 })
      : listen({ transport: "unix", path: abstractPath("detach-conn") });
    const client = transport === "tcp"
      ? await connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port })
      : await connect({ transport: "unix", path: (listener.addr as Deno.UnixAddr).path });
    using server = await listener.accept();
    const fd = await checkDetach(client, () => client.read(new Uint8Array(8)), [
      () => client.read(new Uint8Array(8)),
      () => client.write(encoder.encode("no")),
      () => client.closeWrite(),
    ]);
    // What the peer sends after the hand-over reaches the new owner.
    await server.write(encoder.encode("after"));
    using adopted = adoptSocket(fd, { expect: "conn" });
    assert.equal(decoder.decode(await readExactly(adopted, 5)), "after");
    await adopted.write(encoder.encode("back"));
    assert.equal(decoder.decode(await readExactly(server, 4)), "back");
  }
});

Deno.test("detach: UDP and Unix datagram sockets", async () => {
  const udp = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const addr = udp.addr;
  const fd = await checkDetach(udp, () => udp.receive(), [
    () => udp.receive(),
    () => udp.send(encoder.encode("no"), addr),
  ]);
  using adopted = adoptSocket(fd, { expect: "datagram" });
  using peer = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  await peer.send(encoder.encode("to the new owner"), addr);
  assert.equal(decoder.decode((await adopted.receive())[0]), "to the new owner");

  const path = abstractPath("detach-dgram");
  const unix = listenDatagram({ transport: "unixpacket", path });
  const unixFd = await checkDetach(unix, () => unix.receive(), [() => unix.receive()]);
  using adoptedUnix = adoptSocket(unixFd, { expect: "datagram" });
  assert.equal((adoptedUnix.addr as Deno.UnixAddr).path, path);
});

Deno.test("detach: SeqpacketListener and SeqpacketConn", async () => {
  const path = abstractPath("detach-seq");
  const listener = listenSeqpacket({ path });
  const fd = await checkDetach(listener, () => listener.accept(), [() => listener.accept()]);
  using adopted = adoptSocket(fd, { expect: "seqpacket-listener" });
  const client = await connectSeqpacket({ path });
  using server = await adopted.accept();
  const clientFd = await checkDetach(client, () => client.receive(), [
    () => client.receive(),
    () => client.send(encoder.encode("no")),
  ]);
  using adoptedClient = adoptSocket(clientFd, { expect: "seqpacket-conn" });
  await server.send(encoder.encode("kept"));
  assert.equal(decoder.decode((await adoptedClient.receive())!), "kept");
});

Deno.test("detach: RawSocket (ping socket or raw, when the host allows one)", async () => {
  let raw: RawSocket;
  try {
    raw = openRawSocket({ family: "ipv4", protocol: c.IPPROTO_ICMP });
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) return; // neither raw nor ping allowed here
    throw error;
  }
  const fd = await checkDetach(raw, () => raw.receive(), [() => raw.receive()]);
  // Raw sockets are not adopted (not a DatagramConn's job); the fd is plainly ours to close.
  assert.throws(() => adoptSocket(fd), TypeError);
  c.close(fd);
});
