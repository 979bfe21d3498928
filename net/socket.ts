/**
 * What every socket object of the ergonomic layer shares: it owns exactly one
 * descriptor, registered once with the reactor, and releases it exactly once.
 * After `close()` nothing touches the descriptor number again, so a newer
 * socket that the kernel gave the same number is never affected.
 *
 * @module
 */

import { checkFd, checkInt, checkInteger, describe } from "../ffi/checks.ts";
import { errno, type Libc, libc } from "../ffi/libc.ts";
import { SocketError } from "../ffi/errors.ts";
import { type IoSource, reactor } from "../reactor/reactor.ts";
import { decodeSockaddr, toDenoAddr } from "./address.ts";
import { closedError, netError } from "./errors.ts";
import {
  getSocketOption,
  getSocketOptionRaw,
  setSocketOption,
  setSocketOptionRaw,
  type SocketOptionName,
  type SocketOptionTypes,
} from "./options.ts";

let cachedLibc: Libc | undefined;

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
  const bytes = new Uint8Array(128);
  const len = new Uint32Array([128]);
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
  // SOCK_NONBLOCK | SOCK_CLOEXEC
  const fd = lib().socket(domain, type | 0o4000 | 0o2000000, protocol);
  if (fd === -1) throw new SocketError(errno(), "socket");
  return fd;
}

/**
 * Base of `Conn`, `Listener` and `DatagramConn`: the descriptor, its reactor
 * registration, close-once, ref/unref and socket options.
 *
 * @example
 * ```ts ignore
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

  /**
   * Takes ownership of `fd` (already non-blocking) and registers it.
   *
   * @param fd the descriptor.
   * @param kind `"Conn"`, `"Listener"`, ... for messages.
   */
  constructor(fd: number, kind: string) {
    // Bad arguments: nothing is owned yet, the descriptor stays the caller's.
    checkFd(fd);
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
    const fd = this.handleFd;
    if (fd < 0) return;
    this.handleFd = -1;
    reactor().deregister(this.source, closedError(this.kind));
    // Linux releases the descriptor even when close reports EINTR; never retry.
    lib().close(fd);
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
