/**
 * Stream connections (TCP and Unix) shaped like `Deno.TcpConn` and
 * `Deno.UnixConn`, over non-blocking sockets and the reactor.
 *
 * The hot path tries the syscall first and waits for readiness only after
 * `EAGAIN`; it allocates nothing but the promise the API returns.
 *
 * @module
 */

import { byteLengthOf, MAX_IO_COUNT, plainView } from "../ffi/checks.ts";
import { EAGAIN, EINTR, MSG_NOSIGNAL, SHUT_WR } from "../ffi/constants.ts";
import { errno } from "../ffi/libc.ts";
import { reactor } from "../reactor/reactor.ts";
import { busyError, closedError, netError } from "./errors.ts";
import { setSocketOption } from "./options.ts";
import { SerialQueue } from "./serial.ts";
import { lib, socketAddress, SocketHandle } from "./socket.ts";

/**
 * Keep-alive settings for {@linkcode TcpConn.setKeepAlive}.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, type KeepAliveOptions, listen } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const keepAlive: KeepAliveOptions = { time: 60, interval: 10, retries: 5 };
 * conn.setKeepAlive(keepAlive);
 * conn.getOption("TCP_KEEPIDLE"); // 60
 * ```
 */
export interface KeepAliveOptions {
  /** Seconds idle before the first probe (`TCP_KEEPIDLE`). */
  time?: number;
  /** Seconds between probes (`TCP_KEEPINTVL`). */
  interval?: number;
  /** Unanswered probes before the connection is dropped (`TCP_KEEPCNT`). */
  retries?: number;
}

const STREAM_CHUNK = 64 * 1024;

