/**
 * The seed's whole server and client workflow through the FFI layer alone:
 * socket → bind → listen → accept on one side, socket → connect → write/read
 * → close on the other, bytes exact both ways; with both sides on the FFI
 * layer, and with Deno's own sockets as the peer on either side. Then the
 * edges: ECONNREFUSED, EOF after shutdown(SHUT_WR), EPIPE/ECONNRESET after
 * the peer's RST (the process lives), UDP with decoded source addresses,
 * IPv6, Unix sockets, getaddrinfo and if_nametoindex.
 *
 * Blocking sockets are used where the kernel cannot block (connect on
 * loopback completes through the backlog before accept; small writes are
 * buffered), with SO_RCVTIMEO/SO_SNDTIMEO so that a bug fails instead of
 * hanging. Large payloads use non-blocking sockets and pollAsync (poll on a
 * helper thread) so the JavaScript thread keeps serving the other side.
 *
 * Run: deno test --allow-ffi --allow-net --allow-read --allow-write tests/ffi_workflow_test.ts
 */

import assert from "@assert";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  AI_NUMERICHOST,
  EAI_NONAME,
  F_GETFL,
  F_SETFL,
  INADDR_LOOPBACK,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_V6ONLY,
  MSG_NOSIGNAL,
  MSG_PEEK,
  MSG_TRUNC,
  O_NONBLOCK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  SHUT_WR,
  SO_LINGER,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_SNDTIMEO,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { SocketError } from "../ffi/errors.ts";
import { libc } from "../ffi/libc.ts";
import { AddrInfoError, getaddrinfo, if_nametoindex } from "../ffi/resolve.ts";
import { linger, pollfd, sockaddr_in, sockaddr_in6, sockaddr_un, timeval } from "../ffi/structs.ts";
import {
  accept,
  accept4,
  bind,
  close,
  connect,
  fcntl,
  getpeername,
  getsockname,
  listen,
  poll,
  pollAsync,
  read,
  recv,
  recvfrom,
  send,
  sendto,
  setsockopt,
  shutdown,
  socket,
  socketpair,
  write,
} from "../ffi/syscalls.ts";
import {
  assertBytes,
  expectSocketError,
  readExactly,
  seededBytes,
  writeAll as denoWriteAll,
} from "./helpers.ts";

// ---------------------------------------------------------------------------
// Helpers

const te = new TextEncoder();
const MiB = 1 << 20;

const ipv6Loopback = (): Uint8Array =>
  new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const in4 = (port: number, addr = INADDR_LOOPBACK) =>
  sockaddr_in.encode({ sin_family: AF_INET, sin_port: port, sin_addr: addr });
const in6 = (port: number) =>
  sockaddr_in6.encode({ sin6_family: AF_INET6, sin6_port: port, sin6_addr: ipv6Loopback() });

/** Blocking sockets fail after 5 s instead of hanging the test run. */
function timeouts(fd: number): number {
  const tv = timeval.encode({ tv_sec: 5n, tv_usec: 0n });
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv);
  return fd;
}

function setInt(fd: number, level: number, name: number, v: number): void {
  setsockopt(fd, level, name, new Uint8Array(new Int32Array([v]).buffer));
}

/** Small kernel buffers, so 1 MiB moves in many partial calls with EAGAIN between. */
function smallBuffers(fd: number): number {
  setInt(fd, SOL_SOCKET, SO_SNDBUF, 16384);
  setInt(fd, SOL_SOCKET, SO_RCVBUF, 16384);
  return fd;
}

function nonblocking(fd: number): number {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

function name(fd: number, which: "sock" | "peer"): { bytes: Uint8Array; len: number } {
  const bytes = new Uint8Array(128).fill(0xa5);
  const len = new Uint32Array([128]);
  (which === "sock" ? getsockname : getpeername)(fd, bytes, len);
  return { bytes: bytes.subarray(0, len[0]), len: len[0] };
}

function port4(fd: number, which: "sock" | "peer" = "sock"): number {
  const n = name(fd, which);
  assert.equal(n.len, 16);
  const a = sockaddr_in.decode(n.bytes);
  assert.equal(a.sin_family, AF_INET);
  return a.sin_port;
}

/** A listening TCP socket on loopback, with its ephemeral port. */
function tcpListener(domain = AF_INET): { fd: number; port: number } {
  const fd = timeouts(socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0));
  setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (domain === AF_INET6) setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  bind(fd, domain === AF_INET ? in4(0) : in6(0));
  listen(fd, 16);
  const n = name(fd, "sock");
  const port = domain === AF_INET
    ? sockaddr_in.decode(n.bytes).sin_port
    : sockaddr_in6.decode(n.bytes).sin6_port;
  return { fd, port };
}

