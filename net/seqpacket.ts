/**
 * Unix `SOCK_SEQPACKET` sockets (`listenSeqpacket`/`connectSeqpacket`):
 * connection-oriented like a stream, with message boundaries kept like
 * datagrams. The listener accepts and the client connects through the
 * shared life cycle (`net/socket.ts`); messages go through the shared
 * message engine (`net/message.ts`).
 *
 * @module
 */

import { checkInteger } from "../ffi/checks.ts";
import { AF_UNIX, POLLHUP, POLLIN, POLLRDHUP, SOCK_SEQPACKET } from "../ffi/constants.ts";
import { errno } from "../ffi/libc.ts";
import { pollfd } from "../ffi/structs.ts";
import { unixAddress } from "./families/mod.ts";
import { netError } from "./errors.ts";
import { type DatagramInfo, MessageSocket } from "./message.ts";
import {
  connectHandle,
  lib,
  ListeningHandle,
  openSocket,
  operationSignal,
  untilClosed,
} from "./socket.ts";

const DEFAULT_BACKLOG = 511;

/**
 * Options of {@linkcode listenSeqpacket}.
 *
 * @category Seqpacket
 * @example
 * ```ts
 * import { connectSeqpacket, listenSeqpacket, type SeqpacketListenOptions } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * const options: SeqpacketListenOptions = { path: `${dir}/app.sock`, backlog: 16 };
 * using listener = listenSeqpacket(options);
 * using client = await connectSeqpacket({ path: listener.addr.path });
 * using server = await listener.accept();
 * Deno.removeSync(dir, { recursive: true });
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
 * @category Seqpacket
 * @example
 * ```ts
 * import { connectSeqpacket, listenSeqpacket, type SeqpacketConnectOptions } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using listener = listenSeqpacket({ path: `${dir}/app.sock` });
 * const options: SeqpacketConnectOptions = { path: listener.addr.path, timeout: 1000 };
 * using conn = await connectSeqpacket(options);
 * conn.remoteAddr.path === listener.addr.path; // true
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export interface SeqpacketConnectOptions {
  /** The listener's path. */
  path: string;
  /** Aborts the attempt; rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Milliseconds before the attempt fails with `Deno.errors.TimedOut`. */
  timeout?: number;
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
 * @category Seqpacket
 * @example
 * ```ts
 * import { connectSeqpacket, listenSeqpacket } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using listener = listenSeqpacket({ path: `${dir}/app.sock` });
 * using client = await connectSeqpacket({ path: listener.addr.path });
 * using server = await listener.accept();
 * await client.send(new TextEncoder().encode("one"));
 * await client.send(new TextEncoder().encode("two"));
 * (await server.receive())?.byteLength; // 3: one whole message, boundaries kept
 * client.close();
 * await server.receive(); // "two" as bytes: what was sent before the close
 * await server.receive(); // null: the peer has closed
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class SeqpacketConn extends MessageSocket<
  Uint8Array<ArrayBuffer> | null,
  DatagramInfo<Deno.UnixAddr> | null
> {
  readonly #local: Deno.UnixAddr;
  readonly #remote: Deno.UnixAddr;
  readonly #poll = new Uint8Array(pollfd.size);

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
    return this.sendMessage(p, null, 0, () => JSON.stringify(this.#remote.path));
  }

  /** @internal Messages are the data alone: the peer is fixed. */
  protected override readonly tupleResults = false;

  /** @internal */
  protected sourceAddress(): Deno.UnixAddr {
    return this.#remote;
  }

  /** @internal */
  protected describeAddress(addr: unknown): string {
    return JSON.stringify((addr as Deno.UnixAddr).path);
  }

  /** @internal An empty message is told apart from the end by poll (POLLRDHUP/POLLHUP). */
  protected override endOfMessages(): boolean {
    return this.#peerGone();
  }

  #peerGone(): boolean {
    const pfd = this.#poll;
    pollfd.encode({ fd: this.handleFd, events: POLLIN | POLLRDHUP, revents: 0 }, pfd);
    if (lib().poll(pfd, 1, 0) !== 1) return false;
    return (pollfd.decode(pfd).revents & (POLLHUP | POLLRDHUP)) !== 0;
  }

  /** Yields each message until the peer closes or the socket is closed. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array<ArrayBuffer>> {
    return untilClosed(this, () => this.receive());
  }
}

/**
 * A listening Unix `SOCK_SEQPACKET` socket: `accept()` and async iteration
 * give a {@linkcode SeqpacketConn} per client.
 *
 * @category Seqpacket
 * @example
 * ```ts
 * import { connectSeqpacket, listenSeqpacket } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using listener = listenSeqpacket({ path: `${dir}/app.sock` });
 * using client = await connectSeqpacket({ path: listener.addr.path });
 * await client.send(new TextEncoder().encode("ping"));
 * for await (const conn of listener) {
 *   await conn.send((await conn.receive())!); // echo one message
 *   conn.close();
 *   break; // a server would go on accepting
 * }
 * await client.receive(); // "ping" as bytes
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class SeqpacketListener extends ListeningHandle<SeqpacketConn> {
  readonly #addr: Deno.UnixAddr;

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
  accept(): Promise<SeqpacketConn> {
    return this.acceptNext((fd) =>
      new SeqpacketConn(fd, this.#addr, { transport: "unixpacket", path: "" })
    );
  }
}

/**
 * Listens on a Unix `SOCK_SEQPACKET` socket (message boundaries kept,
 * connection-oriented). Needs read and write access to the path.
 *
 * @category Seqpacket
 * @param options the path (and backlog).
 * @returns the listener.
 * @throws {Deno.errors.AddrInUse} when the path exists.
 * @example
 * ```ts
 * import { connectSeqpacket, listenSeqpacket } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * const listener = listenSeqpacket({ path: `${dir}/app.sock` });
 * using client = await connectSeqpacket({ path: listener.addr.path });
 * using conn = await listener.accept();
 * listener.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function listenSeqpacket(options: SeqpacketListenOptions): SeqpacketListener {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be { path, backlog? }");
  }
  // Read once: the path checked must be the path bound.
  const path = options.path;
  const address = unixAddress(path);
  const backlog = checkInteger(options.backlog ?? DEFAULT_BACKLOG, "backlog", 0, 0x7fffffff);
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
 * @category Seqpacket
 * @param options the listener's path.
 * @returns the connection.
 * @throws {Deno.errors.NotFound} when nothing is at the path.
 * @throws {Deno.errors.ConnectionRefused} when nobody listens there.
 * @example
 * ```ts
 * import { connectSeqpacket, listenSeqpacket } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using listener = listenSeqpacket({ path: `${dir}/app.sock` });
 * const conn = await connectSeqpacket({ path: listener.addr.path });
 * await conn.send(new TextEncoder().encode("hello"));
 * using server = await listener.accept();
 * await server.receive(); // "hello" as bytes
 * conn.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function connectSeqpacket(options: SeqpacketConnectOptions): Promise<SeqpacketConn> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be { path, signal?, timeout? }");
  }
  // Read once: the path checked must be the path connected to.
  const path = options.path;
  const address = unixAddress(path);
  const deadline = operationSignal(options.signal, options.timeout, JSON.stringify(path));
  try {
    deadline.signal?.throwIfAborted();
    const remote: Deno.UnixAddr = { transport: "unixpacket", path };
    const conn = new SeqpacketConn(
      openSocket(AF_UNIX, SOCK_SEQPACKET),
      { transport: "unixpacket", path: "" },
      remote,
    );
    return await connectHandle(conn, address, JSON.stringify(path), deadline.signal);
  } finally {
    deadline.dispose();
  }
}
