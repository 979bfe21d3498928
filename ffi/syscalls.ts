/**
 * The C-faithful socket calls: same names, same arguments, same order as the
 * C functions, with two differences that make them safe from TypeScript:
 *
 * - every argument is checked before libc is called (a length is never
 *   larger than its buffer; a `socklen_t *` is a `Uint32Array` cell whose
 *   capacity fits the address buffer), and libc gets exactly the values
 *   that were checked: scalars are primitives (never coerced, so no
 *   `valueOf` of the caller's runs), buffers are measured last, right
 *   before the call, and a length cell is read once into a private copy
 *   that the kernel gets instead of the caller's cell, and
 * - a call that returns -1 throws {@linkcode SocketError} with the errno
 *   read right after it. `EINTR` is retried where POSIX allows it (not for
 *   `close` or `connect`).
 *
 * Descriptors are plain numbers, as in C: these functions own nothing. The
 * ergonomic layer (`mod.ts`) wraps them in objects that close exactly once.
 *
 * @module
 */

import {
  byteLengthOf,
  checkBytes,
  checkFd,
  checkInt,
  checkInt32Array,
  checkInteger,
  checkLength1,
  checkLengthCell,
  MAX_IO_COUNT,
} from "./checks.ts";
import { EINTR, F_GETFD, F_GETFL, F_SETFD, F_SETFL, SOMAXCONN } from "./constants.ts";
import { SocketError } from "./errors.ts";
import { errno, libc } from "./libc.ts";

function fail(syscall: string): never {
  throw new SocketError(errno(), syscall);
}

/** Clamps a transfer length to what Linux moves in one call anyway. */
function ioCount(n: number): number {
  return n > MAX_IO_COUNT ? MAX_IO_COUNT : n;
}

/**
 * `socket(2)`: creates an endpoint for communication.
 *
 * @param domain `AF_INET`, `AF_INET6`, `AF_UNIX`, ...
 * @param type `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW`, ... optionally `| SOCK_NONBLOCK | SOCK_CLOEXEC`.
 * @param protocol 0 for the default, or an `IPPROTO_*` value.
 * @returns the new file descriptor.
 * @throws {SocketError} e.g. `EAFNOSUPPORT`, `EPERM` (raw sockets without `CAP_NET_RAW`).
 * @example
 * ```ts
 * import { AF_INET, close, SOCK_STREAM, socket } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * close(fd);
 * ```
 */
export function socket(domain: number, type: number, protocol = 0): number {
  const fd = libc().socket(
    checkInt(domain, "domain"),
    checkInt(type, "type"),
    checkInt(protocol, "protocol"),
  );
  if (fd === -1) fail("socket");
  return fd;
}

/**
 * `socketpair(2)`: a pair of connected sockets.
 *
 * @param domain `AF_UNIX`.
 * @param type `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_SEQPACKET` (optionally with flags).
 * @param protocol 0.
 * @param sv receives the two descriptors (an `Int32Array` of length ≥ 2).
 * @throws {SocketError} on failure.
 * @throws {TypeError} when `sv` is not an `Int32Array` of two elements.
 * @example
 * ```ts
 * import { AF_UNIX, close, SOCK_STREAM, socketpair } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function socketpair(domain: number, type: number, protocol: number, sv: Int32Array): void {
  const d = checkInt(domain, "domain");
  const t = checkInt(type, "type");
  const p = checkInt(protocol, "protocol");
  checkInt32Array(sv, "sv", 2);
  if (libc().socketpair(d, t, p, sv) === -1) fail("socketpair");
}

/**
 * `bind(2)`: assigns a local address (an encoded `struct sockaddr_*`).
 *
 * @param fd the socket.
 * @param addr the address bytes, e.g. from `sockaddr_in.encode(...)`.
 * @param addrlen bytes of `addr` to pass; defaults to `addr.byteLength`.
 * @throws {SocketError} e.g. `EADDRINUSE`, `EACCES`.
 * @throws {RangeError} when `addrlen` exceeds `addr`.
 * @example
 * ```ts
 * import { AF_INET, bind, close, INADDR_LOOPBACK, SOCK_STREAM, sockaddr_in, socket } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * bind(fd, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));
 * close(fd);
 * ```
 */
