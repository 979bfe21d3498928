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
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { errno } from "../ffi/libc.ts";
import { optionPort, resolve, resolveSync } from "./address.ts";
import {
  decodeSockaddr,
  encodeIp,
  familyOf,
  type IpEndpoint,
  ipPortOf,
  ipv4Text,
  toDenoAddr,
  unixAddress,
} from "./families/mod.ts";
import { Conn, type TcpConn, type UnixConn } from "./conn.ts";
import { netError } from "./errors.ts";
import { setIntOption } from "./options.ts";
import {
  connectHandle,
  lib,
  ListeningHandle,
  openSocket,
  operationSignal,
  socketAddress,
} from "./socket.ts";

/**
 * Options of {@linkcode listen} for TCP.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen, type TcpListenOptions } from "../mod.ts";
 * const options: TcpListenOptions = { hostname: "127.0.0.1", port: 0, reusePort: true };
 * using listener = listen(options);
 * using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using server = await listener.accept();
 * server.remoteAddr.port === client.localAddr.port; // true
 * ```
 */
export interface TcpListenOptions {
  /** `"tcp"` (the default). */
  transport?: "tcp";
  /** The port; 0 or none picks a free one (a numeric string works too, as in Deno). */
  port?: number;
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
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen, type UnixListenOptions } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * const options: UnixListenOptions = { transport: "unix", path: `${dir}/app.sock`, backlog: 128 };
 * using listener = listen(options);
 * using client = await connect({ transport: "unix", path: listener.addr.path });
 * using server = await listener.accept();
 * Deno.removeSync(dir, { recursive: true });
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
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen, type TcpConnectOptions } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = listener.addr;
 * const options: TcpConnectOptions = { hostname: "127.0.0.1", port, timeout: 5000 };
 * using conn = await connect(options);
 * using server = await listener.accept();
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
  /**
   * Race the addresses a name resolves to (Happy Eyeballs, RFC 8305), IPv6
   * and IPv4 interleaved, as Deno does by default; `false` tries them one
   * after another.
   */
  autoSelectFamily?: boolean;
  /** Milliseconds before the next address is tried while earlier ones are pending (default 250, Deno's). */
  autoSelectFamilyAttemptDelay?: number;
}

/**
 * Options of {@linkcode connect} for Unix stream sockets.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen, type UnixConnectOptions } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using listener = listen({ transport: "unix", path: `${dir}/app.sock` });
 * const { signal } = new AbortController(); // abort() gives up on the attempt
 * const options: UnixConnectOptions = { transport: "unix", path: listener.addr.path, signal };
 * using conn = await connect(options);
 * using server = await listener.accept();
 * Deno.removeSync(dir, { recursive: true });
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

const DEFAULT_BACKLOG = 511;

/**
 * A listening socket: `accept()`, async iteration, `addr`, `close()`,
 * `ref()`/`unref()`, as `Deno.Listener`.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * for await (const conn of listener) {
 *   const echo = conn.readable.pipeTo(conn.writable); // echoes until the client closes
 *   await client.write(new TextEncoder().encode("hi"));
 *   await client.read(new Uint8Array(2)); // 2: "hi" came back
 *   await client.closeWrite();
 *   await echo;
 *   break; // a server would go on accepting
 * }
 * ```
 */
export class Listener<
  C extends TcpConn | UnixConn = TcpConn,
  A extends Deno.NetAddr | Deno.UnixAddr = Deno.NetAddr,