type Mode = "rw" | "sr"; // read/write or send/recv

/** Writes all of `data` on a blocking socket. */
function writeAll(fd: number, data: Uint8Array, mode: Mode): void {
  let off = 0;
  while (off < data.byteLength) {
    const rest = data.subarray(off);
    const n = mode === "rw" ? write(fd, rest) : send(fd, rest, rest.byteLength, MSG_NOSIGNAL);
    assert.ok(n > 0 && n <= rest.byteLength);
    off += n;
  }
}

/** Reads exactly `n` bytes on a blocking socket (fails on early EOF). */
function readExact(fd: number, n: number, mode: Mode): Uint8Array {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = mode === "rw"
      ? read(fd, out.subarray(off))
      : recv(fd, out.subarray(off), n - off, 0);
    if (got === 0) assert.fail(`EOF after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

/** Waits (on a helper thread) until `fd` reports one of `events`. */
async function waitFor(fd: number, events: number): Promise<number> {
  const set = pollfd.encode({ fd, events });
  for (;;) {
    const r = await pollAsync(set, 1, 10_000);
    if (r > 0) return pollfd.decode(set).revents;
    if (r === 0) throw new Error(`timed out waiting for events ${events} on fd ${fd}`);
    // -1: interrupted; poll again.
  }
}

function isAgain(e: unknown): boolean {
  return e instanceof SocketError && (e.code === "EAGAIN" || e.code === "EWOULDBLOCK");
}

/**
 * Writes all of `data` on a non-blocking socket, waiting for POLLOUT when full.
 * Returns how many times the socket was full (EAGAIN).
 */
async function writeAllAsync(fd: number, data: Uint8Array, mode: Mode): Promise<number> {
  let off = 0;
  let full = 0;
  while (off < data.byteLength) {
    try {
      const rest = data.subarray(off);
      off += mode === "rw" ? write(fd, rest) : send(fd, rest, rest.byteLength, MSG_NOSIGNAL);
    } catch (e) {
      if (!isAgain(e)) throw e;
      full++;
      await waitFor(fd, POLLOUT);
    }
  }
  return full;
}

/** Reads exactly `n` bytes on a non-blocking socket, waiting for POLLIN when empty. */
async function readExactAsync(fd: number, n: number, mode: Mode): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    try {
      const got = mode === "rw"
        ? read(fd, out.subarray(off))
        : recv(fd, out.subarray(off), n - off, 0);
      if (got === 0) assert.fail(`EOF after ${off} of ${n} bytes`);
      off += got;
    } catch (e) {
      if (!isAgain(e)) throw e;
      await waitFor(fd, POLLIN);
    }
  }
  return out;
}

function closeAll(...fds: number[]): void {
  for (const fd of fds) {
    try {
      close(fd);
    } catch {
      // already closed by the test
    }
  }
}

/** A bound, not listening, socket holding a port nobody listens on. */
function deadPort(domain: number): { holder: number; port: number } {
  const holder = socket(domain, SOCK_STREAM, 0);
  bind(holder, domain === AF_INET ? in4(0) : in6(0));
  const n = name(holder, "sock");
  const port = domain === AF_INET
    ? sockaddr_in.decode(n.bytes).sin_port
    : sockaddr_in6.decode(n.bytes).sin6_port;
  return { holder, port };
}

// ---------------------------------------------------------------------------
// (a) Both sides through the FFI layer

for (const mode of ["rw", "sr"] as const) {
  Deno.test(`FFI server ↔ FFI client (${mode === "rw" ? "read/write" : "send/recv"}): the seed's workflow, bytes exact both ways`, () => {
    const server = tcpListener();
    const client = timeouts(socket(AF_INET, SOCK_STREAM, 0));
    let conn = -1;
    try {
      connect(client, in4(server.port)); // completes through the backlog
      const peer = new Uint8Array(128).fill(0xee);
      const peerLen = new Uint32Array([128]);
      conn = timeouts(accept(server.fd, peer, peerLen));
      assert.equal(peerLen[0], 16);
      const from = sockaddr_in.decode(peer);
      assert.equal(from.sin_family, AF_INET);
      assert.equal(from.sin_addr, INADDR_LOOPBACK);
      assert.equal(from.sin_port, port4(client, "sock"));
      assert.ok(peer.subarray(16).every((b) => b === 0xee), "accept wrote past addrlen");

      // getsockname/getpeername on both sides agree.
      assert.equal(port4(client, "peer"), server.port);
      assert.equal(port4(conn, "sock"), server.port);
      assert.equal(port4(conn, "peer"), port4(client, "sock"));
      assert.notEqual(port4(client, "sock"), server.port);

      const every = new Uint8Array(256).map((_, i) => i);
      const hello = te.encode("hello, server\n");
      writeAll(client, hello, mode);
      writeAll(client, every, mode);
      assertBytes(readExact(conn, hello.length, mode), hello, "client→server");
      assertBytes(readExact(conn, 256, mode), every, "client→server all bytes");

      const reply = seededBytes(10_000, 7);
      writeAll(conn, reply, mode);
      assertBytes(readExact(client, reply.length, mode), reply, "server→client");

      // close on the client side: the server reads EOF.
      close(client);
      const buf = new Uint8Array(16);
      assert.equal(
        mode === "rw" ? read(conn, buf) : recv(conn, buf),
        0,
        "EOF after the peer's close",
      );
    } finally {
      closeAll(client, server.fd);
      if (conn !== -1) closeAll(conn);
    }
  });
}