export function bind(fd: number, addr: Uint8Array, addrlen?: number): void {
  const f = checkFd(fd);
  const len = checkLength1(addrlen, "addrlen", "addr", addr);
  if (libc().bind(f, addr, len) === -1) fail("bind");
}

/**
 * `listen(2)`: marks a socket as passive, ready to `accept`.
 *
 * @param fd the bound socket.
 * @param backlog queue length for pending connections (the kernel caps it at `somaxconn`).
 * @throws {SocketError} e.g. `EADDRINUSE`, `EOPNOTSUPP`.
 * @example
 * ```ts
 * import { AF_INET, close, listen, SOCK_STREAM, socket } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * listen(fd, 128); // binds an ephemeral port on 0.0.0.0 implicitly
 * close(fd);
 * ```
 */
export function listen(fd: number, backlog: number = SOMAXCONN): void {
  const f = checkFd(fd);
  if (libc().listen(f, checkInt(backlog, "backlog")) === -1) fail("listen");
}

/**
 * `accept(2)`: takes the next pending connection.
 *
 * On a blocking socket this blocks the JavaScript thread until a client
 * connects; the ergonomic layer uses non-blocking sockets and the reactor.
 *
 * @param fd the listening socket.
 * @param addr optional buffer for the peer's address (e.g. 128 bytes of `sockaddr_storage`).
 * @param addrlen in: capacity of `addr`; out: the address's real length.
 * @returns the connected socket's descriptor.
 * @throws {SocketError} e.g. `EAGAIN` on a non-blocking socket with nothing pending, `EMFILE`.
 * @example
 * ```ts
 * import {
 *   accept, AF_INET, bind, close, connect, getsockname, INADDR_LOOPBACK, listen, SOCK_STREAM,
 *   sockaddr_in, socket,
 * } from "./mod.ts";
 * const server = socket(AF_INET, SOCK_STREAM, 0);
 * bind(server, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));
 * listen(server, 1);
 * const name = new Uint8Array(16);
 * getsockname(server, name, new Uint32Array([16]));
 * const client = socket(AF_INET, SOCK_STREAM, 0);
 * connect(client, name); // on loopback the kernel completes it into the backlog
 * const peer = new Uint8Array(128);
 * const len = new Uint32Array([128]);
 * const conn = accept(server, peer, len);
 * if (len[0] !== 16) throw new Error("a sockaddr_in is 16 bytes");
 * for (const fd of [conn, client, server]) close(fd);
 * ```
 */
export function accept(
  fd: number,
  addr: Uint8Array | null = null,
  addrlen: Uint32Array | null = null,
): number {
  return accept4(fd, addr, addrlen, 0);
}

/**
 * `accept4(2)`: `accept` that also sets `SOCK_NONBLOCK`/`SOCK_CLOEXEC` on the new socket.
 *
 * @param fd the listening socket.
 * @param addr optional buffer for the peer's address.
 * @param addrlen in/out length cell (see {@linkcode accept}).
 * @param flags `SOCK_NONBLOCK | SOCK_CLOEXEC` or 0.
 * @returns the new descriptor.
 * @throws {SocketError} on failure (`EAGAIN`, `EMFILE`, `ECONNABORTED`, ...).
 * @example
 * ```ts
 * import {
 *   accept4, AF_INET, bind, close, connect, getsockname, INADDR_LOOPBACK, listen, SOCK_CLOEXEC,
 *   SOCK_NONBLOCK, SOCK_STREAM, sockaddr_in, socket,
 * } from "./mod.ts";
 * const server = socket(AF_INET, SOCK_STREAM, 0);
 * bind(server, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));
 * listen(server, 1);
 * const name = new Uint8Array(16);
 * getsockname(server, name, new Uint32Array([16]));
 * const client = socket(AF_INET, SOCK_STREAM, 0);
 * connect(client, name);
 * const conn = accept4(server, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
 * for (const fd of [conn, client, server]) close(fd);
 * ```
 */
export function accept4(
  fd: number,
  addr: Uint8Array | null,
  addrlen: Uint32Array | null,
  flags: number,
): number {
  const f = checkFd(fd);
  const fl = checkInt(flags, "flags");
  const cell = checkLengthCell(addr, addrlen, "accept");
  const c = libc();
  let r: number;
  do r = c.accept4(f, addr, cell, fl); while (r === -1 && errno() === EINTR);
  // The kernel's answer, as C leaves it: larger than the capacity when the
  // address was truncated. It is only ever read back from the private cell.
  if (cell !== null) addrlen![0] = cell[0];
  if (r === -1) fail(fl === 0 ? "accept" : "accept4");
  return r;
}

