/**
 * Datagram sockets shaped like `Deno.DatagramConn`: UDP over IPv4 and IPv6
 * (unconnected and connected), Unix datagram sockets, Unix `SOCK_SEQPACKET`
 * (`listenSeqpacket`/`connectSeqpacket`: connection-oriented, message
 * boundaries kept), and the message-queue engine that raw sockets
 * (`net/raw.ts`) share.
 *
 * ## Truncation is reported, never silent
 *
 * `receive()` without a buffer reads into a 65,536-byte scratch buffer and
 * returns a copy of exactly the datagram, so a UDP datagram (at most 65,507
 * bytes over IPv4, 65,527 over IPv6) is never cut. (Deno's own
 * `DatagramConn` uses 1,024 bytes and cuts silently.) A Unix datagram can be
 * larger than 64 KiB: its size is peeked first (`MSG_PEEK | MSG_TRUNC`) and
 * the result buffer sized to fit.
 *
 * With a buffer of your own that is too small, the kernel drops the rest of
 * the datagram. `recvfrom` is called with `MSG_TRUNC`, so Linux returns the
 * datagram's real length, and:
 * - `receive(p)` rejects with {@linkcode DatagramTruncatedError} (a
 *   `RangeError`) naming the real and buffer sizes; its `data` holds the
 *   bytes that fit and `addr` the sender;
 * - `receiveDetailed(p)` resolves with `{ data, addr, length, truncated }`
 *   and never rejects for truncation.
 *
 * ## Oversized sends fail before libc
 *
 * A UDP payload larger than 65,507 bytes (IPv4, including IPv4-mapped
 * destinations) or 65,527 bytes (IPv6) cannot exist; `send` rejects with a
 * `RangeError` before calling `sendto`. Datagrams within those limits that
 * the kernel still refuses (a Unix datagram beyond `SO_SNDBUF`, a raw
 * packet beyond the MTU with DF set) fail with the kernel's `EMSGSIZE` as a
 * `SocketError`, with the sizes in the message.
 *
 * @module
 */

import { byteLengthOf, checkInteger, describe } from "../ffi/checks.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  AF_UNSPEC,
  EAGAIN,
  ECONNABORTED,
  EINTR,
  EMSGSIZE,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  MSG_NOSIGNAL,
  MSG_PEEK,
  MSG_TRUNC,
  POLLHUP,
  POLLIN,
  POLLRDHUP,
  SO_BROADCAST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { inet_ntop, inet_pton } from "../ffi/convert.ts";
import { errno } from "../ffi/libc.ts";
import { type IoSource, reactor } from "../reactor/reactor.ts";
import {
  checkPort,
  decodeSockaddr,
  encodeUnix,
  type IpEndpoint,
  parseNumericHost,
  resolve,
  resolveSync,
} from "./address.ts";
import { busyError, closedError, netError } from "./errors.ts";
import { checkNet, checkUnixPath } from "./permissions.ts";
import { SerialQueue } from "./serial.ts";
import { lib, openSocket, socketAddress, SocketHandle } from "./socket.ts";

/**
 * Largest UDP payload over IPv4: 65,535 − 20 (IP header) − 8 (UDP header).
 *
 * @example
 * ```ts ignore
 * import { MAX_UDP_PAYLOAD_V4 } from "../mod.ts";
 * const fits = (p: Uint8Array) => p.byteLength <= MAX_UDP_PAYLOAD_V4;
 * ```
 */
export const MAX_UDP_PAYLOAD_V4 = 65507;
/**
 * Largest UDP payload over IPv6 without jumbograms: 65,535 − 8 (UDP header).
 *
 * @example
 * ```ts ignore
 * import { MAX_UDP_PAYLOAD_V6 } from "../mod.ts";
 * const fits = (p: Uint8Array) => p.byteLength <= MAX_UDP_PAYLOAD_V6;
 * ```
 */
export const MAX_UDP_PAYLOAD_V6 = 65527;
/**
 * Size of the scratch buffer `receive()` uses when given none.
 *
 * @example
 * ```ts ignore
 * import { DEFAULT_RECEIVE_SIZE } from "../mod.ts";
 * const buf = new Uint8Array(DEFAULT_RECEIVE_SIZE); // holds any UDP datagram
 * ```
 */
export const DEFAULT_RECEIVE_SIZE = 65536;

/**
 * Options of {@linkcode listenDatagram} for UDP.
 *
 * @example
 * ```ts ignore
 * import { listenDatagram, type UdpListenOptions } from "../mod.ts";
 * const options: UdpListenOptions = { transport: "udp", hostname: "127.0.0.1", port: 0, reuseAddress: true };
 * listenDatagram(options).close();
 * ```
 */
export interface UdpListenOptions {
  /** `"udp"`. */
  transport: "udp";
  /** The port; 0 picks a free one. */
  port: number;
  /** Address to bind; default `"0.0.0.0"`. `"::"` also receives IPv4 (dual-stack). */
  hostname?: string;
  /** Set `SO_REUSEADDR` (default false, as Deno). */
  reuseAddress?: boolean;
  /** Set `SO_REUSEPORT`, so several sockets share the port. */
  reusePort?: boolean;
  /** Set `SO_BROADCAST`, allowing sends to broadcast addresses. */
  broadcast?: boolean;
  /** Loop outgoing multicast back to local sockets (`IP_MULTICAST_LOOP`; default false, as Deno). */
  loopback?: boolean;
  /** On an IPv6 address: refuse IPv4 (`IPV6_V6ONLY`; default false). */
  ipv6Only?: boolean;
}

/**
 * Options of {@linkcode listenDatagram} for Unix datagram sockets
 * (`SOCK_DGRAM` in `AF_UNIX`). `"unixgram"` is Go's name; `"unixpacket"` is
 * the name Deno uses for the same socket. Reported addresses say
 * `"unixpacket"`, because `Deno.UnixAddr` knows no other datagram name.
 * For `SOCK_SEQPACKET` see {@linkcode listenSeqpacket}.
 *
 * @example
 * ```ts ignore
 * import { listenDatagram } from "../mod.ts";
 * const conn = listenDatagram({ transport: "unixgram", path: "\0my-service" });
 * conn.close();
 * ```
 */
export interface UnixDatagramListenOptions {
  /** `"unixgram"` or `"unixpacket"` (both `SOCK_DGRAM`). */
  transport: "unixgram" | "unixpacket";
  /**
   * The path to bind; a leading `"\0"` is a Linux abstract name. Omitted:
   * the socket stays unbound and can send but gets no replies.
   */
  path?: string;
}

/**
 * Options of {@linkcode connectDatagram} for UDP.
 *
 * @example
 * ```ts ignore
 * import { connectDatagram } from "../mod.ts";
 * const conn = await connectDatagram({ transport: "udp", hostname: "127.0.0.1", port: 5353, localPort: 0 });
 * ```
 */
export interface UdpConnectOptions {
  /** `"udp"`. */
  transport: "udp";
  /** The peer's port. */
  port: number;
  /** The peer's host; default `"127.0.0.1"`. */
  hostname?: string;
  /** Local address to bind first (default: the wildcard of the peer's family). */
  localHostname?: string;
  /** Local port to bind first (default 0: any). */
  localPort?: number;
}

