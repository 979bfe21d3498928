/**
 * Hand-over in both directions: {@linkcode adoptSocket} makes a socket object
 * of this module from a descriptor made elsewhere (a parent process, systemd,
 * Python, C), and {@linkcode handOverToNode} gives a listener made here to
 * Deno's `node:http`/`node:https`/`node:net` server (`server.listen({ fd })`),
 * which then serves it at native speed. The other direction of the life
 * cycle is `detach()` on every socket object (see `SocketHandle`).
 *
 * Adoption asks the kernel what the descriptor is (`SO_DOMAIN`, `SO_TYPE`,
 * `SO_PROTOCOL`, `SO_ACCEPTCONN`, `getsockname`, `getpeername`) instead of
 * trusting the caller, sets `O_NONBLOCK` and `FD_CLOEXEC`, and returns the
 * object for that kind. It needs `--allow-ffi` only: the socket's address
 * was chosen by whoever made it; what the adopted object does later (a
 * datagram sent somewhere, a connect) is checked against `--allow-net` as
 * usual.
 *
 * @module
 */

import type { Server as NodeServer } from "node:net";
import { checkFd, describe } from "../ffi/checks.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  EBADF,
  EEXIST,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  IPPROTO_UDP,
  O_NONBLOCK,
  SO_ACCEPTCONN,
  SO_TYPE,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { IPPROTO_UDPLITE, SO_DOMAIN, SO_PROTOCOL } from "../ffi/constants_linux.ts";
import { brandSocketError, SocketError } from "../ffi/errors.ts";
import { errno } from "../ffi/libc.ts";
import { reactor } from "../reactor/reactor.ts";
import { Conn, type TcpConn, type UnixConn } from "./conn.ts";
import { DatagramConn } from "./datagram.ts";
import { SeqpacketConn, SeqpacketListener } from "./seqpacket.ts";
import { lib, socketAddress } from "./socket.ts";
import { Listener } from "./stream.ts";

/**
 * What {@linkcode adoptSocket} returns for each kind of socket, by the name
 * its `expect` option takes.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { adoptSocket, type AdoptedKinds, listen } from "../mod.ts";
 * const fd = listen({ hostname: "127.0.0.1", port: 0 }).detach();
 * const listener: AdoptedKinds["listener"] = adoptSocket(fd, { expect: "listener" });
 * listener.close();
 * ```
 */
export interface AdoptedKinds {
  /** A listening TCP or Unix stream socket. */
  listener: Listener<TcpConn, Deno.NetAddr> | Listener<UnixConn, Deno.UnixAddr>;
  /** A connected TCP or Unix stream socket. */
  conn: TcpConn | UnixConn;
  /** A UDP (or UDP-Lite) or Unix datagram socket, bound or not. */
  datagram: DatagramConn<Deno.NetAddr> | DatagramConn<Deno.UnixAddr>;
  /** A listening Unix `SOCK_SEQPACKET` socket. */
  "seqpacket-listener": SeqpacketListener;
  /** A connected Unix `SOCK_SEQPACKET` socket. */
  "seqpacket-conn": SeqpacketConn;
}

/**
 * The kinds of socket {@linkcode adoptSocket} can adopt.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { type AdoptedKind, inspectSocket, listenDatagram } from "../mod.ts";
 * using udp = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * const kind: AdoptedKind | undefined = inspectSocket(udp.fd).kind; // "datagram"
 * ```
 */
export type AdoptedKind = keyof AdoptedKinds;

/**
 * Any object {@linkcode adoptSocket} may return.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { adoptSocket, type AdoptedSocket, listen, Listener } from "../mod.ts";
 * const socket: AdoptedSocket = adoptSocket(listen({ hostname: "127.0.0.1", port: 0 }).detach());
 * socket instanceof Listener; // true
 * socket.close();
 * ```
 */
export type AdoptedSocket = AdoptedKinds[AdoptedKind];

/**
 * Options of {@linkcode adoptSocket}.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { adoptSocket, type AdoptOptions, listen } from "../mod.ts";
 * using original = listen({ hostname: "127.0.0.1", port: 0 });
 * const options: AdoptOptions<"listener"> = { expect: "listener", duplicate: true };
 * using twin = adoptSocket(original.fd, options); // the same socket, another descriptor
 * (twin.addr as Deno.NetAddr).port === original.addr.port; // true
 * ```
 */