Deno.test("FFI ↔ FFI: 1 MiB each way at the same time (non-blocking + pollAsync), read/write one way, send/recv the other", async () => {
  const server = tcpListener();
  const client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  let conn = -1;
  try {
    // Small buffers (the accepted socket inherits the listener's) so that
    // 1 MiB cannot sit in the kernel at once: writes are partial and hit EAGAIN.
    smallBuffers(client);
    smallBuffers(server.fd);
    try {
      connect(client, in4(server.port));
    } catch (e) {
      // A non-blocking connect may report EINPROGRESS; wait until writable.
      if (!(e instanceof SocketError) || e.code !== "EINPROGRESS") throw e;
      await waitFor(client, POLLOUT);
    }
    conn = accept4(server.fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
    const up = seededBytes(MiB, 11);
    const down = seededBytes(MiB + 3, 12);
    const [upFull, gotUp, downFull, gotDown] = await Promise.all([
      writeAllAsync(client, up, "rw"),
      readExactAsync(conn, up.length, "rw"),
      writeAllAsync(conn, down, "sr"),
      readExactAsync(client, down.length, "sr"),
    ]);
    assertBytes(gotUp, up, "1 MiB client→server");
    assertBytes(gotDown, down, "1 MiB server→client");
    // 1 MiB does not fit in the socket buffers at once: partial writes and
    // EAGAIN + pollAsync were exercised.
    assert.ok(upFull >= 1 && downFull >= 1, `EAGAIN counts ${upFull}, ${downFull}`);
    // Nothing extra arrived.
    expectSocketError(() => recv(conn, new Uint8Array(1)), ["EAGAIN"], "recv");
    expectSocketError(() => read(client, new Uint8Array(1)), ["EAGAIN"], "read");
  } finally {
    closeAll(client, server.fd);
    if (conn !== -1) closeAll(conn);
  }
});

Deno.test("FFI ↔ FFI: 1 MiB each way on blocking sockets, alternating 8 KiB chunks", () => {
  const server = tcpListener();
  const client = timeouts(socket(AF_INET, SOCK_STREAM, 0));
  let conn = -1;
  try {
    connect(client, in4(server.port));
    conn = timeouts(accept(server.fd));
    const up = seededBytes(MiB, 21);
    const down = seededBytes(MiB, 22);
    const gotUp = new Uint8Array(MiB);
    const gotDown = new Uint8Array(MiB);
    const CHUNK = 8192;
    for (let off = 0; off < MiB; off += CHUNK) {
      writeAll(client, up.subarray(off, off + CHUNK), "rw");
      gotUp.set(readExact(conn, CHUNK, "sr"), off);
      writeAll(conn, down.subarray(off, off + CHUNK), "sr");
      gotDown.set(readExact(client, CHUNK, "rw"), off);
    }
    assertBytes(gotUp, up, "blocking 1 MiB up");
    assertBytes(gotDown, down, "blocking 1 MiB down");
  } finally {
    closeAll(client, server.fd);
    if (conn !== -1) closeAll(conn);
  }
});

// ---------------------------------------------------------------------------
// (b) FFI server, Deno.connect client

Deno.test("FFI server ↔ Deno.connect client: accept, bytes exact both ways, 1 MiB, EOF both ways", async () => {
  const server = tcpListener();
  let fd = -1;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const peer = new Uint8Array(16);
    const peerLen = new Uint32Array([16]);
    fd = timeouts(accept(server.fd, peer, peerLen));
    assert.equal(sockaddr_in.decode(peer).sin_port, (conn.localAddr as Deno.NetAddr).port);
    assert.equal(port4(fd, "peer"), (conn.localAddr as Deno.NetAddr).port);
    assert.equal(port4(fd, "sock"), (conn.remoteAddr as Deno.NetAddr).port);

    // Small messages, blocking FFI side: the Deno write is in the kernel once awaited.
    const ping = te.encode("ping from Deno");
    await denoWriteAll(conn, ping);
    assertBytes(readExact(fd, ping.length, "rw"), ping, "Deno→FFI (read)");
    await denoWriteAll(conn, ping);
    assertBytes(readExact(fd, ping.length, "sr"), ping, "Deno→FFI (recv)");
    const pong = te.encode("pong from FFI");
    writeAll(fd, pong, "rw");
    assertBytes(await readExactly(conn, pong.length), pong, "FFI→Deno (write)");
    writeAll(fd, pong, "sr");
    assertBytes(await readExactly(conn, pong.length), pong, "FFI→Deno (send)");

    // 1 MiB each way, at once.
    nonblocking(smallBuffers(fd));
    const up = seededBytes(MiB, 31);
    const down = seededBytes(MiB, 32);
    const [got, , gotDeno, full] = await Promise.all([
      readExactAsync(fd, up.length, "sr"),
      denoWriteAll(conn, up),
      readExactly(conn, down.length),
      writeAllAsync(fd, down, "rw"),
    ]);
    assert.ok(full >= 1, "the FFI writer met a full socket and waited in pollAsync");
    assertBytes(got, up, "Deno→FFI 1 MiB");
    assertBytes(gotDeno, down, "FFI→Deno 1 MiB");

    // Deno half-closes: FFI reads EOF (after the data); FFI can still write.
    await conn.closeWrite();
    await waitFor(fd, POLLIN);
    assert.equal(read(fd, new Uint8Array(8)), 0, "EOF after Deno's closeWrite");
    writeAll(fd, te.encode("still open"), "sr");
    assert.equal(new TextDecoder().decode(await readExactly(conn, 10)), "still open");
    // FFI half-closes: Deno reads EOF.
    shutdown(fd, SHUT_WR);
    assert.equal(await conn.read(new Uint8Array(8)), null, "Deno sees EOF after shutdown(SHUT_WR)");
  } finally {
    conn.close();
    closeAll(server.fd);
    if (fd !== -1) closeAll(fd);
  }
});