/**
 * Options of {@linkcode connectDatagram} for Unix datagram sockets.
 *
 * @example
 * ```ts ignore
 * import { connectDatagram } from "../mod.ts";
 * const conn = await connectDatagram({ transport: "unixgram", path: "/run/app.sock", localPath: "/tmp/me.sock" });
 * ```
 */
export interface UnixDatagramConnectOptions {
  /** `"unixgram"` or `"unixpacket"` (both `SOCK_DGRAM`). */
  transport: "unixgram" | "unixpacket";
  /** The peer's path. */
  path: string;
  /** Path to bind first, so the peer can reply (default: unbound). */
  localPath?: string;
}

/**
 * What {@linkcode DatagramConn.receiveDetailed} resolves to.
 *
 * @example
 * ```ts ignore
 * import { listenDatagram } from "../mod.ts";
 * const conn = listenDatagram({ transport: "udp", port: 0 });
 * const { data, length, truncated } = await conn.receiveDetailed(new Uint8Array(512));
 * if (truncated) console.log(`lost ${length - data.byteLength} bytes`);
 * ```
 */
export interface DatagramInfo<A> {
  /** The bytes received (at most the buffer's size). */
  data: Uint8Array<ArrayBuffer>;
  /** The sender. */
  addr: A;
  /** The datagram's real length (larger than `data` when truncated). */
  length: number;
  /** Whether the datagram was larger than the buffer (its tail is lost). */
  truncated: boolean;
}

/**
 * A datagram did not fit the buffer given to `receive(p)`: the kernel kept
 * the first `bufferSize` bytes (in {@linkcode DatagramTruncatedError.data})
 * and dropped the rest.
 *
 * @example
 * ```ts ignore
 * import { DatagramTruncatedError } from "../mod.ts";
 * declare const conn: import("../mod.ts").DatagramConn;
 * try {
 *   await conn.receive(new Uint8Array(16));
 * } catch (e) {
 *   if (e instanceof DatagramTruncatedError) console.log(e.length, e.bufferSize);
 * }
 * ```
 */
export class DatagramTruncatedError extends RangeError {
  /** The datagram's real length. */
  readonly length: number;
  /** The size of the buffer it was read into. */
  readonly bufferSize: number;
  /** The bytes that fit. */
  readonly data: Uint8Array<ArrayBuffer>;
  /** The sender. */
  readonly addr: unknown;

  /**
   * Describes a truncated datagram.
   *
   * @param length the real length.
   * @param bufferSize the buffer's size.
   * @param data the bytes that fit.
   * @param addr the sender.
   * @param from the sender, as text for the message.
   */
  constructor(
    length: number,
    bufferSize: number,
    data: Uint8Array<ArrayBuffer>,
    addr: unknown,
    from: string,
  ) {
    super(
      `datagram of ${length} bytes from ${from} was truncated to the ${bufferSize}-byte buffer ` +
        `(${length - bufferSize} bytes lost); receive() without a buffer never truncates a UDP ` +
        `datagram, and receiveDetailed() reports truncation without throwing`,
    );
    this.name = "DatagramTruncatedError";
    this.length = length;
    this.bufferSize = bufferSize;
    this.data = data;
    this.addr = addr;
  }
}

const RESULT_TUPLE = 0;
const RESULT_DETAILED = 1;
const ONE = new Uint8Array(new Int32Array([1]).buffer);
const ZERO = new Uint8Array(new Int32Array([0]).buffer);
const PEEK_BYTE = new Uint8Array(1);

/** @internal A setsockopt of an `int` through the cached libc, as a Deno-class error. */
export function setIntOption(fd: number, level: number, name: number, value: number): void {
  const bytes = value === 1
    ? ONE
    : value === 0
    ? ZERO
    : new Uint8Array(new Int32Array([value]).buffer);
  if (lib().setsockopt(fd, level, name, bytes, 4) === -1) throw netError(errno(), "setsockopt");
}

function setBytesOption(fd: number, level: number, name: number, bytes: Uint8Array): void {
  if (lib().setsockopt(fd, level, name, bytes, bytes.byteLength) === -1) {
    throw netError(errno(), "setsockopt");
  }
}

/** @internal `IPv4 a.b.c.d` → `::ffff:a.b.c.d` for an IPv6 socket. */
export function mapV4(address: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(address, 12);
  return out;
}

