/**
 * TLS over a module {@linkcode Conn}, with `node:tls` on the stream adapter:
 * {@linkcode connectTls} (client) and {@linkcode acceptTls} (server) give a
 * {@linkcode TlsStream} shaped like `Deno.TlsConn` (read, write,
 * closeWrite, close, readable, writable, handshake). For the sockets
 * `Deno.startTls` cannot take: a client bound to a device, a connection
 * with options Deno does not offer.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import tls from "node:tls";
import type { Conn } from "../conn.ts";
import { type ConnSocket, toNodeSocket } from "./socket.ts";

/**
 * Options of {@linkcode connectTls}.
 *
 * @category Bridges
 * @example
 * ```ts
 * import type { ConnectTlsOptions } from "../../mod.ts";
 * const options: ConnectTlsOptions = { servername: "example.com", alpnProtocols: ["http/1.1"] };
 * options.servername; // "example.com"
 * ```
 */
export interface ConnectTlsOptions {
  /** The name to verify and send as SNI (default `"localhost"`). */
  servername?: string;
  /** Trusted CA certificates (PEM); default: Node's root store. */
  ca?: string | string[];
  /** ALPN protocols to offer. */
  alpnProtocols?: string[];
  /** Verify the peer's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Lowest TLS version (`"TLSv1.2"` by default, `"TLSv1.3"` to require 1.3). */
  minVersion?: tls.SecureVersion;
  /** Aborts the handshake. */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode acceptTls}.
 *
 * @category Bridges
 * @example
 * ```ts
 * import type { AcceptTlsOptions } from "../../mod.ts";
 * const options: AcceptTlsOptions = { cert: "-----BEGIN CERTIFICATE-----...", key: "...", alpnProtocols: ["h2", "http/1.1"] };
 * options.alpnProtocols; // ["h2", "http/1.1"]
 * ```
 */
export interface AcceptTlsOptions {
  /** The certificate chain (PEM). */
  cert: string | string[];
  /** The private key (PEM). */
  key: string;
  /** ALPN protocols to accept, in preference order. */
  alpnProtocols?: string[];
  /** Lowest TLS version (`"TLSv1.2"` by default). */
  minVersion?: tls.SecureVersion;
  /** Aborts the handshake. */
  signal?: AbortSignal;
}

/**
 * TLS over a module Conn, shaped like `Deno.TlsConn`: `read`, `write`,
 * `closeWrite`, `close`, `readable`/`writable`, `localAddr`/`remoteAddr`,
 * `handshake()`. The Node `TLSSocket` underneath is {@linkcode TlsStream.socket}.
 *
 * @category Bridges
 * @example
 * ```ts
 * import { acceptTls, connect, connectTls, listen, type TlsStream } from "../../mod.ts";
 * const cert = Deno.readTextFileSync(new URL("../../tests/fixtures/tls_localhost_cert.pem", import.meta.url));
 * const key = Deno.readTextFileSync(new URL("../../tests/fixtures/tls_localhost_key.pem", import.meta.url));
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const client = connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const [server, tlsClient]: TlsStream[] = await Promise.all([
 *   listener.accept().then((conn) => acceptTls(conn, { cert, key })),
 *   client.then((conn) => connectTls(conn, { servername: "localhost", ca: cert })),
 * ]);
 * await tlsClient.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(2);
 * await server.read(buf); // 2
 * tlsClient.close();
 * server.close();
 * ```
 */