/**
 * `connect(2)`: connects a socket to an address.
 *
 * Not retried on `EINTR`: the connection then goes on asynchronously, and the
 * error is reported so the caller can wait for writability as POSIX says.
 *
 * @param fd the socket.
 * @param addr the encoded peer address.
 * @param addrlen bytes of `addr`; defaults to `addr.byteLength`.
 * @throws {SocketError} e.g. `ECONNREFUSED`, `EINPROGRESS` (non-blocking), `ETIMEDOUT`.
 * @example
 * ```ts
 * import {
 *   AF_INET, bind, close, connect, getsockname, INADDR_LOOPBACK, listen, SOCK_STREAM, sockaddr_in,
 *   socket,
 * } from "./mod.ts";
 * const server = socket(AF_INET, SOCK_STREAM, 0);
 * bind(server, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));
 * listen(server, 1);
 * const name = new Uint8Array(16);
 * getsockname(server, name, new Uint32Array([16]));
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * connect(fd, name); // or sockaddr_in.encode({ ..., sin_port: 8080, ... })
 * close(fd);
 * close(server);
 * ```
 */
export function connect(fd: number, addr: Uint8Array, addrlen?: number): void {
  const f = checkFd(fd);
  const len = checkLength1(addrlen, "addrlen", "addr", addr);
  if (libc().connect(f, addr, len) === -1) fail("connect");
}

