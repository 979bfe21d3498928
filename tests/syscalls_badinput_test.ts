/**
 * Every function of ffi/syscalls.ts called with bad arguments. A wrong type
 * is a TypeError, a value out of range a RangeError, both naming the
 * argument, and libc is not called (errno keeps a sentinel value); a bad
 * descriptor the kernel must judge (closed, a pipe, a file) is a
 * SocketError with its errno name. Calls that write into caller memory
 * (read, recv, recvfrom, getsockname, getsockopt, poll, socketpair, pipe2)
 * run on views surrounded by canary bytes that must survive every call.
 *
 * Run: deno test --allow-ffi --allow-net --allow-read tests/syscalls_badinput_test.ts
 */

import assert from "@assert";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  INADDR_LOOPBACK,
  IPPROTO_TCP,
  MSG_TRUNC,
  O_NONBLOCK,
  POLLIN,
  POLLOUT,
  SHUT_RDWR,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_TYPE,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_INFO,
} from "../ffi/constants.ts";
import { SocketError, strerror } from "../ffi/errors.ts";
import { errno, setErrno } from "../ffi/libc.ts";
import { pollfd, sockaddr_in, sockaddr_in6 } from "../ffi/structs.ts";
import {
  accept,
  accept4,
  bind,
  close,
  connect,
  fcntl,
  getpeername,
  getsockname,
  getsockopt,
  listen,
  pipe2,
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

// deno-lint-ignore no-explicit-any
type Any = any;
const bad = (x: unknown): Any => x;
type ErrorClass = typeof TypeError | typeof RangeError;

// ---------------------------------------------------------------------------
// Helpers

const SENTINEL = 4242;

/** The message names `name` as a word (not as part of another word). */
function namesArgument(message: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[\\s:(])${escaped}([\\s.:(,]|$)`).test(message);
}

/**
 * `fn` throws `cls` naming `name`, and libc was not called: errno still
 * holds the sentinel (every rejected value here would fail in libc).
 */
function rejects(fn: () => unknown, cls: ErrorClass, name: string, what = ""): void {
  let caught: unknown;
  let e = 0;
  // V8 may touch errno on this thread by itself (a GC waiting on a futex
  // leaves EAGAIN), so a changed errno is retried: a call that reached libc
  // changes it every time, a stray GC does not.
  for (let attempt = 0; attempt < 3; attempt++) {
    setErrno(SENTINEL);
    caught = undefined;
    try {
      fn();
    } catch (error) {
      caught = error;
    }
    e = errno();
    if (e === SENTINEL) break;
  }
  const label = `${what} (${name})`;
  assert.ok(caught instanceof cls, `${label}: expected ${cls.name}, got ${caught}`);
  assert.ok(!(caught instanceof SocketError), `${label}: libc was called: ${caught}`);
  assert.ok(
    namesArgument((caught as Error).message, name),
    `${label}: "${(caught as Error).message}" does not name ${name}`,
  );
  assert.equal(e, SENTINEL, `${label}: errno changed, so libc was called`);
}

async function rejectsAsync(
  fn: () => Promise<unknown>,
  cls: ErrorClass,
  name: string,
  what = "",
): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `${what}: expected ${cls.name}, got ${caught}`);
  assert.ok(
    namesArgument((caught as Error).message, name),
    `${what}: "${(caught as Error).message}" does not name ${name}`,
  );
}

function socketError(fn: () => unknown, code: string, syscall: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof SocketError)) {
    throw new Error(`${syscall}: expected SocketError ${code}, got ${caught}`);
  }
  assert.equal(caught.code, code, `${syscall}: ${caught.message}`);
  assert.equal(caught.syscall, syscall);
}

function closeAll(...fds: number[]): void {
  for (const fd of fds) {
    try {
      close(fd);
    } catch {
      // closed by the test
    }
  }
}

const loop4 = (port = 0) =>
  sockaddr_in.encode({ sin_family: AF_INET, sin_port: port, sin_addr: INADDR_LOOPBACK });

/**
 * Sockets every test may point at: non-blocking, so that a check that
 * failed to stop a call could never block the run.
 */
function fixture() {
  const sv = new Int32Array(2);
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
  const udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  bind(udp, loop4());
  const listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  bind(listener, loop4());
  listen(listener, 4);
  return {
    a: sv[0],
    b: sv[1],
    udp,
    listener,
    close: () => closeAll(sv[0], sv[1], udp, listener),
  };
}

/** Canary-guarded views in one allocation: [guard][view][guard][view]... */
const GUARD = 32;
const canary = (i: number) => ((i * 151 + 0x3c) & 0xff) | 1;
class Arena {
  readonly bytes: Uint8Array;
  readonly views: Uint8Array[] = [];
  readonly #guards: [number, number][] = [];

  constructor(...lengths: number[]) {
    // Each view starts at a multiple of 4, so Uint32Array cells fit too.
    const total = GUARD + lengths.reduce((s, n) => s + ((n + 3) & ~3) + GUARD, 0);
    this.bytes = new Uint8Array(total);
    for (let i = 0; i < total; i++) this.bytes[i] = canary(i);
    let at = 0;
    for (const n of lengths) {
      this.#guards.push([at, at + GUARD]);
      at += GUARD;
      this.views.push(this.bytes.subarray(at, at + n));
      at += (n + 3) & ~3;
    }
    this.#guards.push([at, total]);
    // Padding after short views is guard too.
    for (const v of this.views) {
      const end = v.byteOffset + v.byteLength;
      const padEnd = v.byteOffset + ((v.byteLength + 3) & ~3);
      if (padEnd > end) this.#guards.push([end, padEnd]);
    }
  }

  /** A Uint32Array cell over view `i` (which must be 4 bytes long). */
  cell(i: number, value: number): Uint32Array {
    const v = this.views[i];
    const cell = new Uint32Array(v.buffer, v.byteOffset, 1);
    cell[0] = value;
    return cell;
  }

  assertGuards(what: string): void {
    for (const [from, to] of this.#guards) {
      for (let i = from; i < to; i++) {
        if (this.bytes[i] !== canary(i)) assert.fail(`${what}: guard byte ${i} changed`);
      }
    }
  }
}

const BAD_FDS: [unknown, ErrorClass][] = [
  [-1, RangeError],
  [1.5, RangeError],
  [NaN, RangeError],
  [Infinity, RangeError],
  [2 ** 31, RangeError],
  [2 ** 32 + 1, RangeError],
  ["3", TypeError],
  [3n, TypeError],
  [null, TypeError],
  [undefined, TypeError],
  [{ valueOf: () => 3 }, TypeError],
];

/** Values that are not a Uint8Array, though some look like one. */
function notBytes(): [string, unknown][] {
  const fake = Object.create(Uint8Array.prototype);
  return [
    ["string", "abcdefghijklmnopqrstuvwxyz0123456789"],
    ["Array", new Array(128).fill(0)],
    ["Uint16Array", new Uint16Array(64)],
    ["Int8Array", new Int8Array(128)],
    ["Uint8ClampedArray", new Uint8ClampedArray(128)],
    ["ArrayBuffer", new ArrayBuffer(128)],
    ["DataView", new DataView(new ArrayBuffer(128))],
    ["object with byteLength", { byteLength: 128, length: 128 }],
    ["Uint8Array.prototype object", fake],
    ["Proxy of a Uint8Array", new Proxy(new Uint8Array(128), {})],
    ["number", 128],
  ];
}

// ---------------------------------------------------------------------------
// Descriptors

Deno.test("every fd argument rejects -1, 1.5, NaN, '3', 2**31 ... before libc, naming fd", () => {
  const fx = fixture();
  try {
    const buf = new Uint8Array(16);
    const cell = () => new Uint32Array([16]);
    const calls: [string, (fd: Any) => unknown][] = [
      ["bind", (fd) => bind(fd, loop4())],
      ["listen", (fd) => listen(fd, 1)],
      ["accept", (fd) => accept(fd)],
      ["accept (addr)", (fd) => accept(fd, new Uint8Array(16), cell())],
      ["accept4", (fd) => accept4(fd, null, null, SOCK_NONBLOCK)],
      ["connect", (fd) => connect(fd, loop4(1))],
      ["read", (fd) => read(fd, buf)],
      ["write", (fd) => write(fd, buf)],
      ["send", (fd) => send(fd, buf, 16, 0)],
      ["recv", (fd) => recv(fd, buf, 16, 0)],
      ["sendto", (fd) => sendto(fd, buf, 16, 0, loop4(9))],
      ["recvfrom", (fd) => recvfrom(fd, buf, 16, 0, new Uint8Array(16), cell())],
      ["close", (fd) => close(fd)],
      ["shutdown", (fd) => shutdown(fd, SHUT_RDWR)],
      ["setsockopt", (fd) => setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(4))],
      [
        "getsockopt",
        (fd) => getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(4), new Uint32Array([4])),
      ],
      ["getsockname", (fd) => getsockname(fd, new Uint8Array(16), cell())],
      ["getpeername", (fd) => getpeername(fd, new Uint8Array(16), cell())],
      ["fcntl", (fd) => fcntl(fd, F_GETFL)],
    ];
    for (const [what, call] of calls) {
      for (const [fd, cls] of BAD_FDS) rejects(() => call(fd), cls, "fd", `${what}(${String(fd)})`);
    }
  } finally {
    fx.close();
  }
});

Deno.test("a closed descriptor is EBADF, as a SocketError naming the call", () => {
  const fx = fixture();
  const fd = socket(AF_INET, SOCK_STREAM, 0);
  close(fd);
  try {
    // Nothing else runs on this thread meanwhile, so the number stays free.
    socketError(() => fcntl(fd, F_GETFD), "EBADF", "fcntl");
    const buf = new Uint8Array(16);
    const cell = () => new Uint32Array([16]);
    socketError(() => bind(fd, loop4()), "EBADF", "bind");
    socketError(() => listen(fd, 1), "EBADF", "listen");
    socketError(() => accept(fd), "EBADF", "accept");
    socketError(() => accept4(fd, null, null, SOCK_NONBLOCK), "EBADF", "accept4");
    socketError(() => connect(fd, loop4(1)), "EBADF", "connect");
    socketError(() => read(fd, buf), "EBADF", "read");
    socketError(() => write(fd, buf), "EBADF", "write");
    socketError(() => send(fd, buf), "EBADF", "send");
    socketError(() => recv(fd, buf), "EBADF", "recv");
    socketError(() => sendto(fd, buf, 16, 0, loop4(9)), "EBADF", "sendto");
    socketError(() => recvfrom(fd, buf, 16, 0), "EBADF", "recvfrom");
    socketError(() => shutdown(fd, SHUT_RDWR), "EBADF", "shutdown");
    socketError(
      () => setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(4)),
      "EBADF",
      "setsockopt",
    );
    socketError(
      () => getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(4), new Uint32Array([4])),
      "EBADF",
      "getsockopt",
    );
    socketError(() => getsockname(fd, new Uint8Array(16), cell()), "EBADF", "getsockname");
    socketError(() => getpeername(fd, new Uint8Array(16), cell()), "EBADF", "getpeername");
    socketError(() => fcntl(fd, F_SETFL, O_NONBLOCK), "EBADF", "fcntl");
    socketError(() => close(fd), "EBADF", "close");
    // poll reports a closed descriptor in revents, not as an error.
    const set = pollfd.encode({ fd, events: POLLIN });
    assert.equal(poll(set, 1, 0), 1);
    assert.equal(pollfd.decode(set).revents, 0x20 /* POLLNVAL */);
  } finally {
    fx.close();
  }
});

/**
 * The lowest free descriptor number: the kernel hands out the lowest free
 * number, so a pipe made and closed at once shows it.
 */
function lowestFreeFds(): [number, number] {
  const p = new Int32Array(2);
  pipe2(p, 0);
  close(p[0]);
  close(p[1]);
  return [p[0], p[1]];
}

/**
 * Opens `path` through Deno and returns the descriptor number it got (Deno
 * keeps descriptors private; reading /proc/self/fd needs --allow-all). The
 * number is predicted as the lowest free one, then proved: a marker written
 * through it with the FFI layer must appear in the file.
 */
function openFileFd(path: string): { fd: number; file: Deno.FsFile } {
  const [fd] = lowestFreeFds();
  const file = Deno.openSync(path, { read: true, write: true, truncate: true });
  const marker = new TextEncoder().encode(`marker-${fd}-${Date.now()}`);
  try {
    assert.equal(write(fd, marker), marker.length);
  } catch (e) {
    file.close();
    throw new Error(`descriptor ${fd} is not the file just opened: ${e}`);
  }
  if (Deno.readTextFileSync(path) !== new TextDecoder().decode(marker)) {
    file.close();
    throw new Error(`descriptor ${fd} is not the file just opened`);
  }
  Deno.truncateSync(path, 0);
  return { fd, file };
}

Deno.test("a pipe or a file is ENOTSOCK for every socket call; read/write/fcntl still work on them", async () => {
  const fds = new Int32Array(2);
  pipe2(fds, O_NONBLOCK);
  const path = await Deno.makeTempFile({ prefix: "badinput_" });
  const { fd: fileFd, file } = openFileFd(path);
  try {
    for (
      const [what, fd] of [["pipe", fds[0]], ["pipe (write end)", fds[1]], [
        "file",
        fileFd,
      ]] as const
    ) {
      const buf = new Uint8Array(16);
      const cell = () => new Uint32Array([16]);
      socketError(() => bind(fd, loop4()), "ENOTSOCK", "bind");
      socketError(() => listen(fd, 1), "ENOTSOCK", "listen");
      socketError(() => accept(fd), "ENOTSOCK", "accept");
      socketError(() => accept4(fd, null, null, SOCK_NONBLOCK), "ENOTSOCK", "accept4");
      socketError(() => connect(fd, loop4(1)), "ENOTSOCK", "connect");
      socketError(() => send(fd, buf), "ENOTSOCK", "send");
      socketError(() => recv(fd, buf), "ENOTSOCK", "recv");
      socketError(() => sendto(fd, buf, 16, 0, loop4(9)), "ENOTSOCK", "sendto");
      socketError(() => recvfrom(fd, buf, 16, 0), "ENOTSOCK", "recvfrom");
      socketError(() => shutdown(fd, SHUT_RDWR), "ENOTSOCK", "shutdown");
      socketError(
        () => setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(4)),
        "ENOTSOCK",
        "setsockopt",
      );
      socketError(
        () => getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(4), new Uint32Array([4])),
        "ENOTSOCK",
        "getsockopt",
      );
      socketError(() => getsockname(fd, new Uint8Array(16), cell()), "ENOTSOCK", "getsockname");
      socketError(() => getpeername(fd, new Uint8Array(16), cell()), "ENOTSOCK", "getpeername");
      assert.ok(fcntl(fd, F_GETFL) >= 0, what);
    }
    // read/write are not socket calls: they work on both.
    assert.equal(write(fds[1], new Uint8Array([7, 8, 9])), 3);
    const got = new Uint8Array(8);
    assert.equal(read(fds[0], got), 3);
    assert.deepEqual([...got.subarray(0, 3)], [7, 8, 9]);
    socketError(() => read(fds[0], got), "EAGAIN", "read");
    assert.equal(write(fileFd, new TextEncoder().encode("file!")), 5);
    assert.ok((await Deno.readTextFile(path)).endsWith("file!"));
  } finally {
    file.close();
    closeAll(fds[0], fds[1]);
    await Deno.remove(path);
  }
});

// ---------------------------------------------------------------------------
// Buffers

Deno.test("every buffer argument rejects non-Uint8Arrays (string, Array, Uint16Array, DataView, fakes), naming it", () => {
  const fx = fixture();
  try {
    const ok = () => new Uint8Array(16);
    const cell = () => new Uint32Array([16]);
    const calls: [string, string, (b: Any) => unknown][] = [
      ["bind", "addr", (b) => bind(fx.udp, b)],
      ["connect", "addr", (b) => connect(fx.udp, b)],
      ["read", "buf", (b) => read(fx.a, b)],
      ["write", "buf", (b) => write(fx.a, b)],
      ["send", "buf", (b) => send(fx.a, b)],
      ["recv", "buf", (b) => recv(fx.a, b)],
      ["read (n)", "buf", (b) => read(fx.a, b, 4)],
      ["write (n)", "buf", (b) => write(fx.a, b, 4)],
      ["sendto", "buf", (b) => sendto(fx.udp, b, 4, 0, loop4(9))],
      ["sendto", "addr", (b) => sendto(fx.udp, ok(), 4, 0, b)],
      ["recvfrom", "buf", (b) => recvfrom(fx.udp, b, 4, 0)],
      ["recvfrom", "addr", (b) => recvfrom(fx.udp, ok(), 4, 0, b, cell())],
      ["accept", "addr", (b) => accept(fx.listener, b, cell())],
      ["accept4", "addr", (b) => accept4(fx.listener, b, cell(), 0)],
      ["setsockopt", "optval", (b) => setsockopt(fx.udp, SOL_SOCKET, SO_RCVBUF, b)],
      [
        "getsockopt",
        "optval",
        (b) => getsockopt(fx.udp, SOL_SOCKET, SO_TYPE, b, new Uint32Array([4])),
      ],
      ["getsockname", "addr", (b) => getsockname(fx.udp, b, cell())],
      ["getpeername", "addr", (b) => getpeername(fx.a, b, cell())],
      ["poll", "fds", (b) => poll(b, 1, 0)],
    ];
    for (const [what, arg, call] of calls) {
      for (const [kind, value] of notBytes()) {
        rejects(() => call(value), TypeError, arg, `${what} with ${kind} as ${arg}`);
      }
    }
  } finally {
    fx.close();
  }
});

Deno.test("null where a buffer is required is a TypeError naming it (never a NULL pointer for the kernel)", () => {
  const fx = fixture();
  try {
    const cell = () => new Uint32Array([16]);
    rejects(() => bind(fx.udp, bad(null)), TypeError, "addr", "bind");
    rejects(() => connect(fx.udp, bad(null)), TypeError, "addr", "connect");
    rejects(() => read(fx.a, bad(null)), TypeError, "buf", "read");
    rejects(() => read(fx.a, bad(null), 0), TypeError, "buf", "read n=0");
    rejects(() => write(fx.a, bad(null)), TypeError, "buf", "write");
    rejects(() => send(fx.a, bad(null)), TypeError, "buf", "send");
    rejects(() => recv(fx.a, bad(null)), TypeError, "buf", "recv");
    rejects(() => sendto(fx.udp, bad(null), 0, 0, loop4(9)), TypeError, "buf", "sendto");
    rejects(() => recvfrom(fx.udp, bad(null), 0, 0), TypeError, "buf", "recvfrom");
    rejects(
      () => setsockopt(fx.udp, SOL_SOCKET, SO_RCVBUF, bad(null)),
      TypeError,
      "optval",
      "setsockopt",
    );
    rejects(() => poll(bad(null), 0, 0), TypeError, "fds", "poll");
    // getsockopt/getsockname/getpeername: both pointers are required in C.
    rejects(
      () => getsockopt(fx.udp, SOL_SOCKET, SO_TYPE, bad(null), bad(null)),
      TypeError,
      "optval",
      "getsockopt",
    );
    rejects(
      () => getsockopt(fx.udp, SOL_SOCKET, SO_TYPE, new Uint8Array(4), bad(null)),
      TypeError,
      "optlen",
      "getsockopt",
    );
    rejects(() => getsockname(fx.udp, bad(null), bad(null)), TypeError, "addr", "getsockname");
    rejects(
      () => getsockname(fx.udp, new Uint8Array(16), bad(null)),
      TypeError,
      "addrlen",
      "getsockname",
    );
    rejects(() => getpeername(fx.a, bad(null), bad(null)), TypeError, "addr", "getpeername");
    rejects(
      () => getsockname(fx.udp, bad(undefined), bad(undefined)),
      TypeError,
      "addr",
      "getsockname",
    );
    // accept/recvfrom: address and cell both or neither.
    rejects(() => accept(fx.listener, null, cell()), TypeError, "addr", "accept");
    rejects(() => accept(fx.listener, new Uint8Array(16), null), TypeError, "addrlen", "accept");
    rejects(
      () => recvfrom(fx.udp, new Uint8Array(4), 4, 0, null, cell()),
      TypeError,
      "addr",
      "recvfrom",
    );
    rejects(
      () => recvfrom(fx.udp, new Uint8Array(4), 4, 0, new Uint8Array(16), null),
      TypeError,
      "addrlen",
      "recvfrom",
    );
    // socketpair/pipe2 out-arrays.
    for (
      const sv of [
        null,
        undefined,
        [0, 0],
        new Uint32Array(2),
        new Int32Array(1),
        new Int16Array(4),
        new Uint8Array(8),
      ]
    ) {
      rejects(() => socketpair(AF_UNIX, SOCK_STREAM, 0, bad(sv)), TypeError, "sv", "socketpair");
      rejects(() => pipe2(bad(sv), 0), TypeError, "fds", "pipe2");
    }
  } finally {
    fx.close();
  }
});

// ---------------------------------------------------------------------------
// Lengths

Deno.test("every length argument rejects -1, byteLength+1, 2**32, NaN, 1.5, '4', 4n, naming it", () => {
  const fx = fixture();
  try {
    const buf = new Uint8Array(16);
    const BAD_LENGTHS: [unknown, ErrorClass][] = [
      [-1, RangeError],
      [17, RangeError], // byteLength + 1
      [2 ** 32, RangeError],
      [2 ** 32 + 4, RangeError], // would wrap to 4 in a u32
      [2 ** 53, RangeError],
      [NaN, RangeError],
      [1.5, RangeError],
      [Infinity, RangeError],
      [-0.5, RangeError],
      ["4", TypeError],
      [4n, TypeError],
      [null, TypeError],
      [{ valueOf: () => 4 }, TypeError],
    ];
    const calls: [string, string, (n: Any) => unknown][] = [
      ["bind", "addrlen", (n) => bind(fx.udp, buf, n)],
      ["connect", "addrlen", (n) => connect(fx.udp, buf, n)],
      ["read", "n", (n) => read(fx.a, buf, n)],
      ["write", "n", (n) => write(fx.a, buf, n)],
      ["send", "n", (n) => send(fx.a, buf, n, 0)],
      ["recv", "n", (n) => recv(fx.a, buf, n, 0)],
      ["sendto", "n", (n) => sendto(fx.udp, buf, n, 0, loop4(9))],
      ["sendto", "addrlen", (n) => sendto(fx.udp, buf, 1, 0, loop4(9), n)],
      ["recvfrom", "n", (n) => recvfrom(fx.udp, buf, n, 0)],
      ["setsockopt", "optlen", (n) => setsockopt(fx.udp, SOL_SOCKET, SO_RCVBUF, buf, n)],
    ];
    for (const [what, arg, call] of calls) {
      for (const [n, cls] of BAD_LENGTHS) {
        rejects(() => call(n), cls, arg, `${what}(${arg}=${String(n)})`);
      }
    }
    // sendto with no address takes no address length.
    rejects(() => sendto(fx.udp, buf, 1, 0, null, 16), RangeError, "addrlen", "sendto(null, 16)");
    // An empty buffer takes only n = 0.
    rejects(() => read(fx.a, new Uint8Array(0), 1), RangeError, "n", "read into empty");
    // A detached buffer has byteLength 0.
    const detached = new Uint8Array(32);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    assert.equal(detached.byteLength, 0);
    rejects(() => read(fx.a, detached, 1), RangeError, "n", "read into detached");
    rejects(() => recv(fx.a, detached, 32), RangeError, "n", "recv into detached");
  } finally {
    fx.close();
  }
});

Deno.test("poll/pollAsync: nfds must be an integer whose entries fit in fds", async () => {
  const fds = pollfd.encode({ fd: -1, events: POLLIN });
  for (
    const [nfds, cls] of [
      [-1, RangeError],
      [2, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [2 ** 32, RangeError],
      ["1", TypeError],
      [undefined, TypeError],
      [null, TypeError],
      [1n, TypeError],
    ] as [unknown, ErrorClass][]
  ) {
    rejects(() => poll(fds, bad(nfds), 0), cls, "nfds", `poll(nfds=${String(nfds)})`);
    await rejectsAsync(
      () => pollAsync(fds, bad(nfds), 0),
      cls,
      "nfds",
      `pollAsync(nfds=${String(nfds)})`,
    );
  }
  for (
    const [timeout, cls] of [[1.5, RangeError], [2 ** 31, RangeError], [NaN, RangeError], [
      "0",
      TypeError,
    ], [undefined, TypeError]] as [unknown, ErrorClass][]
  ) {
    rejects(() => poll(fds, 1, bad(timeout)), cls, "timeout", `poll(timeout=${String(timeout)})`);
    await rejectsAsync(
      () => pollAsync(fds, 1, bad(timeout)),
      cls,
      "timeout",
      `pollAsync(timeout=${String(timeout)})`,
    );
  }
  for (const [kind, value] of notBytes()) {
    await rejectsAsync(
      () => pollAsync(bad(value), 1, 0),
      TypeError,
      "fds",
      `pollAsync with ${kind}`,
    );
  }
  // The good call still works: an fd of -1 is ignored, nothing is ready.
  assert.equal(poll(fds, 1, 0), 0);
  assert.equal(await pollAsync(fds, 1, 0), 0);
  assert.equal(poll(new Uint8Array(0), 0, 0), 0);
});

Deno.test("length cells: capacity larger than the buffer, wrong cell types, naming addrlen/optlen", () => {
  const fx = fixture();
  try {
    const addr = new Uint8Array(16);
    const buf = new Uint8Array(8);
    const cellCalls: [string, string, (cell: Any, b?: Uint8Array) => unknown][] = [
      ["accept", "addrlen", (c, b = addr) => accept(fx.listener, b, c)],
      ["accept4", "addrlen", (c, b = addr) => accept4(fx.listener, b, c, 0)],
      ["recvfrom", "addrlen", (c, b = addr) => recvfrom(fx.udp, buf, 8, 0, b, c)],
      ["getsockname", "addrlen", (c, b = addr) => getsockname(fx.udp, b, c)],
      ["getpeername", "addrlen", (c, b = addr) => getpeername(fx.a, b, c)],
      ["getsockopt", "optlen", (c, b = addr) => getsockopt(fx.udp, SOL_SOCKET, SO_TYPE, b, c)],
    ];
    for (const [what, arg, call] of cellCalls) {
      // Capacity one byte more than the buffer: the kernel could write past it.
      rejects(() => call(new Uint32Array([17])), RangeError, arg, `${what}: capacity 17 > 16`);
      rejects(
        () => call(new Uint32Array([0xffffffff])),
        RangeError,
        arg,
        `${what}: capacity 2**32-1`,
      );
      rejects(
        () => call(new Uint32Array([4]), new Uint8Array(3)),
        RangeError,
        arg,
        `${what}: capacity 4 > 3`,
      );
      // The cell is a Uint32Array of at least one element, nothing else.
      for (
        const cell of [
          [16],
          new Uint32Array(0),
          new Int32Array([16]),
          new Uint16Array([16, 0]),
          new BigUint64Array([16n]),
          new Uint8Array(4),
          16,
          "16",
          Object.create(Uint32Array.prototype),
        ]
      ) {
        rejects(
          () => call(cell),
          TypeError,
          arg,
          `${what}: cell ${Object.prototype.toString.call(cell)}`,
        );
      }
    }
  } finally {
    fx.close();
  }
});

// ---------------------------------------------------------------------------
// Other integer arguments

Deno.test("domain/type/protocol, backlog, flags, how, level, optname, arg reject non-ints, naming them", () => {
  const fx = fixture();
  try {
    const BAD_INTS: [unknown, ErrorClass][] = [
      [1.5, RangeError],
      [NaN, RangeError],
      [2 ** 31, RangeError],
      [-(2 ** 31) - 1, RangeError],
      ["1", TypeError],
      [1n, TypeError],
      [null, TypeError],
    ];
    const buf = new Uint8Array(4);
    const calls: [string, string, (v: Any) => unknown][] = [
      ["socket", "domain", (v) => socket(v, SOCK_STREAM, 0)],
      ["socket", "type", (v) => socket(AF_INET, v, 0)],
      ["socket", "protocol", (v) => socket(AF_INET, SOCK_STREAM, v)],
      ["socketpair", "domain", (v) => socketpair(v, SOCK_STREAM, 0, new Int32Array(2))],
      ["socketpair", "type", (v) => socketpair(AF_UNIX, v, 0, new Int32Array(2))],
      ["socketpair", "protocol", (v) => socketpair(AF_UNIX, SOCK_STREAM, v, new Int32Array(2))],
      ["listen", "backlog", (v) => listen(fx.listener, v)],
      ["accept4", "flags", (v) => accept4(fx.listener, null, null, v)],
      ["send", "flags", (v) => send(fx.a, buf, 1, v)],
      ["recv", "flags", (v) => recv(fx.a, buf, 1, v)],
      ["sendto", "flags", (v) => sendto(fx.udp, buf, 1, v, loop4(9))],
      ["recvfrom", "flags", (v) => recvfrom(fx.udp, buf, 1, v)],
      ["shutdown", "how", (v) => shutdown(fx.a, v)],
      ["setsockopt", "level", (v) => setsockopt(fx.udp, v, SO_RCVBUF, buf)],
      ["setsockopt", "optname", (v) => setsockopt(fx.udp, SOL_SOCKET, v, buf)],
      ["getsockopt", "level", (v) => getsockopt(fx.udp, v, SO_TYPE, buf, new Uint32Array([4]))],
      [
        "getsockopt",
        "optname",
        (v) => getsockopt(fx.udp, SOL_SOCKET, v, buf, new Uint32Array([4])),
      ],
      ["fcntl", "cmd", (v) => fcntl(fx.a, v)],
      ["fcntl", "arg", (v) => fcntl(fx.a, F_SETFL, v)],
      ["pipe2", "flags", (v) => pipe2(new Int32Array(2), v)],
    ];
    for (const [what, arg, call] of calls) {
      for (const [v, cls] of BAD_INTS) {
        rejects(() => call(v), cls, arg, `${what}(${arg}=${String(v)})`);
      }
    }
    // In range but refused by the kernel: a SocketError, not a crash.
    socketError(() => socket(12345, SOCK_STREAM, 0), "EAFNOSUPPORT", "socket");
    socketError(() => shutdown(fx.a, 7), "EINVAL", "shutdown");
    socketError(
      () => setsockopt(fx.udp, SOL_SOCKET, SO_RCVBUF, new Uint8Array(2)),
      "EINVAL",
      "setsockopt",
    );
  } finally {
    fx.close();
  }
});

Deno.test("-0 is 0 for every integer argument: fd, lengths, flags, levels, counts", () => {
  // Deno's FFI refuses -0 for i32/u32 with "Invalid FFI i32 type, expected
  // integer", naming no argument; the checks must hand libc +0 instead, so
  // every call with -0 behaves exactly like the same call with 0.
  const fx = fixture();
  const pair = new Int32Array(2);
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair);
  const spare = socket(AF_INET, SOCK_DGRAM, 0);
  try {
    const buf = new Uint8Array(16);
    const udpName = new Uint8Array(16);
    getsockname(fx.udp, udpName, new Uint32Array([16]));
    const fds = pollfd.encode({ fd: -1, events: POLLIN });
    const opened = (fd: number) => {
      close(fd);
      return "a descriptor";
    };
    const calls: [string, (z: number) => unknown][] = [
      // fd (0 is stdin: only calls that neither change nor block on it)
      ["fcntl(fd)", (z) => fcntl(z, F_GETFD)],
      ["read(fd, n=0)", (z) => read(z, buf, 0)],
      ["getsockopt(fd)", (z) => getsockopt(z, SOL_SOCKET, SO_TYPE, buf, new Uint32Array([4]))],
      ["getsockname(fd)", (z) => getsockname(z, buf, new Uint32Array([16]))],
      // lengths
      ["read(n)", (z) => read(fx.b, buf, z)],
      ["write(n)", (z) => write(fx.a, buf, z)],
      ["send(n)", (z) => send(fx.a, buf, z, 0)],
      ["recv(n)", (z) => recv(fx.b, buf, z, 0)],
      ["sendto(n)", (z) => sendto(fx.udp, buf, z, 0, udpName)],
      ["recvfrom(n)", (z) => recvfrom(fx.udp, buf, z, 0)],
      ["bind(addrlen)", (z) => bind(spare, loop4(), z)],
      ["connect(addrlen)", (z) => connect(spare, loop4(9), z)],
      ["sendto(null, addrlen)", (z) => sendto(spare, buf, 1, 0, null, z)],
      ["setsockopt(optlen)", (z) => setsockopt(fx.udp, SOL_SOCKET, SO_RCVBUF, buf, z)],
      ["poll(nfds)", (z) => poll(fds, z, 0)],
      ["poll(timeout)", (z) => poll(fds, 1, z)],
      // flags
      ["send(flags)", (z) => send(pair[0], buf, 1, z)],
      ["recv(flags)", (z) => recv(pair[1], buf, 1, z)],
      ["sendto(flags)", (z) => sendto(fx.udp, buf, 1, z, udpName)],
      [
        "recvfrom(flags)",
        (z) => recvfrom(fx.udp, buf, 16, z, new Uint8Array(16), new Uint32Array([16])),
      ],
      ["accept4(flags)", (z) => accept4(fx.listener, null, null, z)],
      ["pipe2(flags)", (z) => {
        const p = new Int32Array(2);
        pipe2(p, z);
        return [opened(p[0]), opened(p[1])];
      }],
      ["fcntl(arg)", (z) => fcntl(pair[0], F_SETFD, z)],
      // levels, option names, domain/type/protocol, backlog, how
      ["getsockopt(level)", (z) => getsockopt(fx.udp, z, SO_TYPE, buf, new Uint32Array([16]))],
      ["getsockopt(optname)", (z) => getsockopt(fx.udp, SOL_SOCKET, z, buf, new Uint32Array([4]))],
      ["setsockopt(level)", (z) => setsockopt(fx.udp, z, SO_RCVBUF, new Uint8Array(4))],
      ["socket(protocol)", (z) => opened(socket(AF_INET, SOCK_DGRAM, z))],
      ["socket(domain)", (z) => opened(socket(z, SOCK_DGRAM, 0))],
      ["socket(type)", (z) => opened(socket(AF_INET, z, 0))],
      ["socketpair(protocol)", (z) => {
        const p = new Int32Array(2);
        socketpair(AF_UNIX, SOCK_STREAM, z, p);
        return [opened(p[0]), opened(p[1])];
      }],
      ["listen(backlog)", (z) => listen(fx.listener, z)],
      ["shutdown(how)", (z) => shutdown(pair[1], z)],
    ];
    const outcome = (fn: () => unknown): string => {
      try {
        return `returned ${JSON.stringify(fn() ?? null)}`;
      } catch (e) {
        // A TypeError or RangeError here is the bug: let it fail the test.
        if (e instanceof SocketError) return `SocketError ${e.code}`;
        throw e;
      }
    };
    for (const [what, call] of calls) {
      const negative = outcome(() => call(-0));
      const positive = outcome(() => call(0));
      assert.equal(negative, positive, `${what}: -0 and 0 differ`);
    }
    // errno values: strerror checks its argument itself, SocketError keeps +0.
    assert.equal(strerror(-0), strerror(0));
    assert.ok(Object.is(new SocketError(-0, "test").errno, 0), "SocketError.errno is +0");
    rejects(() => strerror(bad("5")), TypeError, "errno", "strerror('5')");
    rejects(() => strerror(1.5), RangeError, "errno", "strerror(1.5)");
    // An integer check that then refuses 0 refuses -0 with the same message.
    rejects(() => fcntl(fx.a, -0), RangeError, "cmd", "fcntl(cmd=-0), which is F_DUPFD");
    assert.throws(() => fcntl(fx.a, -0), (e: Error) => /got 0$/.test(e.message));
  } finally {
    closeAll(pair[0], pair[1], spare);
    fx.close();
  }
});

Deno.test("fcntl with an unsupported command is a RangeError naming cmd; no descriptor is created", () => {
  const fx = fixture();
  try {
    const before = lowestFreeFds();
    // F_DUPFD 0, F_GETLK 5, F_SETLK 6, F_SETOWN 8, F_GETOWN 9, F_SETSIG 10,
    // F_DUPFD_CLOEXEC 1030, F_SETPIPE_SZ 1031, and nonsense.
    for (const cmd of [0, 5, 6, 7, 8, 9, 10, 1030, 1031, 1033, -1, 0x7fffffff]) {
      rejects(() => fcntl(fx.a, cmd), RangeError, "cmd", `fcntl(cmd=${cmd})`);
      rejects(() => fcntl(fx.a, cmd, 100), RangeError, "cmd", `fcntl(cmd=${cmd}, 100)`);
    }
    assert.deepEqual(lowestFreeFds(), before, "F_DUPFD must not have reached the kernel");
    // The supported four still work.
    const flags = fcntl(fx.a, F_GETFL);
    assert.equal(fcntl(fx.a, F_SETFL, flags), 0);
    assert.equal(fcntl(fx.a, F_SETFD, fcntl(fx.a, F_GETFD)), 0);
  } finally {
    fx.close();
  }
});

// ---------------------------------------------------------------------------
// Guard bytes: the kernel writes inside the views and nowhere else

Deno.test("guard bytes: read and recv write only inside buf, and only n bytes", () => {
  const fx = fixture();
  try {
    const payload = new Uint8Array(100).map((_, i) => 200 - i);
    assert.equal(write(fx.b, payload), 100);
    const arena = new Arena(16, 7);
    const [view, odd] = arena.views;

    assert.equal(read(fx.a, view), 16);
    assert.deepEqual(view, payload.subarray(0, 16));
    arena.assertGuards("read 16");

    const before = view.slice();
    assert.equal(read(fx.a, view, 5), 5);
    assert.deepEqual(view.subarray(0, 5), payload.subarray(16, 21));
    assert.deepEqual(view.subarray(5), before.subarray(5), "bytes past n untouched");
    arena.assertGuards("read n=5");

    assert.equal(recv(fx.a, odd), 7);
    assert.deepEqual(odd, payload.subarray(21, 28));
    arena.assertGuards("recv into an odd-length, unaligned view");
    assert.equal(recv(fx.a, view, 3, 0), 3);
    arena.assertGuards("recv n=3");

    // Rejected lengths change nothing and consume nothing.
    const snapshot = arena.bytes.slice();
    assert.throws(() => read(fx.a, view, 17), RangeError);
    assert.throws(() => recv(fx.a, odd, 8), RangeError);
    assert.throws(() => recv(fx.a, view, 2 ** 32 + 1), RangeError);
    assert.deepEqual(arena.bytes, snapshot);

    // A redefined byteLength cannot widen the write.
    const liar = arena.views[1];
    Object.defineProperty(liar, "byteLength", { value: 64 });
    assert.equal(read(fx.a, liar), 7);
    assert.throws(() => read(fx.a, liar, 8), RangeError);
    arena.assertGuards("read into a view with a redefined byteLength");

    // The rest is all there, in order.
    const rest = new Uint8Array(200);
    assert.equal(read(fx.a, rest), 100 - 38);
    assert.deepEqual(rest.subarray(0, 62), payload.subarray(38));
  } finally {
    fx.close();
  }
});

Deno.test("guard bytes: recv with MSG_TRUNC reports the datagram's size but writes only n bytes", () => {
  const fx = fixture();
  const b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  try {
    bind(b, loop4());
    const name = new Uint8Array(16);
    getsockname(b, name, new Uint32Array([16]));
    const datagram = new Uint8Array(1000).fill(0x77);
    assert.equal(sendto(fx.udp, datagram, 1000, 0, name), 1000);
    const arena = new Arena(10);
    const pfd = pollfd.encode({ fd: b, events: POLLIN });
    assert.equal(poll(pfd, 1, 2000), 1);
    assert.equal(recv(b, arena.views[0], 10, MSG_TRUNC), 1000);
    assert.ok(arena.views[0].every((x) => x === 0x77));
    arena.assertGuards("recv MSG_TRUNC");
  } finally {
    closeAll(b);
    fx.close();
  }
});

Deno.test("guard bytes: recvfrom truncates an IPv6 source address to the cell's capacity", () => {
  const a = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const b = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  try {
    const lo = new Uint8Array(16);
    lo[15] = 1;
    bind(a, sockaddr_in6.encode({ sin6_family: AF_INET6, sin6_addr: lo }));
    bind(b, sockaddr_in6.encode({ sin6_family: AF_INET6, sin6_addr: lo }));
    const bName = new Uint8Array(28);
    getsockname(b, bName, new Uint32Array([28]));
    for (let i = 0; i < 2; i++) sendto(a, new Uint8Array([1, 2, 3, 4, 5]), 5, 0, bName);

    // [guard][buf 3][guard][addr 16][guard][cell 4][guard]
    const arena = new Arena(3, 16, 4);
    const [buf, addr] = arena.views;
    const cell = arena.cell(2, 16);
    const pfd = pollfd.encode({ fd: b, events: POLLIN });
    assert.equal(poll(pfd, 1, 2000), 1);
    assert.equal(recvfrom(b, buf, 3, 0, addr, cell), 3, "datagram truncated to n");
    assert.deepEqual([...buf], [1, 2, 3]);
    assert.equal(cell[0], 28, "the cell reports the full address length");
    const aName = new Uint8Array(28);
    getsockname(a, aName, new Uint32Array([28]));
    assert.deepEqual(addr, aName.subarray(0, 16), "the first 16 bytes of the source address");
    arena.assertGuards("recvfrom into a short address buffer");

    // Rejected: a cell claiming more than the address buffer holds.
    cell[0] = 17;
    const snapshot = arena.bytes.slice();
    assert.throws(() => recvfrom(b, buf, 3, 0, addr, cell), RangeError);
    assert.deepEqual(arena.bytes, snapshot);
    // The second datagram is still there.
    cell[0] = 16;
    assert.equal(recvfrom(b, buf, 3, 0, addr, cell), 3);
    arena.assertGuards("second recvfrom");
  } finally {
    closeAll(a, b);
  }
});

Deno.test("guard bytes: getsockname/getpeername write at most the cell's capacity", () => {
  const fx = fixture();
  const v6 = socket(AF_INET6, SOCK_STREAM, 0);
  try {
    const lo = new Uint8Array(16);
    lo[15] = 1;
    bind(v6, sockaddr_in6.encode({ sin6_family: AF_INET6, sin6_addr: lo }));
    for (const capacity of [0, 1, 2, 8, 27]) {
      const arena = new Arena(capacity, 4);
      const cell = arena.cell(1, capacity);
      const before = arena.views[0].slice();
      getsockname(v6, arena.views[0], cell);
      assert.equal(cell[0], 28, `capacity ${capacity}: full length reported`);
      arena.assertGuards(`getsockname capacity ${capacity}`);
      if (capacity >= 2) assert.equal(arena.views[0][0] | (arena.views[0][1] << 8), AF_INET6);
      if (capacity === 0) assert.deepEqual(arena.views[0], before);
    }
    // getpeername on a socketpair end: AF_UNIX, 2 bytes.
    const arena = new Arena(110, 4);
    const cell = arena.cell(1, 110);
    getpeername(fx.a, arena.views[0], cell);
    assert.equal(cell[0], 2);
    arena.assertGuards("getpeername");
    // Not connected: ENOTCONN, nothing written.
    const snapshot = arena.bytes.slice();
    socketError(() => getpeername(v6, arena.views[0], cell), "ENOTCONN", "getpeername");
    assert.deepEqual(arena.bytes, snapshot);
  } finally {
    closeAll(v6);
    fx.close();
  }
});

Deno.test("guard bytes: getsockopt writes at most optlen bytes (int options and TCP_INFO)", () => {
  const fx = fixture();
  const tcp = socket(AF_INET, SOCK_STREAM, 0);
  try {
    for (const capacity of [0, 1, 2, 3, 4, 64]) {
      const arena = new Arena(capacity, 4);
      const cell = arena.cell(1, capacity);
      const before = arena.views[0].slice();
      getsockopt(fx.udp, SOL_SOCKET, SO_TYPE, arena.views[0], cell);
      arena.assertGuards(`SO_TYPE into ${capacity} bytes`);
      assert.equal(cell[0], Math.min(capacity, 4));
      if (capacity >= 4) {
        assert.equal(
          new DataView(arena.bytes.buffer, arena.views[0].byteOffset, 4).getInt32(0, true),
          SOCK_DGRAM,
        );
        assert.deepEqual(
          arena.views[0].subarray(4),
          before.subarray(4),
          "bytes past the int untouched",
        );
      }
    }
    // TCP_INFO is a large struct: the kernel copies min(optlen, sizeof).
    const arena = new Arena(16, 4);
    const cell = arena.cell(1, 16);
    getsockopt(tcp, IPPROTO_TCP, TCP_INFO, arena.views[0], cell);
    assert.equal(cell[0], 16);
    arena.assertGuards("TCP_INFO into 16 bytes");
    const big = new Uint8Array(512);
    const bigCell = new Uint32Array([512]);
    getsockopt(tcp, IPPROTO_TCP, TCP_INFO, big, bigCell);
    assert.ok(bigCell[0] > 16 && bigCell[0] < 512, `sizeof(struct tcp_info) = ${bigCell[0]}`);
  } finally {
    closeAll(tcp);
    fx.close();
  }
});

Deno.test("guard bytes: poll cannot be pointed past fds by a redefined byteLength", () => {
  const fx = fixture();
  try {
    // [guard][one pollfd][guard]: the guard after it is made of pollfd
    // entries asking for POLLOUT on a writable socket, so a poll that read
    // past the view would write revents into them.
    const arena = new Arena(8, 64);
    const [set, trap] = arena.views;
    pollfd.encode({ fd: fx.a, events: POLLOUT }, set);
    for (let i = 0; i < 8; i++) pollfd.encode({ fd: fx.b, events: POLLOUT }, trap.subarray(i * 8));
    const trapBefore = trap.slice();
    Object.defineProperty(set, "byteLength", { value: 72 });
    rejects(() => poll(set, 9, 0), RangeError, "nfds", "poll with a lying byteLength");
    assert.deepEqual(trap, trapBefore, "poll wrote past fds");
    arena.assertGuards("poll");
    // The honest call fills only its own revents.
    assert.equal(poll(set, 1, 0), 1);
    assert.equal(pollfd.decode(set).revents & POLLOUT, POLLOUT);
    assert.deepEqual(trap, trapBefore);
  } finally {
    fx.close();
  }
});

Deno.test("guard bytes: socketpair/pipe2 cannot be given a one-element array with a redefined length", () => {
  const arena = new Arena(4, 4);
  const one = new Int32Array(arena.bytes.buffer, arena.views[0].byteOffset, 1);
  Object.defineProperty(one, "length", { value: 2 });
  const before = arena.bytes.slice();
  rejects(() => socketpair(AF_UNIX, SOCK_STREAM, 0, one), TypeError, "sv", "socketpair");
  rejects(() => pipe2(one, 0), TypeError, "fds", "pipe2");
  assert.deepEqual(arena.bytes, before, "the kernel wrote a second descriptor past the array");
  arena.assertGuards("socketpair/pipe2");
  // A two-element view inside the arena is filled exactly.
  const two = new Int32Array(new Arena(8).views[0].buffer, GUARD, 2);
  pipe2(two, 0);
  assert.ok(two[0] >= 0 && two[1] >= 0);
  closeAll(two[0], two[1]);
});
