/**
 * `listen` and `connect` for stream sockets (TCP and Unix), and the
 * `Listener` they return, shaped like `Deno.listen`/`Deno.connect`.
 *
 * @module
 */

import { checkInteger } from "../ffi/checks.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  EAGAIN,
  ECONNABORTED,
  EINPROGRESS,
  EINTR,
  EMFILE,
  ENFILE,
  ENOBUFS,
  ENOMEM,
  EPROTO,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SO_ERROR,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { errno } from "../ffi/libc.ts";
import { type IoSource, reactor } from "../reactor/reactor.ts";
import {
  checkPort,
  decodeSockaddr,
  encodeIp,
  encodeUnix,
  resolve,
  resolveSync,
  toDenoAddr,
} from "./address.ts";
import { Conn, type TcpConn, type UnixConn } from "./conn.ts";
import { busyError, closedError, netError } from "./errors.ts";
import { checkNet, checkUnixPath } from "./permissions.ts";
import { lib, openSocket, socketAddress, SocketHandle } from "./socket.ts";

/**
 * Options of {@linkcode listen} for TCP.
 *
 * @example
 * ```ts ignore
 * import { listen, type TcpListenOptions } from "./stream.ts";
 * const options: TcpListenOptions = { hostname: "::", port: 8080, reusePort: true };
 * const listener = listen(options);
 * for await (const conn of listener) conn.close();
 * ```
 */
export interface TcpListenOptions {
  /** `"tcp"` (the default). */
  transport?: "tcp";
  /** The port; 0 picks a free one. */
  port: number;
  /** Address to bind; default `"0.0.0.0"`. `"::"` is dual-stack. */
  hostname?: string;
  /** Set `SO_REUSEPORT`, so several listeners (Workers, processes) share the port. */
  reusePort?: boolean;
  /** Set `SO_REUSEADDR` (default true, as Deno does). */
  reuseAddress?: boolean;
  /** Pending-connection queue length (default 511, Deno's). */
  backlog?: number;
  /** Deno's name for {@linkcode TcpListenOptions.backlog}. */
  tcpBacklog?: number;
}

/**
 * Options of {@linkcode listen} for Unix stream sockets.
 *
 * @example
 * ```ts ignore
 * import { listen, type UnixListenOptions } from "./stream.ts";
 * const options: UnixListenOptions = { transport: "unix", path: "/tmp/app.sock", backlog: 128 };
 * const listener = listen(options);
 * const conn = await listener.accept();
 * ```
 */
export interface UnixListenOptions {
  /** `"unix"`. */
  transport: "unix";
  /** The socket path; a leading `"\0"` makes a Linux abstract name. */
  path: string;
  /** Pending-connection queue length (default 511). */
  backlog?: number;
}

/**
 * Options of {@linkcode connect} for TCP.
 *
 * @example
 * ```ts ignore
 * import { connect, type TcpConnectOptions } from "./stream.ts";
 * const options: TcpConnectOptions = { hostname: "localhost", port: 8080, timeout: 5000 };
 * const conn = await connect(options);
 * conn.close();
 * ```
 */
export interface TcpConnectOptions {
  /** `"tcp"` (the default). */
  transport?: "tcp";
  /** The port. */
  port: number;
  /** Host name or address; default `"127.0.0.1"`. */
  hostname?: string;
  /** Aborts the attempt (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Milliseconds before the attempt fails with `Deno.errors.TimedOut`. */
  timeout?: number;
}

/**
 * Options of {@linkcode connect} for Unix stream sockets.
 *
 * @example
 * ```ts ignore
 * import { connect, type UnixConnectOptions } from "./stream.ts";
 * const signal = AbortSignal.timeout(1000);
 * const options: UnixConnectOptions = { transport: "unix", path: "/tmp/app.sock", signal };
 * const conn = await connect(options);
 * ```
 */
export interface UnixConnectOptions {
  /** `"unix"`. */
  transport: "unix";
  /** The socket path. */
  path: string;
  /** Aborts the attempt. */
  signal?: AbortSignal;
  /** Milliseconds before the attempt fails. */
  timeout?: number;
}