// ---------------------------------------------------------------------------
// (c) Deno.listen server, FFI client

Deno.test("Deno.listen server ↔ FFI client: connect, bytes exact both ways, 1 MiB, close", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const fd = smallBuffers(timeouts(socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)));
  let conn: Deno.Conn | undefined;
  try {
    connect(fd, in4(port)); // completes through the backlog
    conn = await listener.accept();
    assert.equal(port4(fd, "peer"), port);
    assert.equal(port4(fd, "sock"), (conn.remoteAddr as Deno.NetAddr).port);

    const hello = te.encode("GET / HTTP/1.0\r\n\r\n");
    writeAll(fd, hello, "rw");
    assertBytes(await readExactly(conn, hello.length), hello, "FFI→Deno (write)");
    writeAll(fd, hello, "sr");
    assertBytes(await readExactly(conn, hello.length), hello, "FFI→Deno (send)");
    const answer = seededBytes(5000, 41);
    await denoWriteAll(conn, answer);
    assertBytes(readExact(fd, answer.length, "rw"), answer, "Deno→FFI (read)");
    await denoWriteAll(conn, answer);
    assertBytes(readExact(fd, answer.length, "sr"), answer, "Deno→FFI (recv)");

    nonblocking(fd);
    const up = seededBytes(MiB, 42);
    const down = seededBytes(MiB, 43);
    const [full, gotDeno, , got] = await Promise.all([
      writeAllAsync(fd, up, "sr"),
      readExactly(conn, up.length),
      denoWriteAll(conn, down),
      readExactAsync(fd, down.length, "rw"),
    ]);
    assertBytes(gotDeno, up, "FFI→Deno 1 MiB");
    assert.ok(full >= 1, "the FFI writer met a full socket and waited in pollAsync");
    assertBytes(got, down, "Deno→FFI 1 MiB");

    // The FFI client closes: Deno reads EOF.
    close(fd);
    assert.equal(await conn.read(new Uint8Array(8)), null);
  } finally {
    conn?.close();
    listener.close();
    closeAll(fd);
  }
});