export interface AdoptOptions<K extends AdoptedKind = AdoptedKind> {
  /**
   * The kind the caller expects: anything else throws a `TypeError` and
   * leaves the descriptor as it was, the caller's.
   */
  expect?: K;
  /**
   * Adopt a duplicate (`dup`) and leave `fd` itself to the caller, as
   * Python's `socket.fromfd` does. Both descriptors name one open socket,
   * so `O_NONBLOCK` is set for both. Default false: `fd` itself is taken.
   */
  duplicate?: boolean;
}

/**
 * What the kernel says a socket descriptor is ({@linkcode inspectSocket}).
 *
 * @category Sockets
 * @example
 * ```ts
 * import { inspectSocket, listen, type SocketInfo } from "../mod.ts";
 * import { AF_INET, SOCK_STREAM } from "../ffi/mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const info: SocketInfo = inspectSocket(listener.fd);
 * info.domain === AF_INET && info.type === SOCK_STREAM && info.listening; // true
 * ```
 */
export interface SocketInfo {
  /** `SO_DOMAIN`: `AF_INET`, `AF_INET6`, `AF_UNIX`, ... */
  domain: number;
  /** `SO_TYPE`: `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`, `SOCK_RAW`, ... */
  type: number;
  /** `SO_PROTOCOL`: `IPPROTO_TCP`, `IPPROTO_UDP`, 0 for Unix sockets, ... */
  protocol: number;
  /** `SO_ACCEPTCONN`: whether `listen` was called on it. */
  listening: boolean;
  /** What {@linkcode adoptSocket} would make of it, or undefined when it cannot adopt it. */
  kind: AdoptedKind | undefined;
  /** Why it cannot be adopted, when `kind` is undefined. */
  reason?: string;
}

/** A `SOL_SOCKET` integer option; null when the descriptor is no socket (or not open). */
function socketInt(fd: number, name: number): number | null {
  const value = new Int32Array(1);
  const len = new Uint32Array([4]);
  return lib().getsockopt(fd, SOL_SOCKET, name, new Uint8Array(value.buffer), len) === -1
    ? null
    : value[0];
}

const FAMILY_NAMES: ReadonlyMap<number, string> = new Map([
  [AF_INET, "IPv4"],
  [AF_INET6, "IPv6"],
  [AF_UNIX, "Unix"],
]);

function classify(
  domain: number,
  type: number,
  protocol: number,
  listening: boolean,
): { kind?: AdoptedKind; reason?: string } {
  const family = FAMILY_NAMES.get(domain);
  if (family === undefined) return { reason: `address family ${domain} is not supported` };
  if (type === SOCK_STREAM) return { kind: listening ? "listener" : "conn" };
  if (type === SOCK_DGRAM) {
    // An IPv4/IPv6 SOCK_DGRAM may also be a ping socket (IPPROTO_ICMP):
    // that is a raw socket's job, not a DatagramConn's.
    if (domain !== AF_UNIX && protocol !== IPPROTO_UDP && protocol !== IPPROTO_UDPLITE) {
      return { reason: `${family} SOCK_DGRAM with protocol ${protocol} is not UDP` };
    }
    return { kind: "datagram" };
  }
  if (type === SOCK_SEQPACKET && domain === AF_UNIX) {
    return { kind: listening ? "seqpacket-listener" : "seqpacket-conn" };
  }
  return { reason: `${family} sockets of type ${type} are not supported` };
}

/** The descriptor's open state, as the error adoption gives when it is not. */
function notOpen(fd: number): Error {
  return brandSocketError(Deno.errors.BadResource, EBADF, "fcntl", `fd ${fd} is not open`);
}

/**
 * Asks the kernel what a socket descriptor is, without taking it: family,
 * type, protocol, listening state, and the kind {@linkcode adoptSocket}
 * would make of it.
 *
 * @category Sockets
 * @param fd the descriptor.
 * @returns what it is.
 * @throws {TypeError | RangeError} when `fd` is not a descriptor number (`-0` is 0, as everywhere).
 * @throws {Deno.errors.BadResource} when `fd` is not open (also `instanceof SocketError`, `EBADF`).
 * @throws {SocketError} `ENOTSOCK` when it is open but no socket.
 * @example
 * ```ts
 * import { inspectSocket, listenDatagram } from "../mod.ts";
 * using udp = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * inspectSocket(udp.fd).kind; // "datagram"
 * ```
 */