> extends ListeningHandle<C> implements Deno.Listener<C, A> {
  readonly #transport: "tcp" | "unix";
  readonly #addr: A;
  readonly #wrap = (fd: number, peer: Uint8Array, peerLength: number): C => {
    let remote: Deno.NetAddr | Deno.UnixAddr;
    if (peerLength === 16 && familyOf(peer) === AF_INET) {
      // The common case, decoded in place: no copy of the address bytes,
      // which matters for a server holding thousands of connections.
      remote = { transport: "tcp", hostname: ipv4Text(peer), port: ipPortOf(peer) };
    } else {
      remote = toDenoAddr(decodeSockaddr(peer, peerLength), this.#transport);
    }
    return new Conn(fd, this.#transport, remote) as unknown as C;
  };

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
  accept(): Promise<C> {
    return this.acceptNext(this.#wrap);
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
 * @category Sockets
 * @param options where to listen.
 * @returns the listener.
 * @throws {Deno.errors.NotCapable} when `--allow-net` (or read/write for a path) does not cover it.
 * @throws {Deno.errors.AddrInUse} when the address is taken.
 * @throws {TypeError | RangeError} for bad options.
 * @example
 * ```ts
 * import { listen } from "../mod.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * listener.addr.port; // the free port the kernel picked
 * listener.close();
 * ```
 */
export function listen(options: TcpListenOptions): Listener<TcpConn, Deno.NetAddr>;
/**
 * Listens on a Unix stream socket path; see the TCP overload above.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using listener = listen({ transport: "unix", path: `${dir}/app.sock` });
 * using client = await connect({ transport: "unix", path: listener.addr.path });
 * using conn = await listener.accept();
 * Deno.removeSync(dir, { recursive: true });
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
    // Read once: the path checked must be the path bound.
    const path = options.path;
    const address = unixAddress(path);
    const backlog = checkInteger(options.backlog ?? DEFAULT_BACKLOG, "backlog", 0, 0x7fffffff);
    const fd = openSocket(AF_UNIX, SOCK_STREAM);
    try {
      bindAndListen(fd, address, backlog, path);
    } catch (error) {
      lib().close(fd);
      throw error;
    }
    return new Listener<UnixConn, Deno.UnixAddr>(fd, "unix", { transport: "unix", path: path! });
  }
  if (options.transport !== undefined && options.transport !== "tcp") {
    throw new TypeError(`unsupported transport ${JSON.stringify(options.transport)} for listen`);
  }
  const port = optionPort(options.port, true);
  const hostname = options.hostname ?? "0.0.0.0";
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  const backlog = checkInteger(
    options.backlog ?? options.tcpBacklog ?? DEFAULT_BACKLOG,
    "backlog",
    0,
    0x7fffffff,
  );
  // resolveSync checks the name as written and the address it yields.
  const [endpoint] = resolveSync(hostname, port, SOCK_STREAM);
  const fd = openSocket(endpoint.family, SOCK_STREAM);
  try {
    if (options.reuseAddress ?? true) setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (options.reusePort) setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (endpoint.family === AF_INET6) {
      // "::" means every address, IPv4 included, whatever the host's default.
      setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
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
 * @category Sockets
 * @param options where to connect.
 * @returns the connection.
 * @throws {Deno.errors.ConnectionRefused} when nobody listens.
 * @throws {Deno.errors.TimedOut} when `timeout` passes first.
 * @throws {Deno.errors.NotCapable} when `--allow-net` does not cover the target.
 * @example
 * ```ts
 * import { connect, listen } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * conn.remoteAddr.port === listener.addr.port; // true
 * conn.close();
 * ```
 */
export function connect(options: TcpConnectOptions): Promise<TcpConn>;
/**
 * Connects to a Unix stream socket path; see the TCP overload above.
 *
 * @category Sockets
 * @example
 * ```ts
 * import { connect, listen } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using listener = listen({ transport: "unix", path: `${dir}/app.sock` });
 * using conn = await connect({ transport: "unix", path: listener.addr.path });
 * using server = await listener.accept();
 * await conn.write(new TextEncoder().encode("hello"));
 * await server.read(new Uint8Array(5)); // 5
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function connect(options: UnixConnectOptions): Promise<UnixConn>;
export async function connect(
  options: TcpConnectOptions | UnixConnectOptions,
): Promise<TcpConn | UnixConn> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  const unix = options.transport === "unix";
  if (!unix && options.transport !== undefined && options.transport !== "tcp") {
    throw new TypeError(`unsupported transport ${JSON.stringify(options.transport)} for connect`);
  }
  // Read once: what is checked must be what is connected to.
  const path = unix ? (options as UnixConnectOptions).path : undefined;
  const address = unix ? unixAddress(path!) : undefined;
  const port = unix ? 0 : optionPort((options as TcpConnectOptions).port, false);
  const hostname = unix ? "" : (options as TcpConnectOptions).hostname ?? "127.0.0.1";
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  const detail = unix ? JSON.stringify(path) : `${hostname}:${port}`;
  const { autoSelectFamily, autoSelectFamilyAttemptDelay } = options as TcpConnectOptions;
  if (autoSelectFamily !== undefined && typeof autoSelectFamily !== "boolean") {
    throw new TypeError("autoSelectFamily must be a boolean");
  }
  const attemptDelay = checkInteger(
    autoSelectFamilyAttemptDelay ?? 250,
    "autoSelectFamilyAttemptDelay",
    0,
    0x7fffffff,
  );
  // One deadline covers the lookup and every attempt.
  const deadline = operationSignal(options.signal, options.timeout, detail);
  const signal = deadline.signal;
  try {
    signal?.throwIfAborted();
    if (unix) {
      const conn = new Conn(openSocket(AF_UNIX, SOCK_STREAM), "unix", {
        transport: "unix",
        path: path!,
      });
      return await connectHandle(conn, address!, detail, signal) as unknown as UnixConn;
    }
    // resolve checks the name as written and every address it yields.
    const endpoints = await resolve(hostname, port, SOCK_STREAM, signal);
    const race = autoSelectFamily ?? true;
    const attempt = (endpoint: IpEndpoint, attemptSignal: AbortSignal | undefined) => {
      const encoded = encodeIp(endpoint);
      // The peer's address is the one we dial: knowing it now spares a
      // getpeername, and it stays readable even after a reset or close.
      const remote = toDenoAddr(decodeSockaddr(encoded, encoded.byteLength), "tcp");
      const conn = new Conn(openSocket(endpoint.family, SOCK_STREAM), "tcp", remote);
      return connectHandle(conn, encoded, detail, attemptSignal) as unknown as Promise<TcpConn>;
    };
    if (!race || endpoints.length === 1) {
      let lastError: unknown;
      for (const endpoint of endpoints) {
        try {
          return await attempt(endpoint, signal);
        } catch (error) {
          lastError = error;
          if (signal?.aborted) throw error;
        }
      }
      throw lastError;
    }
    return await happyEyeballs(interleaveFamilies(endpoints), attemptDelay, signal, attempt);
  } finally {
    deadline.dispose();
  }
}

/** RFC 8305 §4 (and Deno): IPv6 and IPv4 alternate, IPv6 first, each family in resolver order. */
function interleaveFamilies(endpoints: IpEndpoint[]): IpEndpoint[] {
  const v6 = endpoints.filter((e) => e.family === AF_INET6);
  const v4 = endpoints.filter((e) => e.family !== AF_INET6);
  const out: IpEndpoint[] = [];
  for (let i = 0; i < Math.max(v6.length, v4.length); i++) {
    if (i < v6.length) out.push(v6[i]);
    if (i < v4.length) out.push(v4[i]);
  }
  return out;
}

/**
 * Happy Eyeballs as Deno runs it: the first attempt at once, the next one
 * `delay` ms later while earlier ones are pending (at once when none is),
 * the first success wins and every other attempt is aborted, which closes
 * its socket. When all fail, the last failure is the error (Node's and
 * Deno's rule).
 */
function happyEyeballs<T>(
  endpoints: IpEndpoint[],
  delay: number,
  signal: AbortSignal | undefined,
  attempt: (endpoint: IpEndpoint, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const controllers: AbortController[] = [];
    let next = 0;
    let pending = 0;
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastError: unknown;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      if (settled) return;
      finish();
      for (const c of controllers) c.abort(signal!.reason);
      reject(signal!.reason);
    };
    const start = () => {
      clearTimeout(timer);
      if (settled || next >= endpoints.length) return;
      const controller = new AbortController();
      controllers.push(controller);
      pending++;
      attempt(endpoints[next++], controller.signal).then((conn) => {
        pending--;
        if (settled) return;
        finish();
        // The losers are aborted: connectHandle closes their sockets.
        for (const c of controllers) {
          if (c !== controller) c.abort(new Deno.errors.Interrupted("lost the race"));
        }
        resolve(conn);
      }, (error) => {
        pending--;
        if (settled) return;
        lastError = error;
        if (pending === 0 && next >= endpoints.length) {
          finish();
          reject(lastError);
        } else if (pending === 0) {
          start(); // nothing in flight: no reason to wait for the delay
        }
      });
      if (next < endpoints.length) timer = setTimeout(start, delay);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    start();
  });
}