function isV4Mapped(address: Uint8Array): boolean {
  if (address.byteLength !== 16 || address[10] !== 0xff || address[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return false;
  return true;
}

/**
 * @internal Writes `struct sockaddr_in`/`sockaddr_in6` into `to` (≥ 28 bytes).
 *
 * @returns the address length (16 or 28).
 */
export function writeIp(
  to: Uint8Array,
  family: number,
  address: Uint8Array,
  port: number,
  scopeId = 0,
): number {
  to.fill(0, 0, 28);
  to[0] = family & 0xff;
  to[1] = family >> 8;
  to[2] = port >> 8;
  to[3] = port & 0xff;
  if (family === AF_INET6) {
    to.set(address, 8);
    to[24] = scopeId & 0xff;
    to[25] = (scopeId >>> 8) & 0xff;
    to[26] = (scopeId >>> 16) & 0xff;
    to[27] = scopeId >>> 24;
    return 28;
  }
  to.set(address, 4);
  return 16;
}

/**
 * @internal The queues, scratch buffers and syscall loops that every
 * message socket (UDP, Unix datagram, raw, ping) shares. Each operation
 * tries its syscall first and waits on the reactor only after `EAGAIN`;
 * concurrent receives (and sends that had to wait) run in call order.
 *
 * @example
 * ```ts ignore
 * import { DatagramConn, listenDatagram, MessageSocket } from "../mod.ts";
 * const conn: DatagramConn = listenDatagram({ transport: "udp", port: 0 });
 * conn instanceof MessageSocket; // true
 * conn.close();
 * ```
 */
export abstract class MessageSocket extends SocketHandle {
  /** @internal `AF_INET`, `AF_INET6` or `AF_UNIX`. */
  protected readonly domain: number;
  /** @internal Source address of the last datagram (`sockaddr_storage`). */
  protected readonly fromBytes: Uint8Array = new Uint8Array(128);
  /** @internal Its length. */
  protected readonly fromLen: Uint32Array = new Uint32Array(1);
  /** @internal Scratch destination address of the fast send path. */
  protected readonly toBytes: Uint8Array = new Uint8Array(128);
  /** @internal Receive scratch, made on first use. */
  protected scratch: Uint8Array<ArrayBuffer> | undefined;
  readonly #receives = new SerialQueue();
  readonly #sends = new SerialQueue();
  // The last source IP and its text, so a steady peer costs no inet_ntop.
  readonly #lastIp = new Uint8Array(16);
  #lastIpLength = 0;
  #lastHost = "";

  /**
   * @param fd the non-blocking descriptor, now owned.
   * @param domain its address family.
   * @param kind the name used in errors.
   */
  constructor(fd: number, domain: number, kind: string) {
    super(fd, kind);
    this.domain = domain;
  }

  /**
   * @internal Builds the result of a successful receive, synchronously
   * (before another receive may reuse `fromBytes` or the scratch buffer).
   */
  protected abstract finishReceive(
    buf: Uint8Array,
    capacity: number,
    n: number,
    own: Uint8Array | undefined,
    mode: number,
  ): unknown;

  /**
   * @internal When true, every receive reads into the scratch buffer and
   * `finishReceive` gets the caller's buffer to copy into (raw sockets:
   * ping sockets do not report a datagram's real length otherwise).
   */
  protected receivesIntoScratch = false;

  /** @internal Receives one datagram into `own` (or scratch) and finishes it. */
  protected receiveMessage(own: Uint8Array | undefined, mode: number): Promise<unknown> {
    const fd = this.handleFd;
    if (fd < 0) return Promise.reject(closedError(this.kind));
    let ownSize = 0;
    try {
      if (own !== undefined) ownSize = byteLengthOf(own, "p");
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#receives.busy) {
      const buf = own === undefined || this.receivesIntoScratch ? this.#scratchFor(fd) : own;
      if (buf !== null) {
        // The caller's buffer is measured by the intrinsic getter: its own
        // `byteLength` property may lie, and the kernel writes `capacity` bytes.
        const capacity = buf === own ? ownSize : buf.byteLength;
        this.fromLen[0] = 128;
        const n = lib().recvfrom(fd, buf, capacity, MSG_TRUNC, this.fromBytes, this.fromLen);
        if (n >= 0) {
          try {
            return Promise.resolve(this.finishReceive(buf, capacity, n, own, mode));
          } catch (error) {
            return Promise.reject(error);
          }
        }
        const e = errno();
        if (e !== EAGAIN && e !== EINTR) return Promise.reject(netError(e, "recvfrom"));
      } else {
        const e = errno();
        if (e !== EAGAIN && e !== EINTR) return Promise.reject(netError(e, "recv"));
      }
    }
    return this.#queuedReceive(own, mode);
  }

  /**
   * The buffer a receive without one reads into: the scratch, or for a
   * datagram larger than it (Unix sockets), one of its exact size.
   * Returns null when nothing is queued (errno says why).
   */
  #scratchFor(fd: number): Uint8Array | null {
    const scratch = this.scratch ??= new Uint8Array(DEFAULT_RECEIVE_SIZE);
    if (this.domain !== AF_UNIX) return scratch;
    const size = lib().recv(fd, PEEK_BYTE, 0, MSG_PEEK | MSG_TRUNC | 0x40 /* MSG_DONTWAIT */);
    if (size === -1) return null;
    return size > scratch.byteLength ? new Uint8Array(size) : scratch;
  }

  #queuedReceive(own: Uint8Array | undefined, mode: number): Promise<unknown> {
    return this.#receives.run(() => this.#receiveWhenReady(own, mode));
  }

  async #receiveWhenReady(own: Uint8Array | undefined, mode: number): Promise<unknown> {
    const c = lib();
    for (;;) {
      const fd = this.handleFd;
      if (fd < 0) throw closedError(this.kind);
      const buf = own === undefined || this.receivesIntoScratch ? this.#scratchFor(fd) : own;
      let e: number;
      if (buf !== null) {
        // Measured again after every wait: the caller may have resized or detached it.
        const capacity = buf === own ? byteLengthOf(own, "p") : buf.byteLength;
        this.fromLen[0] = 128;
        const n = c.recvfrom(fd, buf, capacity, MSG_TRUNC, this.fromBytes, this.fromLen);
        if (n >= 0) return this.finishReceive(buf, capacity, n, own, mode);
        e = errno();
      } else {
        e = errno();
      }
      if (e === EAGAIN) await reactor().readable(this.source);
      else if (e !== EINTR) throw netError(e, "recvfrom");
    }
  }

  /**
   * @internal Sends `size` bytes of `p` to the address in `to` (null: the
   * connected peer). `to` may be the shared scratch: it is copied before
   * any wait.
   */
  protected sendMessage(
    p: Uint8Array,
    size: number,
    to: Uint8Array | null,
    toLength: number,
    detail: () => string,
  ): Promise<number> {
    const fd = this.handleFd;
    if (fd < 0) return Promise.reject(closedError(this.kind));
    if (!this.#sends.busy) {
      const n = lib().sendto(fd, p, size, MSG_NOSIGNAL, to, toLength);
      if (n >= 0) return Promise.resolve(n);
      const e = errno();
      if (e !== EAGAIN && e !== EINTR) return Promise.reject(this.sendError(e, size, detail()));
    }
    return this.#queuedSend(p, size, to === null ? null : to.slice(0, toLength), toLength, detail);
  }

  #queuedSend(
    p: Uint8Array,
    size: number,
    to: Uint8Array | null,
    toLength: number,
    detail: () => string,
  ): Promise<number> {
    return this.#sends.run(() => this.#sendWhenReady(p, size, to, toLength, detail));
  }

  async #sendWhenReady(
    p: Uint8Array,
    size: number,
    to: Uint8Array | null,
    toLength: number,
    detail: () => string,
  ): Promise<number> {
    const c = lib();
    for (;;) {
      const fd = this.handleFd;
      if (fd < 0) throw closedError(this.kind);
      // The caller may have resized or detached p while the send waited.
      if (byteLengthOf(p, "p") < size) {
        throw new RangeError(`p shrank below the ${size} bytes to send while the send waited`);
      }
      const n = c.sendto(fd, p, size, MSG_NOSIGNAL, to, toLength);
      if (n >= 0) return n;
      const e = errno();
      if (e === EAGAIN) await reactor().writable(this.source);
      else if (e !== EINTR) throw this.sendError(e, size, detail());
    }
  }

  /** @internal The error of a failed send, with sizes when the kernel said EMSGSIZE. */
  protected sendError(e: number, size: number, detail: string): Error {
    if (e !== EMSGSIZE) return netError(e, "sendto", detail);
    let sndbuf = "";
    try {
      const v = new Int32Array(1);
      const len = new Uint32Array([4]);
      if (
        lib().getsockopt(this.handleFd, SOL_SOCKET, SO_SNDBUF, new Uint8Array(v.buffer), len) === 0
      ) {
        sndbuf = `, SO_SNDBUF is ${v[0]}`;
      }
    } catch {
      // closed meanwhile: no detail
    }
    return netError(
      e,
      "sendto",
      `${detail}: the kernel refused a ${size}-byte message as too large${sndbuf}`,
    );
  }

  /** @internal The text of the source IP in `fromBytes` (cached for a steady peer). */
  protected sourceHost(family: number): string {
    const from = this.fromBytes;
    const offset = family === AF_INET6 ? 8 : 4;
    const length = family === AF_INET6 ? 16 : 4;
    const last = this.#lastIp;
    if (length === this.#lastIpLength) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (last[i] !== from[offset + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#lastHost;
    }
    const bytes = from.subarray(offset, offset + length);
    last.set(bytes);
    this.#lastIpLength = length;
    return this.#lastHost = inet_ntop(family, bytes);
  }

  /** @internal The datagram's bytes as a result: a copy out of scratch, or a view of the caller's buffer. */
  protected resultBytes(
    buf: Uint8Array,
    own: Uint8Array | undefined,
    kept: number,
  ): Uint8Array<ArrayBuffer> {
    return (own === undefined ? buf.slice(0, kept) : own.subarray(0, kept)) as Uint8Array<
      ArrayBuffer
    >;
  }
}

/**
 * The addresses a {@linkcode DatagramConn} deals in: UDP or Unix datagram peers.
 *
 * @example
 * ```ts ignore
 * import type { DatagramAddr } from "../mod.ts";
 * const peer: DatagramAddr = { transport: "udp", hostname: "127.0.0.1", port: 9000 };
 * ```
 */
export type DatagramAddr = Deno.NetAddr | Deno.UnixAddr;