// ---------------------------------------------------------------------------
// Errors on the way

Deno.test("connect to a port nobody listens on throws SocketError code ECONNREFUSED (IPv4 and IPv6)", () => {
  for (const domain of [AF_INET, AF_INET6]) {
    const { holder, port } = deadPort(domain);
    const fd = socket(domain, SOCK_STREAM, 0);
    try {
      const e = expectSocketError(() => connect(fd, domain === AF_INET ? in4(port) : in6(port)), [
        "ECONNREFUSED",
      ], "connect");
      assert.equal(e.errno, 111);
    } finally {
      closeAll(fd, holder);
    }
  }
});

Deno.test("shutdown(SHUT_WR) gives EOF (read returns 0) on the peer, which can still answer", () => {
  const server = tcpListener();
  const client = timeouts(socket(AF_INET, SOCK_STREAM, 0));
  let conn = -1;
  try {
    connect(client, in4(server.port));
    conn = timeouts(accept(server.fd));
    writeAll(client, te.encode("last words"), "rw");
    shutdown(client, SHUT_WR);
    assert.equal(new TextDecoder().decode(readExact(conn, 10, "rw")), "last words");
    const buf = new Uint8Array(4);
    assert.equal(read(conn, buf), 0, "read returns 0 at EOF");
    assert.equal(recv(conn, buf), 0, "and keeps returning 0");
    // Writing on the shut-down direction fails with EPIPE.
    expectSocketError(() => send(client, buf, 1, MSG_NOSIGNAL), ["EPIPE"], "send");
    // The other direction still works.
    writeAll(conn, te.encode("answer"), "sr");
    assert.equal(new TextDecoder().decode(readExact(client, 6, "sr")), "answer");
    shutdown(conn, SHUT_WR);
    assert.equal(read(client, buf), 0);
  } finally {
    closeAll(client, server.fd);
    if (conn !== -1) closeAll(conn);
  }
});

/** A connected pair whose server side has been closed with an RST (SO_LINGER 0) or a FIN. */
function pairThenPeerGone(how: "rst" | "fin"): { client: number; cleanup: () => void } {
  const server = tcpListener();
  const client = timeouts(socket(AF_INET, SOCK_STREAM, 0));
  connect(client, in4(server.port));
  const conn = accept(server.fd);
  if (how === "rst") {
    setsockopt(conn, SOL_SOCKET, SO_LINGER, linger.encode({ l_onoff: 1, l_linger: 0 }));
  }
  close(conn);
  return { client, cleanup: () => closeAll(client, server.fd) };
}

function waitErrorOrHangup(fd: number): number {
  const set = pollfd.encode({ fd, events: POLLIN });
  assert.equal(poll(set, 1, 5000), 1);
  return pollfd.decode(set).revents;
}

Deno.test("EPIPE / ECONNRESET after the peer's RST: send(MSG_NOSIGNAL) and plain write both throw, the process lives", () => {
  for (const how of ["rst", "fin"] as const) {
    const { client, cleanup } = pairThenPeerGone(how);
    try {
      const data = seededBytes(100, 51);
      if (how === "fin") {
        // The peer closed normally: the first write is accepted, and answered with an RST.
        assert.equal(write(client, data), 100);
      }
      const revents = waitErrorOrHangup(client);
      assert.ok(revents & (POLLERR | POLLHUP), `revents ${revents}`);

      const first = expectSocketError(() => send(client, data, data.length, MSG_NOSIGNAL), [
        "EPIPE",
        "ECONNRESET",
      ], "send");
      assert.ok(first.errno === 32 || first.errno === 104);
      // Once the reset is consumed, a write is EPIPE, which raises SIGPIPE unless
      // MSG_NOSIGNAL: a plain write must not kill Deno.
      expectSocketError(() => write(client, data), ["EPIPE"], "write");
      expectSocketError(() => write(client, data), ["EPIPE"], "write");
      expectSocketError(() => send(client, data, data.length, 0), ["EPIPE"], "send");
      expectSocketError(() => send(client, data, data.length, MSG_NOSIGNAL), ["EPIPE"], "send");
      assert.equal(libc().getpid(), Deno.pid, "still alive");
    } finally {
      cleanup();
    }
  }
});