/**
 * `read(2)`: reads up to `n` bytes into `buf`.
 *
 * @param fd the descriptor.
 * @param buf destination.
 * @param n bytes to read at most; defaults to `buf.byteLength`.
 * @returns bytes read; 0 at end of stream.
 * @throws {SocketError} e.g. `ECONNRESET`, `EAGAIN` (non-blocking, nothing to read).
 * @throws {RangeError} when `n` exceeds `buf.byteLength`.
 * @example
 * ```ts
 * import { AF_UNIX, close, read, SOCK_STREAM, socketpair, write } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * write(sv[0], new TextEncoder().encode("hello"));
 * const buf = new Uint8Array(4096);
 * const got = read(sv[1], buf);
 * new TextDecoder().decode(buf.subarray(0, got)); // "hello"
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function read(fd: number, buf: Uint8Array, n?: number): number {
  const f = checkFd(fd);
  const len = ioCount(checkLength1(n, "n", "buf", buf));
  const c = libc();
  let r: number;
  do r = c.read(f, buf, len); while (r === -1 && errno() === EINTR);
  if (r === -1) fail("read");
  return r;
}

/**
 * `write(2)`: writes up to `n` bytes of `buf`.
 *
 * A write to a socket whose peer is gone fails with `EPIPE` (Deno ignores
 * `SIGPIPE`, so the process lives; {@linkcode send} with `MSG_NOSIGNAL`
 * guarantees it even where a host program did not).
 *
 * @param fd the descriptor.
 * @param buf source.
 * @param n bytes to write; defaults to `buf.byteLength`.
 * @returns bytes written (may be fewer than `n`).
 * @throws {SocketError} e.g. `EPIPE`, `ECONNRESET`, `EAGAIN`.
 * @example
 * ```ts
 * import { AF_UNIX, close, SOCK_STREAM, socketpair, write } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * write(sv[0], new TextEncoder().encode("hello\n")); // 6
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function write(fd: number, buf: Uint8Array, n?: number): number {
  const f = checkFd(fd);
  const len = ioCount(checkLength1(n, "n", "buf", buf));
  const c = libc();
  let r: number;
  do r = c.write(f, buf, len); while (r === -1 && errno() === EINTR);
  if (r === -1) fail("write");
  return r;
}

/**
 * `send(2)`: `write` with flags, for sockets.
 *
 * @param fd the socket.
 * @param buf source.
 * @param n bytes to send; defaults to `buf.byteLength`.
 * @param flags `MSG_NOSIGNAL`, `MSG_DONTWAIT`, `MSG_MORE`, ...
 * @returns bytes sent.
 * @throws {SocketError} e.g. `EPIPE`, `EAGAIN`, `EMSGSIZE`.
 * @example
 * ```ts
 * import { AF_UNIX, close, MSG_NOSIGNAL, send, SOCK_STREAM, socketpair } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * send(sv[0], new Uint8Array([1, 2, 3]), 3, MSG_NOSIGNAL); // 3
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function send(fd: number, buf: Uint8Array, n?: number, flags = 0): number {
  const f = checkFd(fd);
  const fl = checkInt(flags, "flags");
  const len = ioCount(checkLength1(n, "n", "buf", buf));
  const c = libc();
  let r: number;
  do r = c.send(f, buf, len, fl); while (r === -1 && errno() === EINTR);
  if (r === -1) fail("send");
  return r;
}

/**
 * `recv(2)`: `read` with flags, for sockets.
 *
 * @param fd the socket.
 * @param buf destination.
 * @param n bytes to receive at most; defaults to `buf.byteLength`.
 * @param flags `MSG_PEEK`, `MSG_WAITALL`, `MSG_DONTWAIT`, `MSG_TRUNC`, ...
 * @returns bytes received (with `MSG_TRUNC` on a datagram socket: the datagram's real length); 0 at end of stream.
 * @throws {SocketError} e.g. `EAGAIN`, `ECONNRESET`.
 * @example
 * ```ts
 * import { AF_UNIX, close, MSG_PEEK, recv, send, SOCK_STREAM, socketpair } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * send(sv[0], new Uint8Array([1, 2, 3]));
 * const buf = new Uint8Array(16);
 * recv(sv[1], buf, 16, MSG_PEEK); // 3, and the bytes stay queued
 * recv(sv[1], buf, 16); // 3 again
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function recv(fd: number, buf: Uint8Array, n?: number, flags = 0): number {
  const f = checkFd(fd);
  const fl = checkInt(flags, "flags");
  const len = ioCount(checkLength1(n, "n", "buf", buf));
  const c = libc();
  let r: number;
  do r = c.recv(f, buf, len, fl); while (r === -1 && errno() === EINTR);
  if (r === -1) fail("recv");
  return r;
}

/**
 * `sendto(2)`: sends a datagram to an address.
 *
 * @param fd the socket.
 * @param buf the payload.
 * @param n bytes of `buf` to send.
 * @param flags `MSG_*` flags.
 * @param addr the encoded destination address, or null on a connected socket.
 * @param addrlen bytes of `addr`; defaults to `addr.byteLength` (0 when null).
 * @returns bytes sent.
 * @throws {SocketError} e.g. `EMSGSIZE`, `EACCES` (broadcast without `SO_BROADCAST`).
 * @example
 * ```ts
 * import {
 *   AF_INET, bind, close, getsockname, INADDR_LOOPBACK, recv, SOCK_DGRAM, sockaddr_in, sendto,
 *   socket,
 * } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_DGRAM, 0);
 * bind(fd, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));
 * const to = new Uint8Array(16);
 * getsockname(fd, to, new Uint32Array([16])); // send to ourselves
 * sendto(fd, new Uint8Array([1]), 1, 0, to); // 1
 * recv(fd, new Uint8Array(1)); // 1
 * close(fd);
 * ```
 */
export function sendto(
  fd: number,
  buf: Uint8Array,
  n: number,
  flags: number,
  addr: Uint8Array | null,
  addrlen?: number,
): number {
  const f = checkFd(fd);
  const fl = checkInt(flags, "flags");
  if (addr === null && addrlen !== undefined && addrlen !== 0) {
    throw new RangeError("addrlen must be 0 when addr is null");
  }
  const len = ioCount(checkLength1(n, "n", "buf", buf));
  const alen = addr === null ? 0 : checkLength1(addrlen, "addrlen", "addr", addr);
  const c = libc();
  let r: number;
  do r = c.sendto(f, buf, len, fl, addr, alen); while (r === -1 && errno() === EINTR);
  if (r === -1) fail("sendto");
  return r;
}

