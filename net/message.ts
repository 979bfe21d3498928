/**
 * The message-socket engine that every datagram-like socket kind shares
 * (UDP, Unix datagram, seqpacket, raw and ping sockets): the send and
 * receive queues, the scratch buffers, the syscall loops, and truncation
 * reporting.
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
 * ## Lengths are measured last
 *
 * A send measures its payload after every other argument has been read
 * (an address object's getters may run user code that resizes the
 * buffer), and again after every wait, so the kernel never reads past the
 * end of the payload.
 *
 * @module
 */

import { byteLengthOf } from "../ffi/checks.ts";
import {
  AF_UNIX,
  EAGAIN,
  EINTR,
  EMSGSIZE,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_PEEK,
  MSG_TRUNC,
  SO_SNDBUF,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { inet_ntop } from "../ffi/convert.ts";
import { errno } from "../ffi/libc.ts";
import { reactor } from "../reactor/reactor.ts";
import { ipAddressSpan } from "./families/mod.ts";
import { closedError, netError } from "./errors.ts";
import { getIntOption } from "./options.ts";
import { SerialQueue } from "./serial.ts";
import { lib, SocketHandle } from "./socket.ts";

/**
 * Size of the scratch buffer `receive()` uses when given none.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { DEFAULT_RECEIVE_SIZE, listenDatagram } from "../mod.ts";
 * using conn = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * const buf = new Uint8Array(DEFAULT_RECEIVE_SIZE); // holds any UDP datagram
 * await conn.send(new Uint8Array(1000), conn.addr);
 * const [data] = await conn.receive(buf);
 * data.byteLength; // 1000
 * ```
 */
export const DEFAULT_RECEIVE_SIZE = 65536;

/**
 * What {@linkcode DatagramConn.receiveDetailed} resolves to.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { type DatagramInfo, listenDatagram } from "../mod.ts";
 * using conn = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * await conn.send(new Uint8Array(600), conn.addr);
 * const info: DatagramInfo<Deno.NetAddr> = await conn.receiveDetailed(new Uint8Array(512));
 * info.truncated; // true: the datagram did not fit
 * info.length - info.data.byteLength; // 88 bytes lost
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
 * @category Datagrams
 * @example
 * ```ts
 * import { DatagramTruncatedError, listenDatagram } from "../mod.ts";
 * using conn = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * await conn.send(new Uint8Array(100), conn.addr);
 * const error = await conn.receive(new Uint8Array(16)).catch((e) => e);
 * error instanceof DatagramTruncatedError; // true
 * [error.length, error.bufferSize, error.data.byteLength]; // [100, 16, 16]
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

/** @internal `receive()` resolves to the kind's plain result. */
export const RESULT_TUPLE = 0;
/** @internal `receiveDetailed()` resolves to a {@linkcode DatagramInfo}. */
export const RESULT_DETAILED = 1;
// Room for any source address (sockaddr_storage).
const FROM_BYTES = 128;
const PEEK_BYTE = new Uint8Array(1);

/**
 * The base class of every message socket: the queues, scratch buffers and syscall loops that every
 * message socket (UDP, Unix datagram, raw, ping) shares. Each operation
 * tries its syscall first and waits on the reactor only after `EAGAIN`;
 * concurrent receives (and sends that had to wait) run in call order.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { DatagramConn, listenDatagram, MessageSocket } from "../mod.ts";
 * const conn: DatagramConn = listenDatagram({ transport: "udp", port: 0 });
 * conn instanceof MessageSocket; // true
 * conn.close();
 * ```
 */
export abstract class MessageSocket<Result = unknown, Detailed = unknown> extends SocketHandle {
  /** @internal `AF_INET`, `AF_INET6` or `AF_UNIX`. */
  protected readonly domain: number;
  /** @internal Source address of the last datagram (`sockaddr_storage`). */
  protected readonly fromBytes: Uint8Array = new Uint8Array(FROM_BYTES);
  /** @internal Its length. */
  protected readonly fromLen: Uint32Array = new Uint32Array(1);
  /** @internal Scratch destination address of the fast send path. */
  protected readonly toBytes: Uint8Array = new Uint8Array(FROM_BYTES);
  /** @internal Receive scratch, made on first use. */
  protected scratch: Uint8Array<ArrayBuffer> | undefined;
  readonly #receives = new SerialQueue();
  readonly #sends = new SerialQueue();
  // The last source IP and its text, so a steady peer costs no inet_ntop.
  readonly #lastIp = new Uint8Array(16);
  #lastIpLength = 0;
  #lastHost = "";

  /**
   * Takes ownership of a non-blocking message socket (the subclasses' constructors call it).
   *
   * @param fd the non-blocking descriptor, now owned.
   * @param domain its address family.
   * @param kind the name used in errors.
   */
  constructor(fd: number, domain: number, kind: string) {
    super(fd, kind);
    this.domain = domain;
  }

  /** @internal Whether `receive` resolves `[data, addr]` (datagrams) or `data` alone (seqpacket). */
  protected readonly tupleResults: boolean = true;

  /** @internal The sender of the datagram just received (read from `fromBytes`/`fromLen`). */
  protected abstract sourceAddress(): unknown;

  /** @internal An address as text, for truncation messages. */
  protected abstract describeAddress(addr: unknown): string;

  /** @internal Whether an empty message just received is in fact the end (seqpacket). */
  protected endOfMessages(): boolean {
    return false;
  }

  /**
   * Waits for and resolves to the next message.
   *
   * @param p optional buffer; without it a 64 KiB scratch is used and the
   *   result is an exact copy (never truncated for UDP).
   * @returns `[data, addr]` (seqpacket: `data`, or `null` at the end); with `p`, `data` is a view of `p`.
   * @throws {DatagramTruncatedError} when the message was larger than `p`.
   * @throws {Deno.errors.BadResource} when the socket is (or gets) closed.
   * @throws {Deno.errors.ConnectionRefused} on a connected UDP socket whose peer's port is closed.
   */
  receive(p?: Uint8Array): Promise<Result> {
    return this.receiveMessage(p, RESULT_TUPLE) as Promise<Result>;
  }

  /**
   * Like {@linkcode MessageSocket.receive}, but reports truncation instead of rejecting.
   *
   * @param p optional buffer.
   * @returns `{ data, addr, length, truncated }` (seqpacket: `null` at the end).
   */
  receiveDetailed(p?: Uint8Array): Promise<Detailed> {
    return this.receiveMessage(p, RESULT_DETAILED) as Promise<Detailed>;
  }

  /**
   * @internal Builds the result of a successful receive, synchronously
   * (before another receive may reuse `fromBytes` or the scratch buffer).
   */
  protected finishReceive(
    buf: Uint8Array,
    capacity: number,
    n: number,
    own: Uint8Array | undefined,
    mode: number,
  ): unknown {
    if (n === 0 && this.endOfMessages()) return null;
    const addr = this.sourceAddress();
    let data: Uint8Array<ArrayBuffer>;
    if (own !== undefined && buf !== own) {
      // Read into scratch for the real length: copy what fits into the caller's buffer.
      capacity = byteLengthOf(own, "p"); // not own.byteLength: that property may lie
      const kept = n > capacity ? capacity : n;
      own.set(buf.subarray(0, kept));
      data = own.subarray(0, kept) as Uint8Array<ArrayBuffer>;
    } else {
      const kept = n > capacity ? capacity : n;
      data = (own === undefined ? buf.slice(0, kept) : own.subarray(0, kept)) as Uint8Array<
        ArrayBuffer
      >;
    }
    if (mode === RESULT_DETAILED) return { data, addr, length: n, truncated: n > capacity };
    if (n > capacity) {
      throw new DatagramTruncatedError(n, capacity, data, addr, this.describeAddress(addr));
    }
    return this.tupleResults ? [data, addr] : data;
  }

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
        this.fromLen[0] = FROM_BYTES;
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
    const size = lib().recv(fd, PEEK_BYTE, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
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
      // Called while open, closed while queued or waiting: Deno's Interrupted.
      if (fd < 0) throw this.pendingClosedError();
      const buf = own === undefined || this.receivesIntoScratch ? this.#scratchFor(fd) : own;
      let e: number;
      if (buf !== null) {
        // Measured again after every wait: the caller may have resized or detached it.
        const capacity = buf === own ? byteLengthOf(own, "p") : buf.byteLength;
        this.fromLen[0] = FROM_BYTES;
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
   * @internal Sends all of `p` to the address in `to` (null: the connected
   * peer). Call it only after every user-controlled argument has been read:
   * `p` is measured here, and that length is what the kernel gets. `to` may
   * be the shared scratch: it is copied before any wait.
   *
   * @param p the payload.
   * @param to the encoded destination, or null.
   * @param toLength its length.
   * @param detail the destination, for messages.
   */
  protected sendMessage(
    p: Uint8Array,
    to: Uint8Array | null,
    toLength: number,
    detail: () => string,
  ): Promise<number> {
    const fd = this.handleFd;
    if (fd < 0) return Promise.reject(closedError(this.kind));
    let size: number;
    try {
      size = byteLengthOf(p, "p");
    } catch (error) {
      return Promise.reject(error);
    }
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
      if (fd < 0) throw this.pendingClosedError();
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
      sndbuf = `, SO_SNDBUF is ${getIntOption(this.handleFd, SOL_SOCKET, SO_SNDBUF)}`;
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
    const [offset, length] = ipAddressSpan(family);
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
}