Deno.test("reading after the peer's RST gives ECONNRESET, then EOF", () => {
  const { client, cleanup } = pairThenPeerGone("rst");
  try {
    waitErrorOrHangup(client);
    expectSocketError(() => read(client, new Uint8Array(8)), ["ECONNRESET"], "read");
    assert.equal(recv(client, new Uint8Array(8)), 0);
  } finally {
    cleanup();
  }
});

// ---------------------------------------------------------------------------
// UDP

Deno.test("UDP sendto/recvfrom round trip with the source address decoded (IPv4 and IPv6)", () => {
  for (const domain of [AF_INET, AF_INET6]) {
    const layout = domain === AF_INET ? sockaddr_in : sockaddr_in6;
    const a = timeouts(socket(domain, SOCK_DGRAM, 0));
    const b = timeouts(socket(domain, SOCK_DGRAM, 0));
    try {
      bind(a, domain === AF_INET ? in4(0) : in6(0));
      bind(b, domain === AF_INET ? in4(0) : in6(0));
      const aName = name(a, "sock").bytes;
      const bName = name(b, "sock").bytes;
      assert.equal(aName.byteLength, layout.size);

      const msg = seededBytes(1200, 61 + domain);
      assert.equal(sendto(a, msg, msg.length, 0, bName), msg.length);
      const buf = new Uint8Array(2048);
      const from = new Uint8Array(128).fill(0xcc);
      const fromLen = new Uint32Array([128]);
      const got = recvfrom(b, buf, buf.length, 0, from, fromLen);
      assert.equal(got, msg.length);
      assertBytes(buf.subarray(0, got), msg, "datagram");
      assert.equal(fromLen[0], layout.size);
      assert.ok(from.subarray(layout.size).every((x) => x === 0xcc), "recvfrom wrote past addrlen");
      if (domain === AF_INET) {
        const src = sockaddr_in.decode(from);
        assert.equal(src.sin_family, AF_INET);
        assert.equal(src.sin_addr, INADDR_LOOPBACK);
        assert.equal(src.sin_port, sockaddr_in.decode(aName).sin_port);
      } else {
        const src = sockaddr_in6.decode(from);
        assert.equal(src.sin6_family, AF_INET6);
        assert.deepEqual(src.sin6_addr, ipv6Loopback());
        assert.equal(src.sin6_port, sockaddr_in6.decode(aName).sin6_port);
      }
      assertBytes(from.subarray(0, layout.size), aName, "source address = a's getsockname");

      // Reply to the decoded source address; receive without asking for it.
      const reply = te.encode("reply");
      sendto(b, reply, reply.length, 0, from, fromLen[0]);
      assert.equal(recvfrom(a, buf, buf.length, 0), reply.length);
      assert.equal(new TextDecoder().decode(buf.subarray(0, 5)), "reply");

      // MSG_PEEK then MSG_TRUNC: a 1200-byte datagram into a 10-byte buffer reports 1200.
      sendto(a, msg, msg.length, 0, bName);
      const small = new Uint8Array(10);
      assert.equal(recvfrom(b, small, 10, MSG_PEEK), 10);
      assertBytes(small, msg.subarray(0, 10), "peeked");
      assert.equal(recvfrom(b, small, 10, MSG_TRUNC), msg.length);
      assertBytes(small, msg.subarray(0, 10), "truncated");

      // Empty datagrams exist.
      assert.equal(sendto(a, new Uint8Array(0), 0, 0, bName), 0);
      assert.equal(recvfrom(b, buf, buf.length, 0), 0);
    } finally {
      closeAll(a, b);
    }
  }
});

// ---------------------------------------------------------------------------
// IPv6 and Unix