export function inspectSocket(fd: number): SocketInfo {
  fd = checkFd(fd);
  const c = lib();
  if (c.fcntl(fd, F_GETFD, 0) === -1) throw notOpen(fd);
  const type = socketInt(fd, SO_TYPE);
  if (type === null) {
    throw new SocketError(errno(), "getsockopt", `fd ${fd} is not a socket`);
  }
  const domain = socketInt(fd, SO_DOMAIN) ?? -1;
  const protocol = socketInt(fd, SO_PROTOCOL) ?? -1;
  const listening = socketInt(fd, SO_ACCEPTCONN) === 1;
  const { kind, reason } = classify(domain, type, protocol, listening);
  return reason === undefined
    ? { domain, type, protocol, listening, kind }
    : { domain, type, protocol, listening, kind, reason };
}

const KIND_TEXT: Record<AdoptedKind, string> = {
  listener: "a listening stream socket (Listener)",
  conn: "a connected stream socket (Conn)",
  datagram: "a datagram socket (DatagramConn)",
  "seqpacket-listener": "a listening SOCK_SEQPACKET socket (SeqpacketListener)",
  "seqpacket-conn": "a connected SOCK_SEQPACKET socket (SeqpacketConn)",
};

type Transport = "tcp" | "udp" | "unix" | "unixpacket";

/** The addresses the object needs, read before anything is changed. */
function addressesOf(
  fd: number,
  kind: AdoptedKind,
  domain: number,
): { local: Deno.NetAddr | Deno.UnixAddr; remote?: Deno.NetAddr | Deno.UnixAddr } {
  const unix = domain === AF_UNIX;
  const transport: Transport = kind === "datagram"
    ? (unix ? "unixpacket" : "udp")
    : kind.startsWith("seqpacket")
    ? "unixpacket"
    : (unix ? "unix" : "tcp");
  const local = socketAddress(fd, "getsockname", transport);
  if (kind !== "conn" && kind !== "seqpacket-conn") return { local };
  let remote: Deno.NetAddr | Deno.UnixAddr;
  try {
    remote = socketAddress(fd, "getpeername", transport);
  } catch {
    // Neither listening nor connected (or connecting still): nothing to wrap.
    throw new TypeError(
      `fd ${fd} is a stream socket that is neither listening nor connected; ` +
        "call listen or finish connect before adopting it",
    );
  }
  return { local, remote };
}

/**
 * Whether the thread's reactor already holds `fd` (another object of this
 * module owns it). Only the epoll backend can tell; a second registration
 * there would fail, and the failing constructor would close the other
 * owner's descriptor.
 */
function ownedHere(fd: number): boolean {
  const r = reactor();
  if (r.backend !== "epoll") return false;
  let source;
  try {
    source = r.register(fd);
  } catch (error) {
    if (error instanceof SocketError && error.errno === EEXIST) return true;
    throw error;
  }
  r.deregister(source, new Deno.errors.BadResource("probe"));
  return false;
}

