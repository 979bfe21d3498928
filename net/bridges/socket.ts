/**
 * The stream adapter: a module {@linkcode Conn} as a Node `Duplex` shaped
 * like `net.Socket`, for `node:http`, `node:https`, `node:tls` and npm
 * libraries (`ws`, frameworks on `node:http`) when the socket must stay
 * this module's (a TLS client bound to a device, a socket that goes on
 * being read with `tryRead` afterwards...).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { clearTimeout, setTimeout } from "node:timers";
import type { Conn } from "../conn.ts";

// One read buffer for every adapted connection of this thread: each read is
// copied into the Buffer Node keeps before anything awaits, so no
// connection holds a buffer while it waits for data.
const shared = new Uint8Array(64 * 1024);
// A socket's own buffer, for the rare read that must wait holding one.
const OWN_BUFFER = 16 * 1024;

type Callback = (error?: Error | null) => void;

/**
 * Options of {@linkcode toNodeSocket}.
 *
 * @category Bridges
 * @example
 * ```ts
 * import { connect, listen, type NodeSocketOptions, toNodeSocket } from "../../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const options: NodeSocketOptions = { allowHalfOpen: true };
 * const socket = toNodeSocket(conn, options);
 * socket.destroy();
 * ```
 */
export interface NodeSocketOptions {
  /**
   * Keep the write half open after the peer ends its side (default false,
   * as `net.Socket`: the adapter then ends its side too).
   */
  allowHalfOpen?: boolean;
}

/**
 * A module {@linkcode Conn} as a Node `Duplex` with the parts of
 * `net.Socket` that Node's servers and clients use: addresses,
 * `setTimeout` (idle timer), `setNoDelay`, `setKeepAlive`, `ref`/`unref`,
 * `destroySoon`, `bytesRead`/`bytesWritten`. Ending it shuts down the
 * write half; destroying it closes the Conn.
 *
 * Make one with {@linkcode toNodeSocket}.
 *
 * @category Bridges
 * @example
 * ```ts
 * import { connect, listen, toNodeSocket } from "../../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const socket = toNodeSocket(await connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * using server = await listener.accept();
 * socket.end("hello");
 * const buf = new Uint8Array(5);
 * await server.read(buf); // 5
 * socket.remotePort === listener.addr.port; // true
 * socket.destroy();
 * ```
 */
export class ConnSocket extends Duplex {
  /** The adapted connection (owned by the socket: `destroy()` closes it). */
  readonly conn: Conn;
  /** Bytes received so far. */
  bytesRead = 0;
  /** Always false: the connection is already established. */
  readonly connecting = false;
  /** Always false (a `net.Socket` is pending before it connects). */
  readonly pending = false;
  #pumping = false;
  #wanted = false;
  #own: Uint8Array | undefined;
  #written = 0;
  #timeoutMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unref = false;