/**
 * Deno's `MulticastV4Membership`, over `IP_ADD_MEMBERSHIP`.
 *
 * @example
 * ```ts ignore
 * import { listenDatagram } from "../mod.ts";
 * const conn = listenDatagram({ transport: "udp", port: 5007, reuseAddress: true });
 * const membership = await conn.joinMulticastV4("239.255.0.1", "127.0.0.1");
 * await membership.setTTL(0);
 * await membership.leave();
 * ```
 */
export interface MulticastV4Membership extends Deno.MulticastV4Membership {
  /** The group joined. */
  readonly group: string;
  /** The local interface address it was joined on. */
  readonly interfaceAddress: string;
}

/**
 * Deno's `MulticastV6Membership`, over `IPV6_JOIN_GROUP`.
 *
 * @example
 * ```ts ignore
 * import { listenDatagram } from "../mod.ts";
 * const conn = listenDatagram({ transport: "udp", hostname: "::", port: 5007 });
 * const membership = await conn.joinMulticastV6("ff02::1:3", 1);
 * await membership.leave();
 * ```
 */
export interface MulticastV6Membership extends Deno.MulticastV6Membership {
  /** The group joined. */
  readonly group: string;
  /** The interface index it was joined on. */
  readonly interfaceIndex: number;
}

/**
 * A datagram socket: `Deno.DatagramConn` over libc (UDP or Unix datagram).
 *
 * - `send(p, addr)` checks `--allow-net` for the destination as Deno does
 *   (a Unix path needs read and write access), and `send(p)` sends to the
 *   peer of a connected socket;
 * - `receive(p?)` resolves with `[data, addr]`, `receiveDetailed(p?)` with
 *   `{ data, addr, length, truncated }` (see the module notes on truncation);
 * - async iteration yields `[data, addr]` until the socket is closed;
 * - multicast: `joinMulticastV4`/`joinMulticastV6` return memberships with
 *   `leave()`, `setLoopback()` and (v4) `setTTL()`.
 *
 * @example
 * ```ts ignore
 * import { listenDatagram } from "../mod.ts";
 * const server = listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
 * for await (const [data, from] of server) await server.send(data, from);
 * ```
 */