const ACCEPT_FLAGS = 0o4000 | 0o2000000; // SOCK_NONBLOCK | SOCK_CLOEXEC
const DEFAULT_BACKLOG = 511;
const ONE = new Uint8Array(new Int32Array([1]).buffer);
const ZERO = new Uint8Array(new Int32Array([0]).buffer);
// Out of descriptors or memory: retry accept after a pause instead of spinning.
const ACCEPT_BACKOFF_FIRST_MS = 5;
const ACCEPT_BACKOFF_MAX_MS = 1000;
// A Unix connect refused with EAGAIN (full backlog) is retried after 1, 2, 4 ... ms up to this.
const CONNECT_RETRY_MAX_MS = 50;

/**
 * A listening socket: `accept()`, async iteration, `addr`, `close()`,
 * `ref()`/`unref()`, as `Deno.Listener`.
 *
 * @example
 * ```ts ignore
 * import { listen } from "../mod.ts";
 * const listener = listen({ port: 8080 });
 * for await (const conn of listener) {
 *   conn.readable.pipeTo(conn.writable);
 * }
 * ```
 */
export class Listener<
  C extends TcpConn | UnixConn = TcpConn,
  A extends Deno.NetAddr | Deno.UnixAddr = Deno.NetAddr,
> extends SocketHandle implements Deno.Listener<C, A> {
  readonly #transport: "tcp" | "unix";
  readonly #addr: A;
  #accepting = false;
  // One scratch address buffer per listener: accept allocates no typed array.
  readonly #peer = new Uint8Array(128);
  readonly #peerLen = new Uint32Array(1);

  /**
   * Wraps a bound, listening, non-blocking descriptor (made by {@linkcode listen}).
   *
   * @param fd the descriptor, now owned by the listener.
   * @param transport `"tcp"` or `"unix"`.
   * @param addr the bound address.
   */
  constructor(fd: number, transport: "tcp" | "unix", addr: A) {
    super(fd, "Listener");
    this.#transport = transport;
    this.#addr = addr;
  }

  /** The address the listener is bound to (with the real port when 0 was asked). */
  get addr(): A {
    return this.#addr;
  }

  /**
   * Waits for and returns the next connection.
   *
   * @returns the connection.
   * @throws {Deno.errors.BadResource} when the listener is (or gets) closed.
   * @throws {Deno.errors.Busy} when another accept is pending.
   */
  async accept(): Promise<C> {
    if (this.handleFd < 0) throw closedError("Listener");
    if (this.#accepting) throw busyError("accept");
    this.#accepting = true;
    try {
      const c = lib();
      let backoff = 0;
      for (;;) {
        const fd = this.handleFd;
        if (fd < 0) throw closedError("Listener");
        this.#peerLen[0] = 128;
        const connFd = c.accept4(fd, this.#peer, this.#peerLen, ACCEPT_FLAGS);
        if (connFd >= 0) return this.#wrap(connFd);
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

  #pause(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(check);
        resolve();
      }, ms);
      // Closing the listener must end the pause at once, not after it.
      const check = setInterval(() => {
        if (this.closed) {
          clearTimeout(timer);
          clearInterval(check);
          reject(closedError("Listener"));
        }
      }, Math.min(ms, 20));
    });
  }

  #wrap(fd: number): C {
    let remote: Deno.NetAddr | Deno.UnixAddr;
    const peer = this.#peer;
    try {
      if (this.#peerLen[0] === 16 && peer[0] === AF_INET && peer[1] === 0) {
        // The common case, decoded in place: no copy of the address bytes,
        // which matters for a server holding thousands of connections.
        remote = {
          transport: "tcp",
          hostname: `${peer[4]}.${peer[5]}.${peer[6]}.${peer[7]}`,
          port: (peer[2] << 8) | peer[3],
        };
      } else {
        remote = toDenoAddr(decodeSockaddr(peer, this.#peerLen[0]), this.#transport);
      }
    } catch (error) {
      lib().close(fd);
      throw error;
    }
    return new Conn(fd, this.#transport, remote) as unknown as C;
  }

  /** Iterates over accepted connections until the listener is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<C> {
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

function setFlag(fd: number, level: number, name: number, on: boolean): void {
  if (lib().setsockopt(fd, level, name, on ? ONE : ZERO, 4) === -1) {
    throw netError(errno(), "setsockopt");
  }
}

function bindAndListen(fd: number, address: Uint8Array, backlog: number, detail: string): void {
  const c = lib();
  if (c.bind(fd, address, address.byteLength) === -1) throw netError(errno(), "bind", detail);
  if (c.listen(fd, backlog) === -1) throw netError(errno(), "listen", detail);
}

/**
 * Listens on a TCP port or a Unix socket path, like `Deno.listen`.
 * `SO_REUSEADDR` is set (as Deno does), `SO_REUSEPORT` on request, and a
 * listener on `"::"` accepts IPv4 too (dual-stack).
 *
 * @param options where to listen.
 * @returns the listener.
 * @throws {Deno.errors.NotCapable} when `--allow-net` (or read/write for a path) does not cover it.
 * @throws {Deno.errors.AddrInUse} when the address is taken.
 * @throws {TypeError | RangeError} for bad options.
 * @example
 * ```ts ignore
 * import { listen } from "../mod.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * console.log(listener.addr.port);
 * listener.close();
 * ```
 */
export function listen(options: TcpListenOptions): Listener<TcpConn, Deno.NetAddr>;
/**
 * Listens on a Unix stream socket path; see the TCP overload above.
 *
 * @example
 * ```ts ignore
 * import { listen } from "../mod.ts";
 * const listener = listen({ transport: "unix", path: "/tmp/app.sock" });
 * const conn = await listener.accept();
 * conn.close();
 * listener.close();
 * ```
 */
export function listen(options: UnixListenOptions): Listener<UnixConn, Deno.UnixAddr>;
export function listen(
  options: TcpListenOptions | UnixListenOptions,
): Listener<TcpConn, Deno.NetAddr> | Listener<UnixConn, Deno.UnixAddr> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  if (options.transport === "unix") {
    const path = options.path;
    const address = encodeUnix(path);
    checkUnixPath(path);
    const backlog = checkInteger(options.backlog ?? DEFAULT_BACKLOG, "backlog", 0, 0x7fffffff);
    const fd = openSocket(AF_UNIX, SOCK_STREAM);
    try {
      bindAndListen(fd, address, backlog, path);
    } catch (error) {
      lib().close(fd);
      throw error;
    }
    return new Listener<UnixConn, Deno.UnixAddr>(fd, "unix", { transport: "unix", path });
  }
  if (options.transport !== undefined && options.transport !== "tcp") {
    throw new TypeError(`unsupported transport ${JSON.stringify(options.transport)} for listen`);
  }
  const port = checkPort(options.port);
  const hostname = options.hostname ?? "0.0.0.0";
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  const backlog = checkInteger(
    options.backlog ?? options.tcpBacklog ?? DEFAULT_BACKLOG,
    "backlog",
    0,
    0x7fffffff,
  );
  checkNet(hostname, port);
  const [endpoint] = resolveSync(hostname, port);
  const fd = openSocket(endpoint.family, SOCK_STREAM);
  try {
    if (options.reuseAddress ?? true) setFlag(fd, SOL_SOCKET, SO_REUSEADDR, true);
    if (options.reusePort) setFlag(fd, SOL_SOCKET, SO_REUSEPORT, true);
    if (endpoint.family === AF_INET6) {
      // "::" means every address, IPv4 included, whatever the host's default.
      setFlag(fd, IPPROTO_IPV6, IPV6_V6ONLY, false);
    }
    bindAndListen(fd, encodeIp(endpoint), backlog, `${hostname}:${port}`);
    return new Listener<TcpConn, Deno.NetAddr>(
      fd,
      "tcp",
      socketAddress(fd, "getsockname", "tcp") as Deno.NetAddr,
    );
  } catch (error) {
    lib().close(fd);
    throw error;
  }
}

/**
 * Connects to a TCP server or a Unix socket, like `Deno.connect`, without
 * blocking: a non-blocking `connect`, then readiness, then `SO_ERROR`.
 * Each address a host name resolves to is tried in turn.
 *
 * @param options where to connect.
 * @returns the connection.
 * @throws {Deno.errors.ConnectionRefused} when nobody listens.
 * @throws {Deno.errors.TimedOut} when `timeout` passes first.
 * @throws {Deno.errors.NotCapable} when `--allow-net` does not cover the target.
 * @example
 * ```ts ignore
 * import { connect } from "../mod.ts";
 * const conn = await connect({ hostname: "127.0.0.1", port: 8080 });
 * conn.close();
 * ```
 */
export function connect(options: TcpConnectOptions): Promise<TcpConn>;
/**
 * Connects to a Unix stream socket path; see the TCP overload above.
 *
 * @example
 * ```ts ignore
 * import { connect } from "../mod.ts";
 * const conn = await connect({ transport: "unix", path: "/tmp/app.sock" });
 * await conn.write(new TextEncoder().encode("hello"));
 * conn.close();
 * ```
 */
export function connect(options: UnixConnectOptions): Promise<UnixConn>;
export async function connect(
  options: TcpConnectOptions | UnixConnectOptions,
): Promise<TcpConn | UnixConn> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  const { signal, timeout } = options;
  if (timeout !== undefined) checkInteger(timeout, "timeout", 0, 0x7fffffff);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
  signal?.throwIfAborted();
  if (options.transport === "unix") {
    // Read once: the path checked must be the path connected to.
    const path = options.path;
    const address = encodeUnix(path);
    checkUnixPath(path);
    const conn = await attempt(AF_UNIX, address, "unix", path, signal, timeout);
    return conn as unknown as UnixConn;
  }
  if (options.transport !== undefined && options.transport !== "tcp") {
    throw new TypeError(`unsupported transport ${JSON.stringify(options.transport)} for connect`);
  }
  const port = checkPort(options.port);
  const hostname = options.hostname ?? "127.0.0.1";
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  checkNet(hostname, port);
  const endpoints = await resolve(hostname, port, SOCK_STREAM);
  let lastError: unknown;
  for (const endpoint of endpoints) {
    try {
      const conn = await attempt(
        endpoint.family,
        encodeIp(endpoint),
        "tcp",
        `${hostname}:${port}`,
        signal,
        timeout,
      );
      return conn as unknown as TcpConn;
    } catch (error) {
      lastError = error;
      if (signal?.aborted || error instanceof Deno.errors.TimedOut) throw error;
    }
  }
  throw lastError;
}

async function attempt(
  family: number,
  address: Uint8Array,
  transport: "tcp" | "unix",
  detail: string,
  signal: AbortSignal | undefined,
  timeout: number | undefined,
): Promise<Conn> {
  const fd = openSocket(family, SOCK_STREAM);
  // The Conn owns the descriptor from here on: closing it releases the fd once.
  // The peer's address is the one we dial: knowing it now spares a
  // getpeername, and it stays readable even after a reset or close.
  const remote = toDenoAddr(decodeSockaddr(address, address.byteLength), transport);
  const conn = new Conn(fd, transport, remote);
  const c = lib();
  if (c.connect(fd, address, address.byteLength) === 0) return conn;
  let e = errno();
  // Interrupted: the connection goes on asynchronously; wait for it below.
  if (e === EINTR) e = EINPROGRESS;
  if (e !== EINPROGRESS && e !== EAGAIN) {
    conn.close();
    throw netError(e, "connect", detail);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Ends a retry pause at once when the attempt is aborted or times out.
  let endPause: (() => void) | undefined;
  const onAbort = () => {
    conn.close();
    endPause?.();
  };
  let timedOut = false;
  try {
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        onAbort();
      }, timeout);
    }
    for (let pause = 1;; pause = Math.min(pause * 2, CONNECT_RETRY_MAX_MS)) {
      if (e === EAGAIN) {
        // A Unix listener whose backlog was full. Nothing signals when it has
        // room again (the connecting socket reads as writable all along, so
        // edge-triggered epoll stays silent and poll(2) would spin): retry
        // the connect on a timer, backing off.
        let pauseTimer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          endPause = resolve;
          pauseTimer = setTimeout(resolve, pause);
        });
        clearTimeout(pauseTimer);
        endPause = undefined;
        // Closed meanwhile (aborted, timed out): the fd number may be another socket's now.
        if (conn.closed) throw closedError("Conn");
        if (c.connect(fd, address, address.byteLength) === 0) return conn;
        const again = errno();
        if (again === EAGAIN) continue;
        throw netError(again, "connect", detail);
      }
      // The Conn's registration is protected; the connect handshake is part of making it.
      await reactor().writable((conn as unknown as { source: IoSource }).source);
      const result = new Int32Array(1);
      const len = new Uint32Array([4]);
      if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, new Uint8Array(result.buffer), len) === -1) {
        throw netError(errno(), "getsockopt");
      }
      if (result[0] === 0) return conn;
      throw netError(result[0], "connect", detail);
    }
  } catch (error) {
    conn.close();
    if (signal?.aborted) throw signal.reason;
    if (timedOut) {
      throw new Deno.errors.TimedOut(`connect to ${detail} timed out after ${timeout} ms`);
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (timer !== undefined) clearTimeout(timer);
  }
}