  /**
   * Adapts `conn`, which the socket owns from now on.
   *
   * @param conn an open Conn (TCP or Unix).
   * @param options see {@linkcode NodeSocketOptions}.
   */
  constructor(conn: Conn, options: NodeSocketOptions = {}) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false, decodeStrings: true });
    if (conn === null || typeof conn !== "object" || typeof conn.tryRead !== "function") {
      throw new TypeError("toNodeSocket takes a Conn of this module");
    }
    this.conn = conn;
  }

  /** Total bytes handed to the kernel. */
  get bytesWritten(): number {
    return this.#written;
  }

  /** The peer's address (IP text), or undefined for a Unix socket. */
  get remoteAddress(): string | undefined {
    return this.#netAddr("remoteAddr")?.hostname;
  }

  /** The peer's port, or undefined for a Unix socket. */
  get remotePort(): number | undefined {
    return this.#netAddr("remoteAddr")?.port;
  }

  /** `"IPv4"` or `"IPv6"`, or undefined for a Unix socket. */
  get remoteFamily(): string | undefined {
    return familyOf(this.#netAddr("remoteAddr")?.hostname);
  }

  /** The local address (IP text), or undefined for a Unix socket. */
  get localAddress(): string | undefined {
    return this.#netAddr("localAddr")?.hostname;
  }

  /** The local port, or undefined for a Unix socket. */
  get localPort(): number | undefined {
    return this.#netAddr("localAddr")?.port;
  }

  /** `"IPv4"` or `"IPv6"`, or undefined for a Unix socket. */
  get localFamily(): string | undefined {
    return familyOf(this.#netAddr("localAddr")?.hostname);
  }

  /** `"open"`, `"readOnly"`, `"writeOnly"` or `"closed"`, as `net.Socket`. */
  get readyState(): string {
    if (this.destroyed) return "closed";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }

  /**
   * The local address as `net.Socket.address()` gives it.
   *
   * @returns `{ address, family, port }`, or `{}` for a Unix socket.
   */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    const addr = this.#netAddr("localAddr");
    if (addr === undefined) return {};
    return { address: addr.hostname, family: familyOf(addr.hostname)!, port: addr.port };
  }

  #netAddr(which: "localAddr" | "remoteAddr"): Deno.NetAddr | undefined {
    try {
      const addr = this.conn[which];
      return addr.transport === "tcp" ? addr as Deno.NetAddr : undefined;
    } catch {
      return undefined; // never connected, or already reset
    }
  }

  /**
   * Emits `"timeout"` after `ms` without reads or writes (0 turns it off),
   * as `net.Socket.setTimeout`; Node's HTTP server uses it for keep-alive
   * and request timeouts.
   *
   * @param ms idle milliseconds.
   * @param callback added as a `"timeout"` listener.
   * @returns the socket.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== "number" || !(ms >= 0)) {
      throw new RangeError(`timeout must be a number >= 0, got ${ms}`);
    }
    this.#timeoutMs = ms;
    if (callback) {
      if (ms === 0) this.removeListener("timeout", callback);
      else this.once("timeout", callback);
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.emit("timeout");
      }, ms);
      if (this.#unref) this.#timer.unref();
    }
    return this;
  }

  /** The current idle timeout in milliseconds (undefined when off). */
  get timeout(): number | undefined {
    return this.#timeoutMs === 0 ? undefined : this.#timeoutMs;
  }

  #active(): void {
    // refresh() keeps the one timer: no allocation per read or write.
    this.#timer?.refresh();
  }

  /**
   * `TCP_NODELAY`, as `net.Socket.setNoDelay` (ignored on Unix sockets).
   *
   * @param noDelay true (default) to send small writes at once.
   * @returns the socket.
   */
  setNoDelay(noDelay = true): this {
    if (this.#netAddr("localAddr") !== undefined && !this.conn.closed) {
      this.conn.setNoDelay(noDelay);
    }
    return this;
  }

  /**
   * `SO_KEEPALIVE` (and `TCP_KEEPIDLE` from `initialDelay` ms), as
   * `net.Socket.setKeepAlive` (ignored on Unix sockets).
   *
   * @param enable turn probes on or off.
   * @param initialDelay idle milliseconds before the first probe.
   * @returns the socket.
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    if (this.#netAddr("localAddr") === undefined || this.conn.closed) return this;
    const time = Math.floor(initialDelay / 1000);
    this.conn.setKeepAlive(enable && time > 0 ? { time } : enable);
    return this;
  }

  /**
   * Lets the process exit while this socket waits (`net.Socket.unref`).
   *
   * @returns the socket.
   */
  unref(): this {
    this.#unref = true;
    this.#timer?.unref();
    if (!this.conn.closed) this.conn.unref();
    return this;
  }

  /**
   * Keeps the process alive while this socket waits (the default).
   *
   * @returns the socket.
   */
  ref(): this {
    this.#unref = false;
    this.#timer?.ref();
    if (!this.conn.closed) this.conn.ref();
    return this;
  }

  /** Ends the write side, then destroys the socket once it has finished (`net.Socket.destroySoon`). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  /** @internal Node's read hook: read until Node says stop, waiting on the reactor when empty. */
  override _read(): void {
    // Node may ask again while a pump is under way (even from inside push):
    // the flag, not a second pump, carries the request.
    this.#wanted = true;
    if (!this.#pumping) this.#pump();
  }

  async #pump(): Promise<void> {
    const conn = this.conn;
    this.#pumping = true;
    let woke = false;
    try {
      while (this.#wanted && !this.destroyed) {
        let source: Uint8Array = shared;
        let n = conn.tryRead(shared);
        if (n === 0) {
          if (!woke) {
            woke = true;
            await conn.waitReadable();
            continue;
          }
          // Woken with nothing to read: the Conn's readiness may be stale
          // (a hang-up seen before connect completed makes every
          // waitReadable return at once, and this loop would never yield).
          // A read waits on the reactor itself, into this socket's own
          // buffer, since other sockets may use the shared one meanwhile.
          source = this.#own ??= new Uint8Array(OWN_BUFFER);
          n = await conn.read(source);
        }
        woke = false;
        if (n === null) {
          this.push(null);
          return;
        }
        this.bytesRead += n;
        this.#active();
        // Node keeps what is pushed: the one copy the stream API needs.
        const chunk = Buffer.allocUnsafe(n);
        chunk.set(source.subarray(0, n));
        this.#wanted = false;
        if (this.push(chunk)) this.#wanted = true;
      }
    } catch (error) {
      // A destroy while we waited closed the Conn: that is not an error.
      if (!this.destroyed) this.destroy(error as Error);
    } finally {
      this.#pumping = false;
    }
  }

  /** @internal Node's write hook: the kernel takes what it can now; the rest waits. */
  override _write(chunk: Uint8Array, _encoding: string, callback: Callback): void {
    let sent: number;
    try {
      sent = this.conn.tryWrite(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.#written += sent;
    this.#active();
    if (sent === chunk.byteLength) {
      callback();
      return;
    }
    const rest = chunk.subarray(sent);
    this.conn.writeAll(rest).then(() => {
      this.#written += rest.byteLength;
      this.#active();
      callback();
    }, callback);
  }

  /** @internal Node's batched write hook: the chunks in order, no concatenation. */
  override _writev(chunks: { chunk: Uint8Array }[], callback: Callback): void {
    let i = 0;
    const next = (error?: Error | null): void => {
      if (error) return callback(error);
      if (i === chunks.length) return callback();
      this._write(chunks[i++].chunk, "buffer", next);
    };
    next();
  }

  /** @internal Ending the writable side shuts down the write half. */
  override _final(callback: Callback): void {
    if (this.conn.closed) return callback();
    this.conn.closeWrite().then(() => callback(), (error) => callback(error));
  }

  /** @internal Destroying the socket closes the Conn. */
  override _destroy(error: Error | null, callback: Callback): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.conn.close();
    callback(error);
  }
}