export class DatagramConn<A extends DatagramAddr = DatagramAddr> extends MessageSocket
  implements Deno.DatagramConn {
  readonly #transport: "udp" | "unixpacket";
  #addr: A;
  #remote: A | undefined;
  // The last destination, whose encoded address is left in toBytes.
  #destHost: string | undefined;
  #destPort = -1;
  #destLength = 0;
  #destLimit = 0;

  /**
   * Wraps a bound, non-blocking datagram socket ({@linkcode listenDatagram}
   * and {@linkcode connectDatagram} make these).
   *
   * @param fd the descriptor, now owned.
   * @param domain `AF_INET`, `AF_INET6` or `AF_UNIX`.
   * @param addr the local address.
   */
  constructor(fd: number, domain: number, addr: A) {
    super(fd, domain, "DatagramConn");
    this.#transport = domain === AF_UNIX ? "unixpacket" : "udp";
    this.#addr = addr;
  }

  /** The local address (with the real port when 0 was asked). */
  get addr(): A {
    return this.#addr;
  }

  /** The peer of a connected socket, or undefined. */
  get remoteAddr(): A | undefined {
    return this.#remote;
  }

  /**
   * Sends one datagram.
   *
   * @param p the payload (0 bytes is a valid datagram).
   * @param addr the destination; may be omitted on a connected socket.
   * @returns the bytes sent (all of `p`).
   * @throws {RangeError} for a UDP payload over 65,507 (IPv4) / 65,527 (IPv6) bytes, before libc.
   * @throws {Deno.errors.NotCapable} when `--allow-net` does not cover the destination.
   * @throws {Deno.errors.BadResource} when closed.
   */
  send(p: Uint8Array, addr?: Deno.Addr): Promise<number> {
    let size: number;
    try {
      if (this.handleFd < 0) throw closedError("DatagramConn");
      size = byteLengthOf(p, "p");
      if (addr === undefined || addr === null) {
        if (this.#remote === undefined) {
          throw new TypeError("send() needs a destination address: the socket is not connected");
        }
        if (this.domain !== AF_UNIX) this.#checkUdpSize(size, this.#destLimitOf(this.#remote));
        return this.sendMessage(p, size, null, 0, () => this.#describe(this.#remote!));
      }
      if (typeof addr !== "object") {
        throw new TypeError(`addr must be an address object, got ${describe(addr)}`);
      }
      if (this.domain === AF_UNIX) return this.#sendUnix(p, size, addr);
      const { hostname, port } = addr as Deno.NetAddr;
      if (typeof hostname !== "string") throw new TypeError("addr.hostname must be a string");
      checkPort(port, "addr.port");
      checkNet(hostname, port);
      if (hostname !== this.#destHost || port !== this.#destPort) {
        if (!this.#encodeNumeric(hostname, port)) {
          return this.#sendResolved(p, size, hostname, port);
        }
      }
      this.#checkUdpSize(size, this.#destLimit);
      return this.sendMessage(p, size, this.toBytes, this.#destLength, () => `${hostname}:${port}`);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #sendUnix(p: Uint8Array, size: number, addr: Deno.Addr): Promise<number> {
    const path = (addr as Deno.UnixAddr).path;
    if (typeof path !== "string") throw new TypeError("addr.path must be a string");
    const to = encodeUnix(path);
    checkUnixPath(path);
    return this.sendMessage(p, size, to, to.byteLength, () => JSON.stringify(path));
  }

  #checkUdpSize(size: number, limit: number): void {
    if (size > limit) {
      throw new RangeError(
        `a UDP datagram over ${limit === MAX_UDP_PAYLOAD_V4 ? "IPv4" : "IPv6"} carries at most ` +
          `${limit} bytes of payload; got ${size}`,
      );
    }
  }

  #destLimitOf(addr: DatagramAddr): number {
    const host = (addr as Deno.NetAddr).hostname;
    return this.domain === AF_INET || host.includes(".") ? MAX_UDP_PAYLOAD_V4 : MAX_UDP_PAYLOAD_V6;
  }

  /** Encodes a numeric destination into toBytes; false when it needs resolving. */
  #encodeNumeric(hostname: string, port: number): boolean {
    const numeric = parseNumericHost(hostname);
    if (numeric === null) return false;
    this.#encodeEndpoint({ ...numeric, port }, hostname);
    this.#destHost = hostname;
    this.#destPort = port;
    return true;
  }

  #encodeEndpoint(endpoint: IpEndpoint, hostname: string): void {
    let { family, address } = endpoint;
    this.#destLimit = family === AF_INET || isV4Mapped(address)
      ? MAX_UDP_PAYLOAD_V4
      : MAX_UDP_PAYLOAD_V6;
    if (family !== this.domain) {
      if (family === AF_INET && this.domain === AF_INET6) {
        address = mapV4(address);
        family = AF_INET6;
      } else {
        throw new TypeError(
          `cannot send to the IPv6 address ${hostname} from an IPv4 socket (bound to ${
            (this.#addr as Deno.NetAddr).hostname
          })`,
        );
      }
    }
    this.#destLength = writeIp(this.toBytes, family, address, endpoint.port, endpoint.scopeId);
  }

  async #sendResolved(p: Uint8Array, size: number, hostname: string, port: number) {
    const endpoints = await resolve(hostname, port, SOCK_DGRAM);
    const endpoint = endpoints.find((e) => e.family === this.domain) ??
      endpoints.find((e) => e.family === AF_INET && this.domain === AF_INET6) ?? endpoints[0];
    this.#destHost = undefined; // a name may resolve differently next time
    this.#encodeEndpoint(endpoint, hostname);
    this.#checkUdpSize(size, this.#destLimit);
    return await this.sendMessage(p, size, this.toBytes, this.#destLength, () => hostname);
  }

  /**
   * Waits for and resolves to the next datagram.
   *
   * @param p optional buffer; without it a 64 KiB scratch is used and the
   *   result is an exact copy (never truncated for UDP).
   * @returns `[data, addr]`; with `p`, `data` is a view of `p`.
   * @throws {DatagramTruncatedError} when the datagram was larger than `p`.
   * @throws {Deno.errors.BadResource} when the socket is (or gets) closed.
   * @throws {Deno.errors.ConnectionRefused} on a connected UDP socket whose peer's port is closed.
   */
  receive(p?: Uint8Array): Promise<[Uint8Array<ArrayBuffer>, A]> {
    return this.receiveMessage(p, RESULT_TUPLE) as Promise<[Uint8Array<ArrayBuffer>, A]>;
  }

  /**
   * Like {@linkcode DatagramConn.receive}, but reports truncation instead of
   * rejecting.
   *
   * @param p optional buffer.
   * @returns `{ data, addr, length, truncated }`.
   */
  receiveDetailed(p?: Uint8Array): Promise<DatagramInfo<A>> {
    return this.receiveMessage(p, RESULT_DETAILED) as Promise<DatagramInfo<A>>;
  }

  /** @internal */
  protected finishReceive(
    buf: Uint8Array,
    capacity: number,
    n: number,
    own: Uint8Array | undefined,
    mode: number,
  ): unknown {
    const addr = this.#source();
    const kept = n > capacity ? capacity : n;
    const data = this.resultBytes(buf, own, kept);
    if (mode === RESULT_DETAILED) return { data, addr, length: n, truncated: n > capacity };
    if (n > capacity) {
      throw new DatagramTruncatedError(n, capacity, data, addr, this.#describe(addr));
    }
    return [data, addr];
  }

  #source(): A {
    const len = this.fromLen[0];
    const from = this.fromBytes;
    const family = len >= 2 ? from[0] | (from[1] << 8) : AF_UNSPEC;
    if (family === AF_INET || family === AF_INET6) {
      return {
        transport: "udp",
        hostname: this.sourceHost(family),
        port: (from[2] << 8) | from[3],
      } as A;
    }
    if (family === AF_UNIX) {
      return { transport: "unixpacket", path: decodeSockaddr(from, len).path ?? "" } as A;
    }
    // No address (a connected Unix socket may report none): the peer if known.
    return this.#remote ??
      (this.#transport === "udp"
        ? { transport: "udp", hostname: "", port: 0 } as A
        : { transport: "unixpacket", path: "" } as A);
  }

  #describe(addr: DatagramAddr): string {
    if ("path" in addr) return JSON.stringify(addr.path);
    return addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }

  /**
   * Connects the socket to one peer (`connect(2)`): afterwards `send(p)`
   * needs no address and only that peer's datagrams are received.
   *
   * @param addr the peer.
   * @throws {Deno.errors.NotCapable} when `--allow-net` does not cover it.
   */
  async connect(addr: A): Promise<void> {
    if (typeof addr !== "object" || addr === null) {
      throw new TypeError(`addr must be an address object, got ${describe(addr)}`);
    }
    let to: Uint8Array;
    let remote: A;
    if (this.domain === AF_UNIX) {
      const path = (addr as Deno.UnixAddr).path;
      to = encodeUnix(path);
      checkUnixPath(path);
      remote = { transport: "unixpacket", path } as A;
    } else {
      const { hostname, port } = addr as Deno.NetAddr;
      if (typeof hostname !== "string") throw new TypeError("addr.hostname must be a string");
      checkPort(port, "addr.port");
      checkNet(hostname, port);
      const endpoints = await resolve(hostname, port, SOCK_DGRAM);
      const endpoint = endpoints.find((e) => e.family === this.domain) ?? endpoints[0];
      this.#encodeEndpoint(endpoint, hostname);
      this.#destHost = undefined;
      to = this.toBytes.slice(0, this.#destLength);
      remote = {
        transport: "udp",
        hostname: inet_ntop(endpoint.family, endpoint.address),
        port,
      } as A;
    }
    const fd = this.openFd();
    if (lib().connect(fd, to, to.byteLength) === -1) {
      throw netError(errno(), "connect", this.#describe(remote));
    }
    this.#remote = remote;
    this.#refreshLocal(fd);
  }

  /** Dissolves the association made by {@linkcode DatagramConn.connect} (`connect` with `AF_UNSPEC`). */
  disconnect(): void {
    const fd = this.openFd();
    const unspec = new Uint8Array(16);
    if (lib().connect(fd, unspec, unspec.byteLength) === -1) {
      throw netError(errno(), "connect", "AF_UNSPEC");
    }
    this.#remote = undefined;
  }

  #refreshLocal(fd: number): void {
    // Connecting an unbound socket binds it: the local address may change.
    const len = new Uint32Array([128]);
    const bytes = new Uint8Array(128);
    if (lib().getsockname(fd, bytes, len) === 0 && this.domain !== AF_UNIX) {
      const d = decodeSockaddr(bytes, len[0]);
      this.#addr = {
        transport: "udp",
        hostname: inet_ntop(d.family, d.bytes!),
        port: d.port!,
      } as A;
    }
  }

  /**
   * Joins an IPv4 multicast group on the interface with the given local
   * address (`IP_ADD_MEMBERSHIP` with `struct ip_mreqn`).
   *
   * @param address the group, e.g. `"239.255.0.1"`.
   * @param networkInterface the interface's IPv4 address, e.g. `"127.0.0.1"`; `"0.0.0.0"` lets the kernel choose.
   * @returns the membership (`leave`, `setLoopback`, `setTTL`).
   * @throws {TypeError} when either is not an IPv4 address, or the group is not multicast (224.0.0.0/4).
   */
  joinMulticastV4(address: string, networkInterface: string): Promise<MulticastV4Membership> {
    try {
      const group = inet_pton(AF_INET, String(address));
      if (group === null || (group[0] & 0xf0) !== 0xe0) {
        throw new TypeError(
          `not an IPv4 multicast group (224.0.0.0/4): ${JSON.stringify(address)}`,
        );
      }
      const iface = inet_pton(AF_INET, String(networkInterface));
      if (iface === null) {
        throw new TypeError(
          `networkInterface must be an IPv4 address, got ${JSON.stringify(networkInterface)}`,
        );
      }
      const mreq = new Uint8Array(12); // struct ip_mreqn, ifindex 0
      mreq.set(group, 0);
      mreq.set(iface, 4);
      const fd = this.openFd();
      setBytesOption(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq);
      const membership: MulticastV4Membership = {
        group: address,
        interfaceAddress: networkInterface,
        leave: this.#leaver(IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq),
        setLoopback: (loopback: boolean) =>
          this.#optionLater(IPPROTO_IP, IP_MULTICAST_LOOP, boolArg(loopback, "loopback")),
        setTTL: (ttl: number) =>
          this.#optionLater(IPPROTO_IP, IP_MULTICAST_TTL, checkInteger(ttl, "ttl", 0, 255)),
      };
      return Promise.resolve(membership);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A membership's `leave`: drops it once; later calls do nothing. */
  #leaver(level: number, name: number, mreq: Uint8Array): () => Promise<void> {
    let joined = true;
    return () => {
      try {
        if (joined) {
          setBytesOption(this.openFd(), level, name, mreq);
          joined = false;
        }
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    };
  }

  /**
   * Joins an IPv6 multicast group on an interface (`IPV6_JOIN_GROUP`).
   *
   * @param address the group, e.g. `"ff02::1:3"`.
   * @param networkInterface the interface index (`1` is usually `lo`; 0 lets the kernel choose).
   * @returns the membership (`leave`, `setLoopback`).
   * @throws {TypeError} when the group is not an IPv6 multicast address (ff00::/8).
   */
  joinMulticastV6(address: string, networkInterface: number): Promise<MulticastV6Membership> {
    try {
      const group = inet_pton(AF_INET6, String(address));
      if (group === null || group[0] !== 0xff) {
        throw new TypeError(`not an IPv6 multicast group (ff00::/8): ${JSON.stringify(address)}`);
      }
      const index = checkInteger(networkInterface, "networkInterface", 0, 0xffffffff);
      const mreq = new Uint8Array(20);
      mreq.set(group, 0);
      new DataView(mreq.buffer).setUint32(16, index, true);
      setBytesOption(this.openFd(), IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq);
      const membership: MulticastV6Membership = {
        group: address,
        interfaceIndex: index,
        leave: this.#leaver(IPPROTO_IPV6, IPV6_LEAVE_GROUP, mreq),
        setLoopback: (loopback: boolean) =>
          this.#optionLater(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, boolArg(loopback, "loopback")),
      };
      return Promise.resolve(membership);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #optionLater(level: number, name: number, value: number): Promise<void> {
    try {
      setIntOption(this.openFd(), level, name, value);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Chooses the interface outgoing multicast leaves by: an IPv4 address
   * (`IP_MULTICAST_IF`) or an IPv6 interface index (`IPV6_MULTICAST_IF`).
   * Set it before sending to a group, or the kernel picks the default route's interface.
   *
   * @param networkInterface `"127.0.0.1"` / an index such as `1` (lo).
   */
  setMulticastInterface(networkInterface: string | number): void {
    const fd = this.openFd();
    if (typeof networkInterface === "number") {
      setIntOption(
        fd,
        IPPROTO_IPV6,
        IPV6_MULTICAST_IF,
        checkInteger(networkInterface, "networkInterface", 0, 0x7fffffff),
      );
      return;
    }
    const iface = inet_pton(AF_INET, String(networkInterface));
    if (iface === null) {
      throw new TypeError(
        `networkInterface must be an IPv4 address or an interface index, got ${
          JSON.stringify(networkInterface)
        }`,
      );
    }
    setBytesOption(fd, IPPROTO_IP, IP_MULTICAST_IF, iface);
  }

  /**
   * Sets the multicast loopback (`IP_MULTICAST_LOOP`, and `IPV6_MULTICAST_LOOP` on IPv6).
   *
   * @param loopback true to loop outgoing multicast back to local sockets.
   */
  setLoopback(loopback: boolean): void {
    const fd = this.openFd();
    const on = boolArg(loopback, "loopback");
    if (this.domain === AF_INET6) setIntOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on);
    else setIntOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, on);
  }

  /**
   * Sets the unicast time to live (`IP_TTL`, or `IPV6_UNICAST_HOPS` on IPv6).
   *
   * @param ttl 1..255.
   */
  setTTL(ttl: number): void {
    const fd = this.openFd();
    const value = checkInteger(ttl, "ttl", 1, 255);
    if (this.domain === AF_INET6) setIntOption(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, value);
    else setIntOption(fd, IPPROTO_IP, IP_TTL, value);
  }

  /**
   * Allows (or forbids) sending to broadcast addresses (`SO_BROADCAST`).
   *
   * @param broadcast true to allow.
   */
  setBroadcast(broadcast: boolean): void {
    setIntOption(this.openFd(), SOL_SOCKET, SO_BROADCAST, boolArg(broadcast, "broadcast"));
  }

  /** Yields `[data, addr]` for each datagram until the socket is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, A]> {
    for (;;) {
      try {
        yield await this.receive();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource && this.closed) return;
        throw error;
      }
    }
  }
}

function boolArg(value: unknown, name: string): number {
  if (typeof value !== "boolean") {
    throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  }
  return value ? 1 : 0;
}

function unixOptions(
  options: UnixDatagramListenOptions | UnixDatagramConnectOptions,
): void {
  if (options.transport !== "unixgram" && options.transport !== "unixpacket") {
    throw new TypeError(`unsupported transport ${JSON.stringify(options.transport)}`);
  }
}

function bindUnix(fd: number, path: string): void {
  const address = encodeUnix(path);
  checkUnixPath(path);
  if (lib().bind(fd, address, address.byteLength) === -1) {
    throw netError(errno(), "bind", JSON.stringify(path));
  }
}

/**
 * Opens a datagram socket, like `Deno.listenDatagram`: UDP bound to
 * `hostname:port` (checked against `--allow-net`), or a Unix datagram
 * socket bound to `path` (checked against `--allow-read`/`--allow-write`;
 * unbound when `path` is omitted).
 *
 * @param options where to bind.
 * @returns the socket.
 * @throws {Deno.errors.AddrInUse} when the address is taken.
 * @throws {Deno.errors.NotCapable} without the permissions.
 * @throws {TypeError | RangeError} for bad options.
 * @example
 * ```ts ignore
 * import { listenDatagram } from "../mod.ts";
 * const conn = listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
 * console.log(conn.addr.port);
 * conn.close();
 * ```
 */
export function listenDatagram(options: UdpListenOptions): DatagramConn<Deno.NetAddr>;
/**
 * Opens a Unix datagram socket (bound to `path`, or unbound); see the UDP overload above.
 *
 * @example
 * ```ts ignore
 * import { listenDatagram } from "../mod.ts";
 * const conn = listenDatagram({ transport: "unixgram", path: "/tmp/app.dgram" });
 * const [data, from] = await conn.receive();
 * conn.close();
 * ```
 */
export function listenDatagram(options: UnixDatagramListenOptions): DatagramConn<Deno.UnixAddr>;
export function listenDatagram(
  options: UdpListenOptions | UnixDatagramListenOptions,
): DatagramConn<Deno.NetAddr> | DatagramConn<Deno.UnixAddr> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  if (options.transport !== "udp") {
    unixOptions(options);
    const path = options.path;
    if (path !== undefined) {
      encodeUnix(path);
      checkUnixPath(path);
    }
    const fd = openSocket(AF_UNIX, SOCK_DGRAM);
    try {
      if (path !== undefined) bindUnix(fd, path);
    } catch (error) {
      lib().close(fd);
      throw error;
    }
    return new DatagramConn<Deno.UnixAddr>(fd, AF_UNIX, {
      transport: "unixpacket",
      path: path ?? "",
    });
  }
  return openUdp(options, true);
}

/** Opens and binds a UDP socket; `check` is false for the implicit local bind of connectDatagram. */
function openUdp(options: UdpListenOptions, check: boolean): DatagramConn<Deno.NetAddr> {
  const port = checkPort(options.port);
  const hostname = options.hostname ?? "0.0.0.0";
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  for (const flag of ["reuseAddress", "reusePort", "broadcast", "loopback", "ipv6Only"] as const) {
    const value = options[flag];
    if (value !== undefined && typeof value !== "boolean") {
      throw new TypeError(`${flag} must be a boolean, got ${describe(value)}`);
    }
  }
  if (check) checkNet(hostname, port);
  const [endpoint] = resolveSync(hostname, port);
  const fd = openSocket(endpoint.family, SOCK_DGRAM);
  try {
    if (options.reuseAddress) setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (options.reusePort) setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (options.broadcast) setIntOption(fd, SOL_SOCKET, SO_BROADCAST, 1);
    const loop = options.loopback ? 1 : 0;
    if (endpoint.family === AF_INET6) {
      setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, options.ipv6Only ? 1 : 0);
      setIntOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, loop);
      // For IPv4 groups on a dual-stack socket; refused on a v6-only one.
      lib().setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, loop ? ONE : ZERO, 4);
    } else {
      setIntOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, loop);
    }
    const address = new Uint8Array(28);
    const length = writeIp(address, endpoint.family, endpoint.address, port, endpoint.scopeId);
    if (lib().bind(fd, address, length) === -1) {
      throw netError(errno(), "bind", `${hostname}:${port}`);
    }
    return new DatagramConn<Deno.NetAddr>(
      fd,
      endpoint.family,
      socketAddress(fd, "getsockname", "udp") as Deno.NetAddr,
    );
  } catch (error) {
    lib().close(fd);
    throw error;
  }
}