/**
 * `recvfrom(2)`: receives a datagram and its source address.
 *
 * @param fd the socket.
 * @param buf destination.
 * @param n bytes to receive at most.
 * @param flags `MSG_*` flags (`MSG_TRUNC` returns the datagram's full length).
 * @param addr optional buffer for the source address.
 * @param addrlen in/out length cell for `addr`.
 * @returns bytes received.
 * @throws {SocketError} e.g. `EAGAIN`.
 * @example
 * ```ts
 * import {
 *   AF_INET, bind, close, getsockname, INADDR_LOOPBACK, recvfrom, SOCK_DGRAM, sockaddr_in,
 *   sendto, socket,
 * } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_DGRAM, 0);
 * bind(fd, sockaddr_in.encode({ sin_family: AF_INET, sin_port: 0, sin_addr: INADDR_LOOPBACK }));
 * const self = new Uint8Array(16);
 * getsockname(fd, self, new Uint32Array([16]));
 * sendto(fd, new Uint8Array([7, 8]), 2, 0, self);
 * const buf = new Uint8Array(1500), from = new Uint8Array(128), len = new Uint32Array([128]);
 * const got = recvfrom(fd, buf, buf.length, 0, from, len); // 2
 * sockaddr_in.decode(from.subarray(0, len[0])).sin_port; // our own port
 * close(fd);
 * ```
 */
export function recvfrom(
  fd: number,
  buf: Uint8Array,
  n: number,
  flags: number,
  addr: Uint8Array | null = null,
  addrlen: Uint32Array | null = null,
): number {
  const f = checkFd(fd);
  const fl = checkInt(flags, "flags");
  const len = ioCount(checkLength1(n, "n", "buf", buf));
  const cell = checkLengthCell(addr, addrlen, "recvfrom");
  const c = libc();
  let r: number;
  do r = c.recvfrom(f, buf, len, fl, addr, cell); while (r === -1 && errno() === EINTR);
  if (cell !== null) addrlen![0] = cell[0];
  if (r === -1) fail("recvfrom");
  return r;
}

/**
 * `close(2)`. Never retried: on Linux the descriptor is released even when
 * close reports `EINTR`, and a retry could close a descriptor that another
 * part of the program has just been given.
 *
 * @param fd the descriptor.
 * @throws {SocketError} `EBADF` when `fd` is not open.
 * @example
 * ```ts
 * import { AF_INET, close, SOCK_DGRAM, socket } from "./mod.ts";
 * close(socket(AF_INET, SOCK_DGRAM, 0));
 * ```
 */
export function close(fd: number): void {
  if (libc().close(checkFd(fd)) === -1) {
    const e = errno();
    if (e !== EINTR) throw new SocketError(e, "close");
  }
}

/**
 * `shutdown(2)`: shuts down part of a full-duplex connection.
 *
 * @param fd the socket.
 * @param how `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
 * @throws {SocketError} e.g. `ENOTCONN`.
 * @example
 * ```ts
 * import { AF_UNIX, close, read, SHUT_WR, shutdown, SOCK_STREAM, socketpair } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * shutdown(sv[0], SHUT_WR); // the peer reads EOF; we can still read its answer
 * read(sv[1], new Uint8Array(1)); // 0
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function shutdown(fd: number, how: number): void {
  const f = checkFd(fd);
  if (libc().shutdown(f, checkInt(how, "how")) === -1) fail("shutdown");
}

/**
 * `setsockopt(2)`.
 *
 * @param fd the socket.
 * @param level `SOL_SOCKET`, `IPPROTO_TCP`, `IPPROTO_IP`, `IPPROTO_IPV6`, ...
 * @param optname the option, e.g. `SO_REUSEADDR`.
 * @param optval the option's bytes (an `int` option is 4 bytes in host order).
 * @param optlen bytes of `optval`; defaults to `optval.byteLength`.
 * @throws {SocketError} e.g. `ENOPROTOOPT`, `EINVAL`.
 * @example
 * ```ts
 * import { AF_INET, close, setsockopt, SO_REUSEADDR, SOCK_STREAM, socket, SOL_SOCKET } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(new Int32Array([1]).buffer));
 * close(fd);
 * ```
 */
export function setsockopt(
  fd: number,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen?: number,
): void {
  const f = checkFd(fd);
  const lv = checkInt(level, "level");
  const name = checkInt(optname, "optname");
  const len = checkLength1(optlen, "optlen", "optval", optval);
  if (libc().setsockopt(f, lv, name, optval, len) === -1) fail("setsockopt");
}