Deno.test("IPv6 loopback: the whole workflow over ::1, addresses decoded on both sides", async () => {
  const server = tcpListener(AF_INET6);
  const client = timeouts(socket(AF_INET6, SOCK_STREAM, 0));
  let conn = -1;
  try {
    connect(client, in6(server.port));
    const peer = new Uint8Array(28);
    const peerLen = new Uint32Array([28]);
    conn = timeouts(accept(server.fd, peer, peerLen));
    assert.equal(peerLen[0], 28);
    const p = sockaddr_in6.decode(peer);
    assert.equal(p.sin6_family, AF_INET6);
    assert.deepEqual(p.sin6_addr, ipv6Loopback());
    const clientName = sockaddr_in6.decode(name(client, "sock").bytes);
    assert.equal(p.sin6_port, clientName.sin6_port);
    assert.equal(sockaddr_in6.decode(name(client, "peer").bytes).sin6_port, server.port);

    const msg = seededBytes(3000, 71);
    writeAll(client, msg, "rw");
    assertBytes(readExact(conn, msg.length, "sr"), msg, "v6 up");
    writeAll(conn, msg, "sr");
    assertBytes(readExact(client, msg.length, "rw"), msg, "v6 down");

    // And Deno reaches the same listener over ::1.
    const deno = await Deno.connect({ hostname: "::1", port: server.port });
    const fd2 = timeouts(accept(server.fd));
    try {
      await denoWriteAll(deno, msg);
      assertBytes(readExact(fd2, msg.length, "rw"), msg, "Deno v6 → FFI");
    } finally {
      deno.close();
      close(fd2);
    }

    close(client);
    assert.equal(read(conn, new Uint8Array(1)), 0);
  } finally {
    closeAll(client, server.fd);
    if (conn !== -1) closeAll(conn);
  }
});

Deno.test("Unix stream socketpair: bytes exact both ways, 1 MiB, shutdown EOF", async () => {
  const sv = new Int32Array(2);
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  const [x, y] = sv;
  try {
    assert.ok(x >= 0 && y >= 0 && x !== y);
    timeouts(x);
    timeouts(y);
    const m = te.encode("over a socketpair");
    writeAll(x, m, "rw");
    assertBytes(readExact(y, m.length, "sr"), m, "x→y");
    writeAll(y, m, "sr");
    assertBytes(readExact(x, m.length, "rw"), m, "y→x");
    // A socketpair has no peer address beyond the family.
    const peerName = name(x, "peer");
    assert.equal(peerName.len, 2);
    assert.equal(peerName.bytes[0] | (peerName.bytes[1] << 8), AF_UNIX);

    nonblocking(smallBuffers(x));
    nonblocking(smallBuffers(y));
    const up = seededBytes(MiB, 81);
    const down = seededBytes(MiB, 82);
    const [full, gotUp, , gotDown] = await Promise.all([
      writeAllAsync(x, up, "sr"),
      readExactAsync(y, up.length, "rw"),
      writeAllAsync(y, down, "rw"),
      readExactAsync(x, down.length, "sr"),
    ]);
    assertBytes(gotUp, up, "socketpair 1 MiB x→y");
    assert.ok(full >= 1, "the writer met a full socket and waited in pollAsync");
    assertBytes(gotDown, down, "socketpair 1 MiB y→x");

    shutdown(x, SHUT_WR);
    await waitFor(y, POLLIN);
    assert.equal(read(y, new Uint8Array(4)), 0);
  } finally {
    closeAll(x, y);
  }
});