/**
 * Opens a connected datagram socket: `send(p)` goes to the peer, only the
 * peer's datagrams are received, and ICMP errors (a closed UDP port)
 * surface as `Deno.errors.ConnectionRefused` on the next call.
 *
 * @param options the peer (and optionally the local address to bind first).
 * @returns the connected socket.
 * @throws {Deno.errors.NotCapable} without the permissions.
 * @throws {Deno.errors.ConnectionRefused} for a Unix path nobody has bound.
 * @example
 * ```ts ignore
 * import { connectDatagram } from "../mod.ts";
 * const conn = await connectDatagram({ hostname: "127.0.0.1", port: 5353, transport: "udp" });
 * await conn.send(new TextEncoder().encode("ping"));
 * const [reply] = await conn.receive();
 * conn.close();
 * ```
 */
export function connectDatagram(options: UdpConnectOptions): Promise<DatagramConn<Deno.NetAddr>>;
/**
 * Connects a Unix datagram socket to the peer at `path`; see the UDP overload above.
 *
 * @example
 * ```ts ignore
 * import { connectDatagram } from "../mod.ts";
 * const conn = await connectDatagram({ transport: "unixgram", path: "/run/app.sock" });
 * await conn.send(new TextEncoder().encode("ping"));
 * conn.close();
 * ```
 */