export class TlsStream implements Disposable {
  /** The Node TLS socket (certificates, `getProtocol()`, `alpnProtocol`...). */
  readonly socket: tls.TLSSocket;
  readonly #raw: ConnSocket;
  readonly #localAddr: Deno.NetAddr | Deno.UnixAddr;
  readonly #remoteAddr: Deno.NetAddr | Deno.UnixAddr;
  // Decrypted bytes not read yet: ours, not Node's, so a TLS socket that
  // Node destroys once both sides have ended cannot take them along.
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #paused = false;
  #closed = false;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /** @internal Made by {@linkcode connectTls} and {@linkcode acceptTls}. */
  constructor(socket: tls.TLSSocket, raw: ConnSocket) {
    this.socket = socket;
    this.#raw = raw;
    const conn = raw.conn;
    this.#localAddr = conn.localAddr;
    this.#remoteAddr = conn.remoteAddr;
    socket.on("data", (chunk: Buffer) => {
      this.#queue.push(chunk);
      this.#queued += chunk.byteLength;
      // Backpressure: past the mark, Node stops reading the Conn.
      if (this.#queued >= QUEUE_HIGH && !this.#paused) {
        this.#paused = true;
        // The Conn's adapter pauses too: Deno 2.9's TLS over a JavaScript
        // stream, given ciphertext and then end of stream while its reader
        // is paused, ends without decrypting what it holds (the rest of a
        // large transfer was lost). Paused there, neither reaches it.
        raw.pause();
        socket.pause();
      }
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error) => {
      this.#error = error;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** The local address of the Conn underneath. */
  get localAddr(): Deno.NetAddr | Deno.UnixAddr {
    return this.#localAddr;
  }

  /** The peer's address of the Conn underneath. */
  get remoteAddr(): Deno.NetAddr | Deno.UnixAddr {
    return this.#remoteAddr;
  }

  /**
   * The negotiated details, as `Deno.TlsConn.handshake()` (already done:
   * {@linkcode connectTls} and {@linkcode acceptTls} resolve after it).
   *
   * @returns the ALPN protocol chosen, or null.
   */
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    const alpn = this.socket.alpnProtocol;
    return Promise.resolve({ alpnProtocol: typeof alpn === "string" ? alpn : null });
  }

  /**
   * Reads decrypted bytes into `p`.
   *
   * @param p the destination.
   * @returns bytes read, or null at the end of the stream.
   * @throws {Deno.errors.BadResource} once closed.
   */
  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      const queue = this.#queue;
      if (queue.length > 0) {
        const chunk = queue[0];
        let n = chunk.byteLength;
        if (n <= p.byteLength) {
          p.set(chunk);
          queue.shift();
        } else {
          n = p.byteLength;
          p.set(chunk.subarray(0, n));
          queue[0] = chunk.subarray(n);
        }
        this.#queued -= n;
        if (this.#paused && this.#queued < QUEUE_HIGH) {
          this.#paused = false;
          this.socket.resume();
          this.#raw.resume();
        }
        return n;
      }
      if (this.#closed) throw new Deno.errors.BadResource("TLS stream is closed");
      if (this.#error !== null) throw this.#error;
      if (this.#ended) return null;
      if (p.byteLength === 0) return 0;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /**
   * Writes `p`, resolving once the TLS layer has handed it on.
   *
   * @param p the bytes.
   * @returns `p.byteLength` (a TLS write takes every byte).
   */
  write(p: Uint8Array): Promise<number> {
    if (this.socket.destroyed || !this.socket.writable) {
      return Promise.reject(new Deno.errors.BadResource("TLS stream is closed"));
    }
    return new Promise((resolve, reject) => {
      this.socket.write(p, (error) => error ? reject(error) : resolve(p.byteLength));
    });
  }

  /**
   * Sends TLS close_notify and shuts down the write half; the peer's answer
   * can still be read.
   */
  closeWrite(): Promise<void> {
    return new Promise((resolve) =>
      this.socket.end(() => {
        // Deno 2.9's TLS over a JavaScript stream sends close_notify but
        // never ends the stream underneath, and a peer that reads
        // close_notify in the same batch as data may miss it: the TCP FIN
        // (shutdown of the Conn's write half) makes the end unmistakable.
        if (this.#raw.writable) this.#raw.end(resolve);
        else resolve();
      })
    );
  }

  /** Closes the TLS stream and the Conn underneath. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.socket.destroy();
    this.#raw.destroy();
    this.#notify();
  }

  /** Same as {@linkcode TlsStream.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Decrypted bytes from the peer. Cancelling it closes the stream. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const buf = new Uint8Array(16 * 1024);
        const n = await this.read(buf);
        if (n === null) controller.close();
        else controller.enqueue(buf.subarray(0, n));
      },
      cancel: () => this.close(),
    });
  }

  /** Bytes to encrypt and send. Closing it sends close_notify. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
  }
}

// Decrypted bytes held for read() before Node is asked to stop reading.
const QUEUE_HIGH = 64 * 1024;

function handshake(
  socket: tls.TLSSocket,
  raw: ConnSocket,
  event: "secureConnect" | "secure",
  signal: AbortSignal | undefined,
): Promise<TlsStream> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => {
      cleanup();
      socket.destroy();
      raw.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal!.reason);
    const onClose = () => fail(new Deno.errors.ConnectionReset("TLS handshake: the peer closed"));
    const cleanup = () => {
      socket.off("error", fail);
      socket.off("close", onClose);
      signal?.removeEventListener("abort", onAbort);
    };
    if (signal?.aborted) return fail(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", fail);
    socket.once("close", onClose);
    socket.once(event, () => {
      cleanup();
      resolve(new TlsStream(socket, raw));
    });
  });
}

/**
 * Starts TLS as the client on a module Conn (the bridge to use where
 * `Deno.startTls` cannot take the Conn), verifying the server's certificate
 * for `servername`.
 *
 * @category Bridges
 * @param conn a connected module Conn, owned by the result from now on.
 * @param options the server's name, trusted CAs, ALPN.
 * @returns the TLS stream, once the handshake is done.
 * @throws {Error} Node's TLS error when the handshake fails (certificate, protocol).
 * @example A TLS client against a TLS server (both over module Conns)
 * ```ts
 * import { acceptTls, connect, connectTls, listen } from "../../mod.ts";
 * const cert = Deno.readTextFileSync(new URL("../../tests/fixtures/tls_localhost_cert.pem", import.meta.url));
 * const key = Deno.readTextFileSync(new URL("../../tests/fixtures/tls_localhost_key.pem", import.meta.url));
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const served = listener.accept().then(async (conn) => {
 *   using tls = await acceptTls(conn, { cert, key });
 *   await tls.write(new TextEncoder().encode("hello over TLS"));
 *   await tls.closeWrite();
 * });
 * const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using tls = await connectTls(conn, { servername: "localhost", ca: cert });
 * const text = await new Response(tls.readable).text(); // "hello over TLS"
 * await served;
 * ```
 */
export function connectTls(conn: Conn, options: ConnectTlsOptions = {}): Promise<TlsStream> {
  const raw = toNodeSocket(conn);
  const socket = tls.connect({
    socket: raw,
    servername: options.servername ?? "localhost",
    ca: options.ca,
    ALPNProtocols: options.alpnProtocols,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    minVersion: options.minVersion,
  });
  return handshake(socket, raw, "secureConnect", options.signal);
}

/**
 * Accepts TLS as the server on a module Conn (for instance one accepted
 * from a listener Node cannot be given).
 *
 * @category Bridges
 * @param conn an accepted module Conn, owned by the result from now on.
 * @param options certificate, key, ALPN.
 * @returns the TLS stream, once the handshake is done.
 * @example
 * ```ts
 * import { acceptTls, connect, connectTls, listen } from "../../mod.ts";
 * const cert = Deno.readTextFileSync(new URL("../../tests/fixtures/tls_localhost_cert.pem", import.meta.url));
 * const key = Deno.readTextFileSync(new URL("../../tests/fixtures/tls_localhost_key.pem", import.meta.url));
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const client = connect({ hostname: "127.0.0.1", port: listener.addr.port })
 *   .then((conn) => connectTls(conn, { ca: cert, alpnProtocols: ["echo"] }));
 * using server = await acceptTls(await listener.accept(), { cert, key, alpnProtocols: ["echo"] });
 * using tls = await client;
 * (await server.handshake()).alpnProtocol; // "echo"
 * ```
 */
export function acceptTls(conn: Conn, options: AcceptTlsOptions): Promise<TlsStream> {
  if (options === null || typeof options !== "object" || !options.cert || !options.key) {
    return Promise.reject(new TypeError("acceptTls needs options.cert and options.key"));
  }
  const raw = toNodeSocket(conn);
  const socket = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: tls.createSecureContext({
      cert: options.cert,
      key: options.key,
      minVersion: options.minVersion,
    }),
    ALPNProtocols: options.alpnProtocols,
  });
  return handshake(socket, raw, "secure", options.signal);
}