function familyOf(hostname: string | undefined): string | undefined {
  if (hostname === undefined) return undefined;
  return hostname.includes(":") ? "IPv6" : "IPv4";
}

/**
 * Wraps a module {@linkcode Conn} as a Node socket (a `Duplex` shaped like
 * `net.Socket`): give it to `http.Server.emit("connection", socket)`,
 * `tls.connect({ socket })`, `new tls.TLSSocket(socket, { isServer: true })`
 * or `ws`. The socket owns the Conn from then on.
 *
 * Prefer the descriptor hand-over ({@linkcode serveHttp}'s default) for a
 * whole server: it runs at Node's native speed with no copy. The adapter
 * costs a copy per read and a JavaScript hop per chunk; use it when the
 * connection must stay this module's.
 *
 * @category Bridges
 * @param conn an open Conn.
 * @param options see {@linkcode NodeSocketOptions}.
 * @returns the Node socket.
 * @example Node's HTTP client over a module Conn
 * ```ts
 * import http from "node:http";
 * import { connect, toNodeSocket } from "../../mod.ts";
 *
 * const server = http.createServer((_req, res) => res.end("hi"));
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as { port: number };
 * const conn = await connect({ hostname: "127.0.0.1", port });
 * const body = await new Promise<string>((resolve, reject) => {
 *   const req = http.get({ createConnection: () => toNodeSocket(conn), path: "/" }, (res) => {
 *     let text = "";
 *     res.setEncoding("utf8").on("data", (s) => text += s).on("end", () => resolve(text));
 *   });
 *   req.on("error", reject);
 * });
 * body; // "hi"
 * await new Promise((resolve) => server.close(resolve));
 * ```
 */
export function toNodeSocket(conn: Conn, options?: NodeSocketOptions): ConnSocket {
  return new ConnSocket(conn, options);
}