export function connectDatagram(
  options: UnixDatagramConnectOptions,
): Promise<DatagramConn<Deno.UnixAddr>>;
export async function connectDatagram(
  options: UdpConnectOptions | UnixDatagramConnectOptions,
): Promise<DatagramConn<Deno.NetAddr> | DatagramConn<Deno.UnixAddr>> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  if (options.transport !== "udp") {
    unixOptions(options);
    const { path, localPath } = options;
    encodeUnix(path);
    checkUnixPath(path);
    const conn = listenDatagram(
      localPath === undefined
        ? { transport: "unixgram" }
        : { transport: "unixgram", path: localPath },
    );
    try {
      await conn.connect({ transport: "unixpacket", path });
    } catch (error) {
      conn.close();
      throw error;
    }
    return conn;
  }
  const port = checkPort(options.port);
  const hostname = options.hostname ?? "127.0.0.1";
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  checkNet(hostname, port);
  const endpoints = await resolve(hostname, port, SOCK_DGRAM);
  const v6 = endpoints[0].family === AF_INET6;
  // Read once: whether the local bind is checked must follow the values bound.
  const { localHostname, localPort } = options;
  const local = localHostname !== undefined || localPort !== undefined;
  const conn = openUdp({
    transport: "udp",
    hostname: localHostname ?? (v6 ? "::" : "0.0.0.0"),
    port: localPort ?? 0,
  }, local);
  try {
    await conn.connect({
      transport: "udp",
      hostname: inet_ntop(endpoints[0].family, endpoints[0].address),
      port,
    });
  } catch (error) {
    conn.close();
    throw error;
  }
  return conn;
}

/**
 * Options of {@linkcode listenSeqpacket}.
 *
 * @example
 * ```ts ignore
 * import { listenSeqpacket } from "../mod.ts";
 * const listener = listenSeqpacket({ path: "/tmp/app.sock", backlog: 16 });
 * ```
 */
export interface SeqpacketListenOptions {
  /** The path to bind; a leading `"\0"` is a Linux abstract name. */
  path: string;
  /** Pending-connection queue length (default 511). */
  backlog?: number;
}

/**
 * Options of {@linkcode connectSeqpacket}.
 *
 * @example
 * ```ts ignore
 * import { connectSeqpacket } from "../mod.ts";
 * const conn = await connectSeqpacket({ path: "/tmp/app.sock" });
 * ```
 */
export interface SeqpacketConnectOptions {
  /** The listener's path. */
  path: string;
}

/**
 * A connected Unix `SOCK_SEQPACKET` socket: reliable, ordered messages
 * whose boundaries are kept (each `send` is one `receive`), between two
 * ends of a connection.
 *
 * `receive()` resolves with `null` once the peer has closed. An empty
 * message is told apart from the end by `poll` (`POLLRDHUP`/`POLLHUP`); an
 * empty message sent right before closing reads as the end.
 *
 * @example
 * ```ts ignore
 * import { connectSeqpacket } from "../mod.ts";
 * const conn = await connectSeqpacket({ path: "/tmp/app.sock" });
 * await conn.send(new TextEncoder().encode("request"));
 * const reply = await conn.receive(); // one whole message, or null at the end
 * conn.close();
 * ```
 */
export class SeqpacketConn extends MessageSocket {
  readonly #local: Deno.UnixAddr;
  readonly #remote: Deno.UnixAddr;
  readonly #poll = new Uint8Array(8);

  /**
   * Wraps a connected, non-blocking `SOCK_SEQPACKET` descriptor.
   *
   * @param fd the descriptor, now owned.
   * @param local the local address.
   * @param remote the peer's address.
   */
  constructor(fd: number, local: Deno.UnixAddr, remote: Deno.UnixAddr) {
    super(fd, AF_UNIX, "SeqpacketConn");
    this.#local = local;
    this.#remote = remote;
  }

  /** The local address (`path` is `""` for an unnamed client). */
  get localAddr(): Deno.UnixAddr {
    return this.#local;
  }

  /** The peer's address. */
  get remoteAddr(): Deno.UnixAddr {
    return this.#remote;
  }