/** Any `ArrayBuffer` or `ArrayBufferView` as bytes, read through the intrinsic getters. */
function bufferSourceBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) {
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  if (chunk instanceof ArrayBuffer || chunk instanceof SharedArrayBuffer) {
    return new Uint8Array(chunk);
  }
  throw new TypeError("Expected ArrayBuffer or ArrayBufferView for write chunk");
}
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A connected stream socket. `read`, `write`, `closeWrite`, `close`,
 * `readable`/`writable` streams and addresses behave as in `Deno.Conn`.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using server = await listener.accept();
 * await conn.write(new TextEncoder().encode("hello"));
 * const buf = new Uint8Array(5);
 * await server.read(buf); // 5
 * new TextDecoder().decode(buf); // "hello"
 * ```
 */
export class Conn<A extends Deno.NetAddr | Deno.UnixAddr = Deno.NetAddr | Deno.UnixAddr>
  extends SocketHandle
  implements Deno.Conn<A> {
  #reading = false;
  readonly #writes = new SerialQueue();
  #local: A | undefined;
  #remote: A | undefined;
  readonly #transport: "tcp" | "unix";
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array<ArrayBufferLike>> | undefined;
  #sawEof = false;
  // source.readEvents when a read said EAGAIN; -1: not known to be drained.
  // (Not set on a short read: the rest of a larger message often arrives
  // while we process the first part, and a read then is cheaper than a
  // round through the reactor.)
  #drainedAt = -1;
  #writeShut = false;

  /**
   * Wraps a connected, non-blocking descriptor (the listener and `connect`
   * make these; user code gets them from there).
   *
   * @param fd the descriptor, now owned by the Conn.
   * @param transport `"tcp"` or `"unix"`.
   * @param remote the peer's address when already known.
   */
  constructor(fd: number, transport: "tcp" | "unix", remote?: A) {
    super(fd, "Conn");
    this.#transport = transport;
    this.#remote = remote;
  }

  /** The local address (`getsockname`), read once. */
  get localAddr(): A {
    return this.#local ??= this.#address("getsockname");
  }

  /** The peer's address (`getpeername`), read once. */
  get remoteAddr(): A {
    return this.#remote ??= this.#address("getpeername");
  }

  /**
   * Closes the connection: pending operations reject with
   * `Deno.errors.BadResource` and the descriptor is released. Addresses not
   * read yet are read first, so `localAddr`/`remoteAddr` stay readable after
   * close, as in Deno. A second call does nothing.
   */
  override close(): void {
    if (this.handleFd >= 0 && (this.#local === undefined || this.#remote === undefined)) {
      try {
        this.#local ??= this.#address("getsockname");
        this.#remote ??= this.#address("getpeername");
      } catch {
        // Never connected, or reset: there is no address to keep.
      }
    }
    super.close();
  }

  #address(call: "getsockname" | "getpeername"): A {
    return socketAddress(this.openFd(), call, this.#transport) as A;
  }

  /**
   * Reads into `p`.
   *
   * @param p the destination.
   * @returns bytes read, or `null` at end of stream.
   * @throws {Deno.errors.BadResource} when closed (also while waiting).
   * @throws {Deno.errors.Busy} when another read is pending.
   * @throws {Deno.errors.ConnectionReset} and other socket errors.
   */
  async read(p: Uint8Array): Promise<number | null> {
    const fd = this.handleFd;
    if (fd < 0) throw closedError("Conn");
    const size = byteLengthOf(p, "p");
    if (this.#reading || this.source.waitingToRead) throw busyError("read");
    if (size === 0) return 0;
    let want = size > MAX_IO_COUNT ? MAX_IO_COUNT : size;
    const c = lib();
    const source = this.source;
    let n: number;
    let e: number;
    if (this.#drainedAt === source.readEvents && !source.readClosed) {
      // A read said EAGAIN, no event since and no hang-up seen: this read
      // would only say EAGAIN again.
      e = EAGAIN;
    } else {
      n = c.read(fd, p, want);
      if (n > 0) return n;
      if (n === 0) {
        this.#sawEof = true;
        return null;
      }
      e = errno();
    }
    this.#reading = true;
    try {
      for (;;) {
        if (e === EAGAIN) await reactor().readable(source);
        else if (e !== EINTR) throw netError(e, "read");
        // The reactor rejects the wait if the Conn was closed meanwhile, so
        // handleFd is still ours here. p may have been resized or detached
        // while we waited: the kernel never gets more than it holds now.
        const now = byteLengthOf(p, "p");
        if (now < want) {
          want = now;
          if (want === 0) return 0;
        }
        n = c.read(this.handleFd, p, want);
        if (n > 0) return n;
        if (n === 0) {
          this.#sawEof = true;
          return null;
        }
        e = errno();
      }
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Waits until a read may find data, end of stream or an error, without
   * taking a buffer. With {@linkcode Conn.tryRead} it lets a server hold
   * thousands of idle connections with no buffer each: one shared buffer
   * serves whichever connection is ready.
   *
   * @returns when the socket may be readable (a later `tryRead` can still
   *   return 0 after a spurious wake-up).
   * @throws {Deno.errors.BadResource} when closed (also while waiting).
   * @throws {Deno.errors.Busy} when a read or another wait is pending.
   * @example
   * ```ts
   * import { connect, listen } from "../mod.ts";
   * using listener = listen({ hostname: "127.0.0.1", port: 0 });
   * using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * using conn = await listener.accept();
   * await client.write(new TextEncoder().encode("hi"));
   * await client.closeWrite();
   * const shared = new Uint8Array(64 * 1024); // one for every connection
   * for (let n = conn.tryRead(shared); n !== null; n = conn.tryRead(shared)) {
   *   if (n === 0) await conn.waitReadable(); // nothing yet: wait, holding no buffer
   *   else await conn.writeAll(shared.slice(0, n)); // echo it
   * }
   * ```
   */
  waitReadable(): Promise<void> {
    // Not an async function: an idle connection then holds just the
    // reactor's promise, no frame of its own.
    if (this.handleFd < 0) return Promise.reject(closedError("Conn"));
    const source = this.source;
    if (this.#reading || source.waitingToRead) return Promise.reject(busyError("read"));
    if (this.#drainedAt !== source.readEvents || source.readClosed) return RESOLVED;
    return reactor().readable(source);
  }

  /**
   * Reads what is there now, without waiting.
   *
   * @param p the destination.
   * @returns bytes read; 0 when nothing is available yet (wait with
   *   {@linkcode Conn.waitReadable}); `null` at end of stream.
   * @throws {Deno.errors.BadResource} when closed.
   * @throws {Deno.errors.Busy} when a read or wait is pending.
   * @throws {Deno.errors.ConnectionReset} and other socket errors.
   * @example
   * ```ts
   * import { connect, listen } from "../mod.ts";
   * using listener = listen({ hostname: "127.0.0.1", port: 0 });
   * using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * using conn = await listener.accept();
   * conn.tryRead(new Uint8Array(4096)); // 0: nothing has arrived yet
   * await client.write(new Uint8Array([1, 2, 3]));
   * await conn.waitReadable();
   * conn.tryRead(new Uint8Array(4096)); // 3
   * ```
   */
  tryRead(p: Uint8Array): number | null {
    const fd = this.handleFd;
    if (fd < 0) throw closedError("Conn");
    const size = byteLengthOf(p, "p");
    if (this.#reading || this.source.waitingToRead) throw busyError("read");
    if (size === 0) return 0;
    const source = this.source;
    if (this.#drainedAt === source.readEvents && !source.readClosed) return 0;
    const want = size > MAX_IO_COUNT ? MAX_IO_COUNT : size;
    const c = lib();
    for (;;) {
      const n = c.read(fd, p, want);
      if (n > 0) return n;
      if (n === 0) {
        this.#sawEof = true;
        return null;
      }
      const e = errno();
      if (e === EAGAIN) {
        this.#drainedAt = source.readEvents;
        return 0;
      }
      if (e !== EINTR) throw netError(e, "read");
    }
  }

  /**
   * Writes what the kernel takes now, without waiting and without jumping
   * ahead of queued writes.
   *
   * @param p the bytes.
   * @returns bytes written; 0 when the send buffer is full or other writes are queued.
   * @throws {Deno.errors.BadResource} when closed.
   * @throws {Deno.errors.BrokenPipe | Deno.errors.ConnectionReset} when the peer is gone.
   * @example
   * ```ts
   * import { connect, listen } from "../mod.ts";
   * using listener = listen({ hostname: "127.0.0.1", port: 0 });
   * using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * using server = await listener.accept();
   * const data = new TextEncoder().encode("hi");
   * const sent = conn.tryWrite(data); // 2: the send buffer had room
   * if (sent < data.length) await conn.writeAll(data.subarray(sent));
   * await server.read(new Uint8Array(2)); // 2
   * ```
   */
  tryWrite(p: Uint8Array): number {
    const fd = this.handleFd;
    if (fd < 0) throw closedError("Conn");
    const size = byteLengthOf(p, "p");
    if (size === 0 || this.#writes.busy) return 0;
    const c = lib();
    for (;;) {
      const n = c.send(fd, p, size > MAX_IO_COUNT ? MAX_IO_COUNT : size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      const e = errno();
      if (e === EAGAIN) return 0;
      if (e !== EINTR) throw netError(e, "send");
    }
  }

  /**
   * Writes from `p`; may write fewer bytes than `p` holds, like `Deno.Conn.write`.
   * Concurrent writes are performed in call order.
   *
   * @param p the bytes.
   * @returns bytes written.
   * @throws {Deno.errors.BadResource} when closed.
   * @throws {Deno.errors.BrokenPipe | Deno.errors.ConnectionReset} when the peer is gone.
   */
  async write(p: Uint8Array): Promise<number> {
    const fd = this.handleFd;
    if (fd < 0) throw closedError("Conn");
    const size = byteLengthOf(p, "p");
    if (size === 0) return 0;
    const want = size > MAX_IO_COUNT ? MAX_IO_COUNT : size;
    if (!this.#writes.busy) {
      const n = lib().send(fd, p, want, MSG_NOSIGNAL);
      if (n >= 0) return n;
      const e = errno();
      if (e !== EAGAIN && e !== EINTR) throw netError(e, "send");
    }
    return await this.#queuedWrite(p, want, false);
  }

  /**
   * One entry of the write queue: waits for the writes before it, then
   * sends `rest` bytes of `p` — once (`write`), or until all are sent
   * (`writeAll`: no other write can come between its bytes).
   */
  #queuedWrite(p: Uint8Array, rest: number, all: boolean): Promise<number> {
    return this.#writes.run(() => this.#sendUntilDone(p, rest, all));
  }

  async #sendUntilDone(p: Uint8Array, rest: number, all: boolean): Promise<number> {
    const c = lib();
    let sent = 0;
    for (;;) {
      const fd = this.handleFd;
      // Called while open, closed while queued or waiting: Deno's Interrupted.
      if (fd < 0) throw this.pendingClosedError();
      // p may have been resized or detached while this write waited: the
      // kernel never gets more than it holds now.
      const now = byteLengthOf(p, "p");
      if (now < rest) {
        if (all) throw new RangeError(`p shrank to ${now} bytes while writeAll waited`);
        rest = now;
        if (rest === 0) return 0;
      }
      const n = c.send(fd, p, rest > MAX_IO_COUNT ? MAX_IO_COUNT : rest, MSG_NOSIGNAL);
      if (n >= 0) {
        if (!all) return n;
        sent += n;
        if (n === rest) return sent;
        p = p.subarray(n); // p is writeAll's own plain view
        rest -= n;
        continue;
      }
      const e = errno();
      if (e === EAGAIN) await reactor().writable(this.source);
      else if (e !== EINTR) throw netError(e, "send");
    }
  }

  /**
   * Writes all of `p`, waiting as needed. Its bytes go out contiguously and
   * in call order with the other writes: concurrent `writeAll`s (and
   * `write`s) never interleave with it.
   *
   * @param p the bytes.
   * @returns when every byte has been handed to the kernel.
   * @throws {RangeError} when `p` is shrunk or detached before it is all written.
   */
  async writeAll(p: Uint8Array): Promise<void> {
    const fd = this.handleFd;
    if (fd < 0) throw closedError("Conn");
    // A plain view: p's own subarray/byteLength cannot lie to the loop below.
    let view = plainView(p, "p");
    let rest = view.byteLength;
    if (rest === 0) return;
    if (!this.#writes.busy) {
      // Nothing queued: hand the kernel what it takes now.
      const c = lib();
      for (;;) {
        const n = c.send(fd, view, rest > MAX_IO_COUNT ? MAX_IO_COUNT : rest, MSG_NOSIGNAL);
        if (n < 0) {
          const e = errno();
          if (e !== EAGAIN && e !== EINTR) throw netError(e, "send");
          break;
        }
        if (n === rest) return;
        view = view.subarray(n);
        rest -= n;
      }
    }
    await this.#queuedWrite(view, rest, true);
  }

  /**
   * Shuts down the write half (`shutdown(SHUT_WR)`): the peer reads end of
   * stream, and this side can still read its answer. Waits for queued writes.
   *
   * @throws {Deno.errors.BadResource} when closed.
   */
  async closeWrite(): Promise<void> {
    const pending = this.#writes.settled;
    if (pending !== null) {
      this.openFd();
      await pending;
      // Closed while it waited for the writes: interrupted, as they were.
      if (this.closed) throw this.pendingClosedError();
    }
    const fd = this.openFd();
    if (this.#writeShut) return;
    if (lib().shutdown(fd, SHUT_WR) === -1) throw netError(errno(), "shutdown");
    this.#writeShut = true;
  }

  /**
   * How the streams end the connection. `false` (the default) is Deno's
   * rule: the end of `readable`, closing `writable`, aborting it, a failed
   * write or a cancelled read closes the whole connection, so "pipe the
   * reply into `conn.writable` and forget the conn" releases the socket.
   * `true` is for proxies that need half-close: closing `writable` only
   * shuts the write side (the peer reads end of stream, this side reads
   * on), the end of `readable` leaves writing open, and the connection is
   * closed once both have ended. Set it before using the streams.
   */
  halfClose = false;

  /**
   * A byte stream of what the peer sends (BYOB reads supported). Cancelling
   * it closes the connection; so does its end, unless {@linkcode Conn.halfClose}.
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#readable ??= new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: STREAM_CHUNK,
      pull: async (controller) => {
        const request = controller.byobRequest!;
        const view = request.view!;
        const target = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        try {
          const n = await this.read(target);
          if (n === null) {
            if (!this.halfClose || this.#writeShut) this.close();
            controller.close();
            request.respond(0);
          } else {
            request.respond(n);
          }
        } catch (error) {
          if (error instanceof Deno.errors.BadResource && this.closed) {
            controller.close();
            request.respond(0);
          } else {
            controller.error(error);
            this.close();
          }
        }
      },
      cancel: () => this.close(),
    }) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  /**
   * A stream that writes to the peer; it takes any `ArrayBuffer` or
   * `ArrayBufferView`, as Deno's does. Closing it closes the connection
   * (only its write half with {@linkcode Conn.halfClose}); a failed write
   * closes the connection, so the peer reads the end.
   */
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.#writable ??= new WritableStream({
      write: async (chunk: unknown) => {
        try {
          await this.writeAll(bufferSourceBytes(chunk));
        } catch (error) {
          this.close();
          throw error;
        }
      },
      close: async () => {
        if (this.closed) return;
        if (!this.halfClose) return this.close();
        await this.closeWrite();
        if (this.#sawEof) this.close();
      },
      abort: () => this.close(),
    });
  }

  /**
   * Disables (default) or enables Nagle's algorithm (`TCP_NODELAY`).
   *
   * @param noDelay true to send small writes at once.
   */
  setNoDelay(noDelay = true): void {
    this.#requireIp("setNoDelay");
    setSocketOption(this.openFd(), "TCP_NODELAY", noDelay);
  }

  /**
   * Turns TCP keep-alive on or off, optionally with its timings.
   *
   * @param keepAlive `true`/`false`, or the timings (which also turn it on).
   * @throws {RangeError} for timings out of the kernel's range.
   */
  setKeepAlive(keepAlive: boolean | KeepAliveOptions = true): void {
    this.#requireIp("setKeepAlive");
    const fd = this.openFd();
    if (typeof keepAlive === "boolean") {
      setSocketOption(fd, "SO_KEEPALIVE", keepAlive);
      return;
    }
    if (typeof keepAlive !== "object" || keepAlive === null) {
      throw new TypeError("keepAlive must be a boolean or { time, interval, retries }");
    }
    if (keepAlive.time !== undefined) setSocketOption(fd, "TCP_KEEPIDLE", keepAlive.time);
    if (keepAlive.interval !== undefined) setSocketOption(fd, "TCP_KEEPINTVL", keepAlive.interval);
    if (keepAlive.retries !== undefined) setSocketOption(fd, "TCP_KEEPCNT", keepAlive.retries);
    setSocketOption(fd, "SO_KEEPALIVE", true);
  }

  #requireIp(what: string): void {
    if (this.#transport !== "tcp") throw new TypeError(`${what} applies to TCP connections only`);
  }
}

/**
 * A TCP connection: `Deno.TcpConn` over libc.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen, type TcpConn } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const conn: TcpConn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * conn.setNoDelay(true);
 * await conn.write(new TextEncoder().encode("hello"));
 * conn.close();
 * ```
 */
export type TcpConn = Conn<Deno.NetAddr> & Deno.TcpConn;
/**
 * A Unix stream connection: `Deno.UnixConn` over libc.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen, type UnixConn } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using listener = listen({ transport: "unix", path: `${dir}/app.sock` });
 * const conn: UnixConn = await connect({ transport: "unix", path: listener.addr.path });
 * conn.remoteAddr.path === listener.addr.path; // true
 * conn.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export type UnixConn = Conn<Deno.UnixAddr> & Deno.UnixConn;
