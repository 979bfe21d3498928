/**
 * The life cycle every socket object of the ergonomic layer shares, in one
 * place: it owns exactly one descriptor, registered once with the reactor,
 * and releases it exactly once (`close`) or hands it over once (`detach`).
 * After either, nothing touches the descriptor number again, so a newer
 * socket that the kernel gave the same number is never affected.
 *
 * The loops that used to be copied per socket kind live here too: one
 * accept loop ({@linkcode SocketHandle.acceptNext}), one connect with its
 * retry ({@linkcode connectHandle}), one iterate-until-closed
 * ({@linkcode untilClosed}).
 *
 * @module
 */

import { checkFd, checkInt, checkInteger, describe } from "../ffi/checks.ts";
import {
  EAGAIN,
  EALREADY,
  ECONNABORTED,
  EINPROGRESS,
  EINTR,
  EISCONN,
  EMFILE,
  ENFILE,
  ENOBUFS,
  ENOMEM,
  EPROTO,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { errno, type Libc, libc } from "../ffi/libc.ts";
import { SocketError } from "../ffi/errors.ts";
import { type IoSource, reactor } from "../reactor/reactor.ts";
import { decodeSockaddr, toDenoAddr } from "./families/mod.ts";
import { busyError, closedError, interruptedError, netError } from "./errors.ts";
import {
  getIntOption,
  getSocketOption,
  getSocketOptionRaw,
  setSocketOption,
  setSocketOptionRaw,
  type SocketOptionName,
  type SocketOptionTypes,
} from "./options.ts";

/** `accept4` and `socket` flags: every descriptor the layer makes is non-blocking and close-on-exec. */
export const NONBLOCK_CLOEXEC: number = SOCK_NONBLOCK | SOCK_CLOEXEC;

// Out of descriptors or memory: retry accept after a pause instead of spinning.
const ACCEPT_BACKOFF_FIRST_MS = 5;
const ACCEPT_BACKOFF_MAX_MS = 1000;
// A Unix connect refused with EAGAIN (full backlog) is retried after 1, 2, 4 ... ms up to this.
const CONNECT_RETRY_MAX_MS = 50;
// Large enough for any sockaddr the layer decodes (sockaddr_storage).
const PEER_BYTES = 128;

let cachedLibc: Libc | undefined;

// Every socket this isolate owns. When the isolate goes away with an
// "unload" (a `deno run --watch` restart, the end of the program), they are
// closed, as Deno closes its own resources: a restarted program can listen
// on the same port again.
const live = new Set<SocketHandle>();
globalThis.addEventListener("unload", () => {
  for (const handle of [...live]) handle.close();
});
// Module-private access to a handle's reactor registration (set by SocketHandle's static block).
let sourceOf: (handle: SocketHandle) => IoSource;
let kindOf: (handle: SocketHandle) => string;

// Deno's resource sanitizer counts a library opened during a test as that
// test's leak: when the ffi permission is already granted, libc is opened as
// the module loads, so the first socket of a test opens nothing but itself.
// Without the permission it stays lazy (importing needs no --allow-ffi).
try {
  if (Deno.permissions.querySync({ name: "ffi" }).state === "granted") lib();
} catch {
  // Opened on first use instead, with the error there.
}

/**
 * The libc symbols, cached for hot paths (one property load instead of a call).
 *
 * @returns the symbols.
 */
export function lib(): Libc {
  return cachedLibc ??= libc();
}

/**
 * A socket's own (`getsockname`) or peer's (`getpeername`) address, in Deno's shape.
 *
 * @param fd the socket.
 * @param call which address.
 * @param transport the transport to report.
 * @returns the address.
 * @throws {SocketError} when the kernel refuses (e.g. `ENOTCONN`).
 */
export function socketAddress(
  fd: number,
  call: "getsockname" | "getpeername",
  transport: "tcp" | "udp" | "unix" | "unixpacket",
): Deno.NetAddr | Deno.UnixAddr {
  const bytes = new Uint8Array(PEER_BYTES);
  const len = new Uint32Array([PEER_BYTES]);
  if (lib()[call](fd, bytes, len) === -1) throw netError(errno(), call);
  return toDenoAddr(decodeSockaddr(bytes, len[0]), transport);
}

/**
 * Creates a non-blocking, close-on-exec socket.
 *
 * @param domain `AF_*`.
 * @param type `SOCK_*` (without flags).
 * @param protocol protocol number.
 * @returns the descriptor.
 * @throws {SocketError} on failure.
 */
export function openSocket(domain: number, type: number, protocol = 0): number {
  const fd = lib().socket(domain, type | NONBLOCK_CLOEXEC, protocol);
  if (fd === -1) throw new SocketError(errno(), "socket");
  return fd;
}

/**
 * Base of `Conn`, `Listener` and `DatagramConn`: the descriptor, its reactor
 * registration, close-once, ref/unref and socket options.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { listen, SocketHandle } from "../mod.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * listener instanceof SocketHandle; // true: Conn, Listener and DatagramConn share it
 * listener.setOption("SO_RCVBUF", 1 << 20);
 * listener.close();
 * ```
 */
export class SocketHandle {
  /** @internal The descriptor; -1 once closed. */
  protected handleFd: number;
  /** @internal The reactor registration. */
  protected readonly source: IoSource;
  /** @internal What the handle is called in errors. */
  protected readonly kind: string;
  #accepting = false;
  // The peer address of accept, one buffer per listening handle, made on first use.
  #peer: Uint8Array | undefined;
  #peerLen: Uint32Array | undefined;

  static {
    sourceOf = (handle) => handle.source;
    kindOf = (handle) => handle.kind;
  }

  /**
   * Takes ownership of `fd` (already non-blocking) and registers it.
   *
   * @param fd the descriptor.
   * @param kind `"Conn"`, `"Listener"`, ... for messages.
   */
  constructor(fd: number, kind: string) {
    // Bad arguments: nothing is owned yet, the descriptor stays the caller's.
    fd = checkFd(fd);
    // Error messages name the kind: never coerce something else into one.
    if (typeof kind !== "string") {
      throw new TypeError(`kind must be a string, got ${describe(kind)}`);
    }
    this.handleFd = fd;
    this.kind = kind;
    try {
      this.source = reactor().register(fd);
    } catch (error) {
      lib().close(fd);
      throw error;
    }
    live.add(this);
  }

  /**
   * The descriptor, for calls of the FFI layer (`ffi/mod.ts`).
   *
   * @throws {Deno.errors.BadResource} once closed.
   */
  get fd(): number {
    if (this.handleFd < 0) throw closedError(this.kind);
    return this.handleFd;
  }

  /** Whether {@linkcode SocketHandle.close} has been called. */
  get closed(): boolean {
    return this.handleFd < 0;
  }

  /** @internal Throws `BadResource` when closed; returns the fd. */
  protected openFd(): number {
    const fd = this.handleFd;
    if (fd < 0) throw closedError(this.kind);
    return fd;
  }

  /**
   * Closes the socket: pending operations reject with
   * `Deno.errors.BadResource`, and the descriptor is released. A second
   * call does nothing.
   */
  close(): void {
    const fd = this.#release();
    // Linux releases the descriptor even when close reports EINTR; never retry.
    if (fd >= 0) lib().close(fd);
  }

  /**
   * Ends this object's ownership without closing the descriptor: pending
   * operations reject with `Deno.errors.BadResource`, the reactor forgets
   * the descriptor, and the module never touches it again. The caller owns
   * it from here (for `node:net`, another process, or `close`).
   *
   * @returns the descriptor (still non-blocking and close-on-exec).
   * @throws {Deno.errors.BadResource} when already closed or detached.
   */
  detach(): number {
    const fd = this.#release();
    if (fd < 0) throw closedError(this.kind);
    return fd;
  }

  /** Marks the handle closed and deregisters it; returns the fd it held, or -1. */
  #release(): number {
    const fd = this.handleFd;
    if (fd < 0) return -1;
    this.handleFd = -1;
    live.delete(this);
    reactor().deregister(this.source, this.pendingClosedError());
    return fd;
  }

  /**
   * @internal What an operation pending at close rejects with: Deno's
   * `Interrupted` for reads and sends; listeners say `BadResource`.
   */
  protected pendingClosedError(): Error {
    return interruptedError();
  }

  /**
   * @internal The one accept loop of every listening kind: one accept at a
   * time; `EINTR`, `ECONNABORTED` and `EPROTO` (a connection that died in
   * the queue) are retried at once; `EMFILE`/`ENFILE`/`ENOBUFS`/`ENOMEM`
   * back off (5 ms doubling to 1 s) instead of spinning, and recover when
   * descriptors are free; `EAGAIN` waits for readiness.
   *
   * @param wrap makes the connection object from the accepted descriptor
   *   and its peer address (valid only during the call).
   * @returns what `wrap` made.
   */
  protected async acceptNext<T>(
    wrap: (fd: number, peer: Uint8Array, peerLength: number) => T,
  ): Promise<T> {
    if (this.handleFd < 0) throw closedError(this.kind);
    if (this.#accepting) throw busyError("accept");
    this.#accepting = true;
    const peer = this.#peer ??= new Uint8Array(PEER_BYTES);
    const peerLen = this.#peerLen ??= new Uint32Array(1);
    try {
      const c = lib();
      let backoff = 0;
      for (;;) {
        const fd = this.handleFd;
        if (fd < 0) throw closedError(this.kind);
        peerLen[0] = PEER_BYTES;
        const connFd = c.accept4(fd, peer, peerLen, NONBLOCK_CLOEXEC);
        if (connFd >= 0) {
          try {
            return wrap(connFd, peer, peerLen[0]);
          } catch (error) {
            c.close(connFd);
            throw error;
          }
        }
        const e = errno();
        if (e === EAGAIN) {
          backoff = 0;
          await reactor().readable(this.source);
        } else if (e === EINTR || e === ECONNABORTED || e === EPROTO) {
          continue; // the next pending connection may be fine
        } else if (e === EMFILE || e === ENFILE || e === ENOBUFS || e === ENOMEM) {
          backoff = backoff === 0
            ? ACCEPT_BACKOFF_FIRST_MS
            : Math.min(backoff * 2, ACCEPT_BACKOFF_MAX_MS);
          await this.#pause(backoff);
        } else {
          throw netError(e, "accept");
        }
      }
    } finally {
      this.#accepting = false;
    }
  }

  /** Waits `ms`, ending at once (rejecting) when the handle is closed meanwhile. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(check);
        resolve();
      }, ms);
      const check = setInterval(() => {
        if (this.closed) {
          clearTimeout(timer);
          clearInterval(check);
          reject(closedError(this.kind));
        }
      }, Math.min(ms, 20));
    });
  }

  /** Makes pending operations keep the process alive (the default). */
  ref(): void {
    reactor().setRef(this.source, true);
  }

  /** Lets the process exit while operations are pending. */
  unref(): void {
    reactor().setRef(this.source, false);
  }

  /**
   * Sets a typed socket option (see `SocketOptionTypes`).
   *
   * @param option e.g. `"SO_RCVBUF"`.
   * @param value of the option's type.
   * @throws {TypeError | RangeError} for a bad value, before libc is called.
   * @throws {SocketError} when the kernel refuses.
   */
  setOption<N extends SocketOptionName>(option: N, value: SocketOptionTypes[N]): void {
    setSocketOption(this.openFd(), option, value);
  }

  /**
   * Reads a typed socket option.
   *
   * @param option e.g. `"SO_RCVBUF"`.
   * @returns the value.
   */
  getOption<N extends SocketOptionName>(option: N): SocketOptionTypes[N] {
    return getSocketOption(this.openFd(), option);
  }

  /**
   * Sets any option as raw bytes.
   *
   * @param level `SOL_SOCKET`, `IPPROTO_TCP`, ...
   * @param name the option number.
   * @param value the bytes.
   */
  setOptionRaw(level: number, name: number, value: Uint8Array): void {
    setSocketOptionRaw(this.openFd(), checkInt(level, "level"), checkInt(name, "name"), value);
  }

  /**
   * Reads any option as raw bytes.
   *
   * @param level the level.
   * @param name the option number.
   * @param size most bytes to read.
   * @returns the bytes.
   */
  getOptionRaw(level: number, name: number, size = 256): Uint8Array {
    return getSocketOptionRaw(this.openFd(), level, name, checkInteger(size, "size", 0, 65536));
  }

  /** Closes the socket (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * @internal Waits, through the reactor, until a handle may be read or
 * written again (after `EAGAIN`), for operations outside the handle's own
 * class (descriptor passing). One waiter per direction: a second one while
 * another waits is `Busy`, never a lost wake-up.
 *
 * @param handle the socket.
 * @param write true to wait for writability.
 * @returns when the socket may be ready; rejects `Interrupted` if it is closed meanwhile.
 * @throws {Deno.errors.BadResource} when the handle is closed.
 */
export function waitReady(handle: SocketHandle, write: boolean): Promise<void> {
  try {
    void handle.fd; // BadResource once closed
    const source = sourceOf(handle);
    if ((write ? source.writeResolve : source.readResolve) !== null) {
      throw busyError(write ? "write" : "read");
    }
    return write ? reactor().writable(source) : reactor().readable(source);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * @internal One deadline for a whole operation (resolution, every connect
 * attempt, the handshake): the caller's `signal` and a `timeout` folded
 * into one signal, whose reason is the caller's reason or a
 * `Deno.errors.TimedOut`.
 *
 * @param signal the caller's signal.
 * @param timeout milliseconds, or undefined for none.
 * @param detail what times out, for the message.
 * @returns the signal to pass down (undefined when there is neither), and `dispose` to call when done.
 * @throws {TypeError | RangeError} for a bad signal or timeout.
 */
export function operationSignal(
  signal: AbortSignal | undefined,
  timeout: number | undefined,
  detail: string,
): { signal: AbortSignal | undefined; dispose: () => void } {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
  if (timeout === undefined) return { signal, dispose: () => {} };
  checkInteger(timeout, "timeout", 0, 0x7fffffff);
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new Deno.errors.TimedOut(`connect to ${detail} timed out after ${timeout} ms`),
    );
  }, timeout);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * @internal The one connect of every connection-oriented kind (TCP, Unix
 * stream, seqpacket, connected datagram): a non-blocking `connect` on the
 * handle's descriptor, then writability and `SO_ERROR`. A Unix listener
 * whose backlog is full answers `EAGAIN`, and nothing signals when it has
 * room again (the connecting socket reads as writable all along, so
 * edge-triggered epoll stays silent and poll(2) would spin): the connect is
 * retried on a timer, backing off from 1 to 50 ms. `signal` ends the
 * attempt at any point; the handle is closed when the attempt fails.
 *
 * @param handle a new handle that owns an unconnected socket.
 * @param address the encoded peer address.
 * @param detail the peer, for messages.
 * @param signal aborts the attempt (rejects with its reason).
 * @returns the handle, connected.
 */
export async function connectHandle<T extends SocketHandle>(
  handle: T,
  address: Uint8Array,
  detail: string,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) {
    handle.close();
    throw signal.reason;
  }
  const fd = handle.fd;
  const c = lib();
  if (c.connect(fd, address, address.byteLength) === 0) return handle;
  let e = errno();
  // Interrupted: the connection goes on asynchronously; wait for it below.
  if (e === EINTR) e = EINPROGRESS;
  if (e !== EINPROGRESS && e !== EAGAIN) {
    handle.close();
    throw netError(e, "connect", detail);
  }
  // A socket still connecting may report a hang-up (epoll says EPOLLHUP for
  // an unconnected socket): forget it once connected, or readers would take
  // it for the peer's end of stream and never wait again.
  const connected = () => {
    sourceOf(handle).readClosed = false;
    return handle;
  };
  // Ends a retry pause at once when the attempt is aborted.
  let endPause: (() => void) | undefined;
  const onAbort = () => {
    handle.close();
    endPause?.();
  };
  try {
    signal?.addEventListener("abort", onAbort, { once: true });
    for (let pause = 1;; pause = Math.min(pause * 2, CONNECT_RETRY_MAX_MS)) {
      if (e === EAGAIN) {
        let pauseTimer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          endPause = resolve;
          pauseTimer = setTimeout(resolve, pause);
        });
        clearTimeout(pauseTimer);
        endPause = undefined;
        // Closed meanwhile (aborted): the fd number may be another socket's now.
        if (handle.closed) throw closedError(kindOf(handle));
        if (c.connect(fd, address, address.byteLength) === 0) return connected();
        const again = errno();
        if (again === EAGAIN || again === EINTR) continue;
        throw netError(again, "connect", detail);
      }
      await reactor().writable(sourceOf(handle));
      const result = getIntOption(fd, SOL_SOCKET, SO_ERROR);
      if (result !== 0) throw netError(result, "connect", detail);
      // A wake-up is not proof: a readiness left over from an earlier socket
      // with this number, or a kernel that reports an unconnected socket as
      // writable, would pass SO_ERROR's 0. connect() again says for certain.
      if (c.connect(fd, address, address.byteLength) === 0) return connected();
      const again = errno();
      if (again === EISCONN) return connected();
      if (again === EALREADY || again === EINPROGRESS || again === EINTR) continue;
      throw netError(again, "connect", detail);
    }
  } catch (error) {
    handle.close();
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * @internal The one iterate-until-closed loop: yields what `next` resolves
 * to until it resolves `null` (the end) or the handle is closed.
 *
 * @param handle the socket iterated over.
 * @param next the next item (an accept, a receive).
 * @returns the iterator.
 */
export async function* untilClosed<T>(
  handle: SocketHandle,
  next: () => Promise<T | null>,
): AsyncGenerator<T, void, undefined> {
  for (;;) {
    let item: T | null;
    try {
      item = await next();
    } catch (error) {
      const closing = error instanceof Deno.errors.BadResource ||
        error instanceof Deno.errors.Interrupted;
      if (closing && handle.closed) return;
      throw error;
    }
    if (item === null) return;
    yield item;
  }
}

/**
 * The part every listening kind shares (`Listener`, `SeqpacketListener`):
 * it is its own async iterator, as `Deno.Listener` is — `next()` resolves
 * `{ done: true }` once the listener is closed, and leaving a `for await`
 * loop (`return()`) closes it — and an accept pending at close rejects
 * with Deno's `"Listener has been closed"`.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { listen, ListeningHandle } from "../mod.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * listener instanceof ListeningHandle; // true
 * setTimeout(() => listener.close(), 10);
 * for await (const conn of listener) conn.close(); // ends once the listener is closed
 * ```
 */
export abstract class ListeningHandle<C> extends SocketHandle
  implements AsyncIterableIterator<C, undefined> {
  /** Waits for and returns the next connection. */
  abstract accept(): Promise<C>;

  /**
   * The next connection, or `{ done: true }` once the listener is closed.
   *
   * @returns the iterator result.
   */
  async next(): Promise<IteratorResult<C, undefined>> {
    try {
      return { value: await this.accept(), done: false };
    } catch (error) {
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        return { value: undefined, done: true };
      }
      throw error;
    }
  }

  /**
   * Ends the iteration and closes the listener, as `Deno.Listener` does
   * when a `for await` loop over it is left (`break`, `return`, a throw).
   *
   * @returns `{ done: true }`.
   */
  return(): Promise<IteratorResult<C, undefined>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * The listener itself: `for await (const conn of listener)`.
   *
   * @returns this listener.
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** @internal An accept pending at close rejects with Deno's `"Listener has been closed"`. */
  protected override pendingClosedError(): Error {
    return closedError(this.kind);
  }
}