/**
 * Adopts a socket descriptor made elsewhere (inherited from a parent, passed
 * by systemd or over a Unix socket, made by C or Python): the kernel says
 * what it is, and the matching object comes back — a {@linkcode Listener}
 * (listening TCP or Unix stream), a `Conn` (connected stream), a
 * {@linkcode DatagramConn} (UDP, UDP-Lite, Unix datagram), a
 * {@linkcode SeqpacketListener} or a {@linkcode SeqpacketConn}. Raw and ping
 * sockets, and families other than IPv4, IPv6 and Unix, are refused.
 *
 * The descriptor gets `O_NONBLOCK` and `FD_CLOEXEC` and from then on belongs
 * to the object (close it with `close()`, give it away again with
 * `detach()`). When adoption fails, nothing was changed and the descriptor
 * is still the caller's. `-0` means 0, as for every descriptor argument.
 *
 * With the epoll reactor (the default), a descriptor that another object of
 * this module already owns is refused with `Deno.errors.Busy`. The poll
 * backend cannot tell; adopting such a descriptor there gives two owners.
 *
 * A connected datagram socket is adopted with `remoteAddr` undefined: give
 * `send` an address (or call `connect` again).
 *
 * @category Sockets
 * @param fd the descriptor.
 * @param options `expect`: the kind required; `duplicate`: adopt a `dup` of it.
 * @returns the socket object.
 * @throws {TypeError} when the socket is of another kind than `expect`, of
 *   a kind this module does not wrap, or a stream socket neither listening
 *   nor connected; also when `fd` is not a number.
 * @throws {RangeError} when `fd` is negative, not an integer, or NaN.
 * @throws {Deno.errors.BadResource} when `fd` is not open (`instanceof SocketError`, `EBADF`).
 * @throws {SocketError} `ENOTSOCK` when it is not a socket.
 * @throws {Deno.errors.Busy} when another object of this module owns it.
 * @example A listener made elsewhere (here by the C-faithful layer)
 * ```ts
 * import { adoptSocket, connect } from "../mod.ts";
 * import * as c from "../ffi/mod.ts";
 *
 * const fd = c.socket(c.AF_INET, c.SOCK_STREAM, 0); // blocking, as C makes it
 * c.bind(fd, c.sockaddr_in.encode({ sin_family: c.AF_INET, sin_port: 0, sin_addr: c.INADDR_LOOPBACK }));
 * c.listen(fd, 16);
 *
 * using listener = adoptSocket(fd, { expect: "listener" });
 * const { port } = listener.addr as Deno.NetAddr;
 * using client = await connect({ hostname: "127.0.0.1", port });
 * using server = await listener.accept();
 * (c.fcntl(fd, c.F_GETFL) & c.O_NONBLOCK) !== 0; // true: adoption made it non-blocking
 * ```
 * @example Any kind: the result tells
 * ```ts
 * import { adoptSocket, DatagramConn, listenDatagram } from "../mod.ts";
 * const fd = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }).detach();
 * using socket = adoptSocket(fd);
 * socket instanceof DatagramConn; // true
 * ```
 */
export function adoptSocket<K extends AdoptedKind = AdoptedKind>(
  fd: number,
  options: AdoptOptions<K> = {},
): AdoptedKinds[K] {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  // Read once: what is checked is what is used.
  const { expect, duplicate = false } = options;
  if (expect !== undefined && !Object.hasOwn(KIND_TEXT, expect)) {
    throw new TypeError(
      `expect must be one of ${Object.keys(KIND_TEXT).map((k) => `"${k}"`).join(", ")}, got ${
        describe(expect)
      }`,
    );
  }
  if (typeof duplicate !== "boolean") {
    throw new TypeError(`duplicate must be a boolean, got ${describe(duplicate)}`);
  }
  const info = inspectSocket(fd);
  fd = checkFd(fd);
  const { kind, domain } = info;
  if (kind === undefined) throw new TypeError(`cannot adopt fd ${fd}: ${info.reason}`);
  if (expect !== undefined && kind !== expect) {
    throw new TypeError(`fd ${fd} is ${KIND_TEXT[kind]}, expected ${KIND_TEXT[expect]}`);
  }
  const { local, remote } = addressesOf(fd, kind, domain);
  const c = lib();
  let own = fd;
  if (duplicate) {
    own = c.dup(fd);
    if (own === -1) throw new SocketError(errno(), "dup", `fd ${fd}`);
  } else if (ownedHere(fd)) {
    throw new Deno.errors.Busy(
      `fd ${fd} already belongs to a socket object of this module (detach() it first)`,
    );
  }
  try {
    const flags = c.fcntl(own, F_GETFL, 0);
    const fdFlags = c.fcntl(own, F_GETFD, 0);
    if (flags === -1 || fdFlags === -1) throw new SocketError(errno(), "fcntl", `fd ${own}`);
    if ((fdFlags & FD_CLOEXEC) === 0 && c.fcntl(own, F_SETFD, fdFlags | FD_CLOEXEC) === -1) {
      throw new SocketError(errno(), "fcntl", `fd ${own}`);
    }
    if ((flags & O_NONBLOCK) === 0 && c.fcntl(own, F_SETFL, flags | O_NONBLOCK) === -1) {
      const e = errno();
      if (!duplicate) c.fcntl(own, F_SETFD, fdFlags); // leave the caller's fd as it was
      throw new SocketError(e, "fcntl", `fd ${own}`);
    }
  } catch (error) {
    if (duplicate) c.close(own);
    throw error;
  }
  // From here the object owns the descriptor (its constructor closes it if
  // the reactor refuses it).
  return wrap(kind, own, domain, local, remote) as AdoptedKinds[K];
}