Deno.test("Unix stream socket at a path: bind/listen/accept/connect, names decoded, bytes exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ffi_workflow_" });
  const path = te.encode(`${dir}/srv.sock`);
  const addr = sockaddr_un.encode({ sun_family: AF_UNIX, sun_path: path });
  const server = timeouts(socket(AF_UNIX, SOCK_STREAM, 0));
  const client = timeouts(socket(AF_UNIX, SOCK_STREAM, 0));
  let conn = -1;
  try {
    bind(server, addr, 2 + path.length + 1);
    listen(server, 4);
    connect(client, addr, 2 + path.length + 1);
    conn = timeouts(accept(server));
    const peerOfClient = name(client, "peer");
    assert.equal(peerOfClient.len, 2 + path.length + 1);
    assertBytes(
      peerOfClient.bytes.subarray(2, 2 + path.length),
      path,
      "client's peer is the path",
    );
    const m = seededBytes(4000, 91);
    writeAll(client, m, "sr");
    assertBytes(readExact(conn, m.length, "rw"), m, "unix up");
    writeAll(conn, m, "rw");
    assertBytes(readExact(client, m.length, "sr"), m, "unix down");
  } finally {
    closeAll(client, server);
    if (conn !== -1) closeAll(conn);
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// Resolution

Deno.test("getaddrinfo('localhost', '80') returns AF_INET/AF_INET6 entries decoding to 127.0.0.1 / ::1 port 80", async () => {
  const list = await getaddrinfo("localhost", "80");
  assert.ok(list.length > 0);
  let inet = 0;
  for (const entry of list) {
    assert.ok(entry.family === AF_INET || entry.family === AF_INET6, `family ${entry.family}`);
    if (entry.family === AF_INET) {
      assert.equal(entry.address.byteLength, 16);
      const a = sockaddr_in.decode(entry.address);
      assert.equal(a.sin_family, AF_INET);
      assert.equal(a.sin_addr, INADDR_LOOPBACK);
      assert.equal(a.sin_port, 80);
      inet++;
    } else {
      assert.equal(entry.address.byteLength, 28);
      const a = sockaddr_in6.decode(entry.address);
      assert.equal(a.sin6_family, AF_INET6);
      assert.deepEqual(a.sin6_addr, ipv6Loopback());
      assert.equal(a.sin6_port, 80);
    }
  }
  // /etc/hosts here maps localhost to 127.0.0.1; where it also maps ::1 that is checked above.
  assert.ok(inet > 0 || list.some((e) => e.family === AF_INET6));
  // With hints: only stream sockets over IPv4.
  const tcp = await getaddrinfo("localhost", "80", { family: AF_INET, socktype: SOCK_STREAM });
  assert.ok(tcp.length >= 1);
  for (const e of tcp) {
    assert.equal(e.family, AF_INET);
    assert.equal(e.socktype, SOCK_STREAM);
    assert.equal(e.protocol, IPPROTO_TCP);
  }
  // A numeric IPv6 address with AI_NUMERICHOST decodes to ::1.
  const [v6] = await getaddrinfo("::1", "443", { flags: AI_NUMERICHOST, socktype: SOCK_STREAM });
  assert.equal(v6.family, AF_INET6);
  assert.deepEqual(sockaddr_in6.decode(v6.address).sin6_addr, ipv6Loopback());
  assert.equal(sockaddr_in6.decode(v6.address).sin6_port, 443);
});

Deno.test("a getaddrinfo address is directly usable: connect to what it returned", async () => {
  const server = tcpListener();
  const fd = timeouts(socket(AF_INET, SOCK_STREAM, 0));
  let conn = -1;
  try {
    const [entry] = await getaddrinfo("127.0.0.1", String(server.port), {
      family: AF_INET,
      socktype: SOCK_STREAM,
      flags: AI_NUMERICHOST,
    });
    connect(fd, entry.address);
    conn = accept(server.fd);
    writeAll(fd, te.encode("via getaddrinfo"), "rw");
    assert.equal(new TextDecoder().decode(readExact(conn, 15, "rw")), "via getaddrinfo");
  } finally {
    closeAll(fd, server.fd);
    if (conn !== -1) closeAll(conn);
  }
});

Deno.test("getaddrinfo('nonexistent.invalid') rejects with AddrInfoError", async () => {
  const e = await getaddrinfo("nonexistent.invalid", null).then(
    () => assert.fail("resolved"),
    (err: unknown) => err,
  );
  assert.ok(e instanceof AddrInfoError, `got ${e}`);
  assert.equal(e.name, "AddrInfoError");
  assert.equal(e.hostname, "nonexistent.invalid");
  assert.ok(e.code < 0, `EAI code ${e.code}`);
  // Offline the resolver may say "no such name" or "try again"; both are EAI_*.
  assert.ok([EAI_NONAME, -3, -5, -11].includes(e.code), `code ${e.code}`);
  assert.match(e.message, /nonexistent\.invalid/);
  // A numeric-only lookup of a name fails with EAI_NONAME without touching DNS.
  await assert.rejects(
    () => getaddrinfo("localhost", null, { flags: AI_NUMERICHOST }),
    (err: unknown) => err instanceof AddrInfoError && err.code === EAI_NONAME,
  );
});

Deno.test("if_nametoindex('lo') > 0, and 0 for an interface that does not exist", () => {
  assert.ok(if_nametoindex("lo") > 0);
  assert.equal(if_nametoindex("nosuchif0"), 0);
});