/**
 * `getsockopt(2)`.
 *
 * @param fd the socket.
 * @param level the option level.
 * @param optname the option.
 * @param optval receives the value.
 * @param optlen in: capacity of `optval`; out: the value's length.
 * @returns the value's length (also left in `optlen[0]`).
 * @throws {SocketError} e.g. `ENOPROTOOPT`.
 * @example
 * ```ts
 * import { AF_INET, close, getsockopt, SO_TYPE, SOCK_STREAM, socket, SOL_SOCKET } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * const v = new Int32Array(1);
 * getsockopt(fd, SOL_SOCKET, SO_TYPE, new Uint8Array(v.buffer), new Uint32Array([4]));
 * v[0]; // SOCK_STREAM
 * close(fd);
 * ```
 */
export function getsockopt(
  fd: number,
  level: number,
  optname: number,
  optval: Uint8Array,
  optlen: Uint32Array,
): number {
  const f = checkFd(fd);
  const lv = checkInt(level, "level");
  const name = checkInt(optname, "optname");
  checkBytes(optval, "optval"); // null is no option buffer, unlike accept's null address
  const cell = checkLengthCell(optval, optlen, "getsockopt", "optval", "optlen")!;
  const r = libc().getsockopt(f, lv, name, optval, cell);
  // Also on failure: for ERANGE (SO_PEERSEC) the kernel leaves the size it needs.
  const answer = optlen[0] = cell[0];
  if (r === -1) fail("getsockopt");
  return answer;
}

/**
 * `getsockname(2)`: the socket's local address.
 *
 * @param fd the socket.
 * @param addr receives the address.
 * @param addrlen in: capacity; out: the address's length.
 * @throws {SocketError} e.g. `ENOTSOCK`.
 * @example
 * ```ts
 * import { AF_INET, close, getsockname, listen, SOCK_STREAM, sockaddr_in, socket } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * listen(fd, 1);
 * const addr = new Uint8Array(16);
 * getsockname(fd, addr, new Uint32Array([16]));
 * sockaddr_in.decode(addr).sin_port; // the ephemeral port
 * close(fd);
 * ```
 */
export function getsockname(fd: number, addr: Uint8Array, addrlen: Uint32Array): void {
  const f = checkFd(fd);
  checkBytes(addr, "addr"); // null is not "no address" here
  const cell = checkLengthCell(addr, addrlen, "getsockname")!;
  if (libc().getsockname(f, addr, cell) === -1) fail("getsockname");
  addrlen[0] = cell[0];
}

/**
 * `getpeername(2)`: the connected peer's address.
 *
 * @param fd the socket.
 * @param addr receives the address.
 * @param addrlen in: capacity; out: the address's length.
 * @throws {SocketError} e.g. `ENOTCONN`.
 * @example
 * ```ts
 * import { AF_UNIX, close, getpeername, SOCK_STREAM, socketpair } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * const addr = new Uint8Array(128);
 * const len = new Uint32Array([128]);
 * getpeername(sv[0], addr, len);
 * len[0]; // 2: an unnamed AF_UNIX peer is just its family
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function getpeername(fd: number, addr: Uint8Array, addrlen: Uint32Array): void {
  const f = checkFd(fd);
  checkBytes(addr, "addr"); // null is not "no address" here
  const cell = checkLengthCell(addr, addrlen, "getpeername")!;
  if (libc().getpeername(f, addr, cell) === -1) fail("getpeername");
  addrlen[0] = cell[0];
}

/**
 * `fcntl(2)` with an integer argument: enough for `F_GETFL`/`F_SETFL`
 * (`O_NONBLOCK`) and `F_GETFD`/`F_SETFD` (`FD_CLOEXEC`).
 *
 * @param fd the descriptor.
 * @param cmd `F_GETFL`, `F_SETFL`, `F_GETFD` or `F_SETFD`.
 * @param arg the integer argument (ignored by the getters).
 * @returns the call's result (the flags for the getters).
 * @throws {SocketError} e.g. `EBADF`.
 * @throws {RangeError} for any other command (they take pointers or have other contracts).
 * @example
 * ```ts
 * import { AF_INET, close, F_GETFL, F_SETFL, fcntl, O_NONBLOCK, SOCK_STREAM, socket } from "./mod.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
 * close(fd);
 * ```
 */