  /**
   * Sends one message.
   *
   * @param p the message.
   * @returns the bytes sent (all of `p`).
   * @throws {Deno.errors.BrokenPipe} when the peer has closed.
   * @throws {SocketError} `EMSGSIZE` for a message beyond the send buffer.
   */
  send(p: Uint8Array): Promise<number> {
    try {
      const size = byteLengthOf(p, "p");
      return this.sendMessage(p, size, null, 0, () => JSON.stringify(this.#remote.path));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Waits for the next message.
   *
   * @param p optional buffer (without one, the message is sized exactly).
   * @returns the message, or `null` when the peer has closed.
   * @throws {DatagramTruncatedError} when the message is larger than `p`.
   */
  receive(p?: Uint8Array): Promise<Uint8Array<ArrayBuffer> | null> {
    return this.receiveMessage(p, RESULT_TUPLE) as Promise<Uint8Array<ArrayBuffer> | null>;
  }

  /**
   * Like {@linkcode SeqpacketConn.receive}, reporting truncation instead of rejecting.
   *
   * @param p optional buffer.
   * @returns `{ data, addr, length, truncated }`, or `null` at the end.
   */
  receiveDetailed(p?: Uint8Array): Promise<DatagramInfo<Deno.UnixAddr> | null> {
    return this.receiveMessage(p, RESULT_DETAILED) as Promise<
      DatagramInfo<Deno.UnixAddr> | null
    >;
  }

  /** @internal */
  protected finishReceive(
    buf: Uint8Array,
    capacity: number,
    n: number,
    own: Uint8Array | undefined,
    mode: number,
  ): unknown {
    if (n === 0 && this.#peerGone()) return null;
    const kept = n > capacity ? capacity : n;
    const data = this.resultBytes(buf, own, kept);
    const addr = this.#remote;
    if (mode === RESULT_DETAILED) return { data, addr, length: n, truncated: n > capacity };
    if (n > capacity) {
      throw new DatagramTruncatedError(n, capacity, data, addr, JSON.stringify(addr.path));
    }
    return data;
  }

  #peerGone(): boolean {
    const pfd = this.#poll;
    pfd.fill(0);
    new DataView(pfd.buffer).setInt32(0, this.handleFd, true);
    pfd[4] = POLLIN & 0xff;
    pfd[5] = POLLRDHUP >> 8;
    if (lib().poll(pfd, 1, 0) !== 1) return false;
    const revents = pfd[6] | (pfd[7] << 8);
    return (revents & (POLLHUP | POLLRDHUP)) !== 0;
  }

  /** Yields each message until the peer closes or the socket is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array<ArrayBuffer>> {
    for (;;) {
      let message: Uint8Array<ArrayBuffer> | null;
      try {
        message = await this.receive();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource && this.closed) return;
        throw error;
      }
      if (message === null) return;
      yield message;
    }
  }
}

const ACCEPT_FLAGS = 0o4000 | 0o2000000; // SOCK_NONBLOCK | SOCK_CLOEXEC

/**
 * A listening Unix `SOCK_SEQPACKET` socket: `accept()` and async iteration
 * give a {@linkcode SeqpacketConn} per client.
 *
 * @example
 * ```ts ignore
 * import { listenSeqpacket } from "../mod.ts";
 * const listener = listenSeqpacket({ path: "/tmp/app.sock" });
 * for await (const conn of listener) {
 *   for await (const message of conn) await conn.send(message);
 * }
 * ```
 */
export class SeqpacketListener extends SocketHandle {
  readonly #addr: Deno.UnixAddr;
  #accepting = false;

  /**
   * Wraps a bound, listening, non-blocking descriptor.
   *
   * @param fd the descriptor, now owned.
   * @param addr the bound address.
   */
  constructor(fd: number, addr: Deno.UnixAddr) {
    super(fd, "SeqpacketListener");
    this.#addr = addr;
  }

  /** The bound address. */
  get addr(): Deno.UnixAddr {
    return this.#addr;
  }

  /**
   * Waits for the next connection.
   *
   * @returns the connection.
   * @throws {Deno.errors.BadResource} when the listener is (or gets) closed.
   * @throws {Deno.errors.Busy} when another accept is pending.
   */
  async accept(): Promise<SeqpacketConn> {
    if (this.handleFd < 0) throw closedError(this.kind);
    if (this.#accepting) throw busyError("accept");
    this.#accepting = true;
    try {
      for (;;) {
        const fd = this.handleFd;
        if (fd < 0) throw closedError(this.kind);
        const connFd = lib().accept4(fd, null, null, ACCEPT_FLAGS);
        if (connFd >= 0) {
          return new SeqpacketConn(connFd, this.#addr, { transport: "unixpacket", path: "" });
        }
        const e = errno();
        if (e === EAGAIN) await reactor().readable(this.source);
        else if (e !== EINTR && e !== ECONNABORTED) throw netError(e, "accept");
      }
    } finally {
      this.#accepting = false;
    }
  }

  /** Yields connections until the listener is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<SeqpacketConn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource && this.closed) return;
        throw error;
      }
    }
  }
}

/**
 * Listens on a Unix `SOCK_SEQPACKET` socket (message boundaries kept,
 * connection-oriented). Needs read and write access to the path.
 *
 * @param options the path (and backlog).
 * @returns the listener.
 * @throws {Deno.errors.AddrInUse} when the path exists.
 * @example
 * ```ts ignore
 * import { listenSeqpacket } from "../mod.ts";
 * const listener = listenSeqpacket({ path: "/tmp/app.sock" });
 * const conn = await listener.accept();
 * ```
 */
export function listenSeqpacket(options: SeqpacketListenOptions): SeqpacketListener {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be { path, backlog? }");
  }
  // Read once: the path checked must be the path bound.
  const path = options.path;
  const address = encodeUnix(path);
  checkUnixPath(path);
  const backlog = checkInteger(options.backlog ?? 511, "backlog", 0, 0x7fffffff);
  const fd = openSocket(AF_UNIX, SOCK_SEQPACKET);
  const c = lib();
  if (c.bind(fd, address, address.byteLength) === -1 || c.listen(fd, backlog) === -1) {
    const error = netError(errno(), "bind/listen", JSON.stringify(path));
    c.close(fd);
    throw error;
  }
  return new SeqpacketListener(fd, { transport: "unixpacket", path });
}

/**
 * Connects to a Unix `SOCK_SEQPACKET` listener.
 *
 * @param options the listener's path.
 * @returns the connection.
 * @throws {Deno.errors.NotFound} when nothing is at the path.
 * @throws {Deno.errors.ConnectionRefused} when nobody listens there.
 * @example
 * ```ts ignore
 * import { connectSeqpacket } from "../mod.ts";
 * const conn = await connectSeqpacket({ path: "/tmp/app.sock" });
 * conn.close();
 * ```
 */
export async function connectSeqpacket(options: SeqpacketConnectOptions): Promise<SeqpacketConn> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be { path }");
  }
  // Read once: the path checked must be the path connected to.
  const path = options.path;
  const address = encodeUnix(path);
  checkUnixPath(path);
  const fd = openSocket(AF_UNIX, SOCK_SEQPACKET);
  const remote: Deno.UnixAddr = { transport: "unixpacket", path };
  const conn = new SeqpacketConn(fd, { transport: "unixpacket", path: "" }, remote);
  try {
    for (;;) {
      if (lib().connect(fd, address, address.byteLength) === 0) return conn;
      const e = errno();
      // A full backlog: wait for room, then try again.
      if (e === EAGAIN) await reactor().writable((conn as unknown as { source: IoSource }).source);
      else if (e !== EINTR) throw netError(e, "connect", JSON.stringify(path));
    }
  } catch (error) {
    conn.close();
    throw error;
  }
}