function wrap(
  kind: AdoptedKind,
  own: number,
  domain: number,
  local: Deno.NetAddr | Deno.UnixAddr,
  remote: Deno.NetAddr | Deno.UnixAddr | undefined,
): AdoptedSocket {
  switch (kind) {
    case "listener":
      return domain === AF_UNIX
        ? new Listener<UnixConn, Deno.UnixAddr>(own, "unix", local as Deno.UnixAddr)
        : new Listener<TcpConn, Deno.NetAddr>(own, "tcp", local as Deno.NetAddr);
    case "conn":
      return domain === AF_UNIX
        ? new Conn(own, "unix", remote as Deno.UnixAddr) as UnixConn
        : new Conn(own, "tcp", remote as Deno.NetAddr) as TcpConn;
    case "datagram":
      return domain === AF_UNIX
        ? new DatagramConn<Deno.UnixAddr>(own, domain, local as Deno.UnixAddr)
        : new DatagramConn<Deno.NetAddr>(own, domain, local as Deno.NetAddr);
    case "seqpacket-listener":
      return new SeqpacketListener(own, local as Deno.UnixAddr);
    case "seqpacket-conn":
      return new SeqpacketConn(own, local as Deno.UnixAddr, remote as Deno.UnixAddr);
  }
}

/**
 * Hands a stream listener made by this module to a Deno `node:` server —
 * `node:http`, `node:https`, `node:net`, `node:tls`, or any framework on
 * them — which then accepts and serves on it natively
 * (`server.listen({ fd })`). The listener is detached first: the module
 * deregisters it and never touches the descriptor again, so `close()` on it
 * afterwards does nothing, dropping it does nothing (the module keeps no
 * finalizer that could close the descriptor), and the server owns the
 * descriptor (`server.close()` releases it).
 *
 * Use it for what only this module can configure — `reusePort` across
 * Workers or processes, socket options, a socket adopted from systemd —
 * and keep Node's HTTP, TLS and keep-alive stack at full speed.
 *
 * If the server refuses the descriptor (it is already listening, say), the
 * promise rejects and the descriptor is closed: Deno 2.9's server neither
 * keeps nor closes a descriptor it refused.
 *
 * @category Bridges
 * @param listener an open TCP or Unix stream listener, with no accept pending.
 * @param server the `node:` server to listen on it.
 * @returns the server, once it is listening.
 * @throws {TypeError} when `listener` is not a {@linkcode Listener}.
 * @throws {Deno.errors.BadResource} when it is closed or detached.
 * @example `node:http` on a listener with SO_REUSEPORT
 * ```ts
 * import { handOverToNode, listen } from "../mod.ts";
 * import http from "node:http";
 *
 * const listener = listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
 * const { port } = listener.addr;
 * const server = http.createServer((_req, res) => res.end("hello"));
 * await handOverToNode(listener, server);
 * listener.closed; // true: the module let go of it
 *
 * const response = await fetch(`http://127.0.0.1:${port}/`);
 * await response.text(); // "hello"
 * await new Promise((resolve) => server.close(resolve));
 * ```
 */
export function handOverToNode<S extends NodeServer>(
  listener: Listener<TcpConn, Deno.NetAddr> | Listener<UnixConn, Deno.UnixAddr>,
  server: S,
): Promise<S> {
  if (!(listener instanceof Listener)) {
    return Promise.reject(
      new TypeError(`listener must be a stream Listener of this module, got ${describe(listener)}`),
    );
  }
  if (typeof server !== "object" || server === null || typeof server.listen !== "function") {
    return Promise.reject(
      new TypeError(
        `server must be a node:net Server (or http/https/tls), got ${describe(server)}`,
      ),
    );
  }
  let fd: number;
  try {
    fd = listener.detach();
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<S>((resolve, reject) => {
    const onError = (error: Error) => {
      server.removeListener("listening", onListening);
      lib().close(fd);
      reject(error);
    };
    const onListening = () => {
      server.removeListener("error", onError);
      resolve(server);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    try {
      server.listen({ fd });
    } catch (error) {
      server.removeListener("error", onError);
      server.removeListener("listening", onListening);
      lib().close(fd);
      reject(error);
    }
  });
}