export function fcntl(fd: number, cmd: number, arg = 0): number {
  const f = checkFd(fd);
  const command = checkInt(cmd, "cmd");
  const value = checkInt(arg, "arg");
  if (command !== F_GETFL && command !== F_SETFL && command !== F_GETFD && command !== F_SETFD) {
    throw new RangeError(
      `fcntl: cmd must be F_GETFL, F_SETFL, F_GETFD or F_SETFD (the others take pointers or have other contracts), got ${command}`,
    );
  }
  const r = libc().fcntl(f, command, value);
  if (r === -1) fail("fcntl");
  return r;
}

/**
 * `pipe2(2)`: a pipe (useful to test what socket calls do on non-sockets).
 *
 * @param fds receives `[readEnd, writeEnd]` (an `Int32Array` of length ≥ 2).
 * @param flags `O_NONBLOCK | O_CLOEXEC` or 0.
 * @throws {SocketError} e.g. `EMFILE`.
 * @example
 * ```ts
 * import { close, pipe2 } from "./mod.ts";
 * const fds = new Int32Array(2);
 * pipe2(fds, 0);
 * close(fds[0]);
 * close(fds[1]);
 * ```
 */
export function pipe2(fds: Int32Array, flags = 0): void {
  const fl = checkInt(flags, "flags");
  checkInt32Array(fds, "fds", 2);
  if (libc().pipe2(fds, fl) === -1) fail("pipe2");
}

/**
 * `poll(2)` on an array of encoded `struct pollfd` (8 bytes each). Blocks
 * the JavaScript thread for up to `timeout` ms; see {@linkcode pollAsync}.
 *
 * @param fds `nfds * 8` bytes of `struct pollfd` (see `pollfd` in structs).
 * @param nfds how many entries.
 * @param timeout milliseconds; -1 waits forever, 0 returns at once.
 * @returns how many entries have events (their `revents` are filled in).
 * @throws {SocketError} on failure (`EINTR` is retried with the same timeout).
 * @example
 * ```ts
 * import { AF_UNIX, close, poll, pollfd, POLLIN, SOCK_STREAM, socketpair, write } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * write(sv[0], new Uint8Array([1]));
 * const set = pollfd.encode({ fd: sv[1], events: POLLIN });
 * poll(set, 1, 1000); // 1
 * pollfd.decode(set).revents & POLLIN; // POLLIN
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function poll(fds: Uint8Array, nfds: number, timeout: number): number {
  const t = checkInt(timeout, "timeout");
  const count = checkPollCount(fds, nfds);
  const c = libc();
  let r: number;
  do r = c.poll(fds, count, t); while (r === -1 && errno() === EINTR);
  if (r === -1) fail("poll");
  return r;
}

function checkPollCount(fds: Uint8Array, nfds: number): number {
  // nfds itself (checkLength would let `undefined` through as "the default"),
  // then the true length: a redefined fds.byteLength must not let poll write
  // revents past fds.
  const count = checkInteger(nfds, "nfds", 0, 0xffffffff);
  const capacity = byteLengthOf(fds, "fds");
  if (count * 8 > capacity) {
    throw new RangeError(`nfds (${count}) needs ${count * 8} bytes, fds holds ${capacity}`);
  }
  return count;
}

/**
 * `poll(2)` run on a helper thread, so the JavaScript thread keeps running.
 * Do not touch `fds` until the promise settles.
 *
 * @param fds `nfds * 8` bytes of `struct pollfd`.
 * @param nfds how many entries.
 * @param timeout milliseconds; -1 waits forever.
 * @returns how many entries have events, or -1 when interrupted (errno of
 *   the helper thread cannot be read; poll again).
 * @example
 * ```ts
 * import { AF_UNIX, close, pollAsync, pollfd, POLLIN, SOCK_STREAM, socketpair, write } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * const set = pollfd.encode({ fd: sv[1], events: POLLIN });
 * const ready = pollAsync(set, 1, 1000); // JavaScript goes on meanwhile
 * write(sv[0], new Uint8Array([1]));
 * await ready; // 1
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export async function pollAsync(fds: Uint8Array, nfds: number, timeout: number): Promise<number> {
  const t = checkInt(timeout, "timeout");
  const count = checkPollCount(fds, nfds);
  return await libc().poll_blocking(fds, count, t);
}
