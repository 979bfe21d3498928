/**
 * The BSD socket API for Deno, through libc.
 *
 * The ergonomic layer reads like Deno's own net API — {@linkcode listen},
 * {@linkcode connect}, `Listener`, `Conn` — so code written for
 * `Deno.listen`/`Deno.connect` works unchanged, while every call underneath
 * is a plain libc call on a non-blocking socket driven by an epoll reactor.
 * Socket options, conversion helpers, constants, struct layouts and
 * {@linkcode SocketError} are re-exported; the C-faithful calls live in
 * `./ffi/mod.ts`.
 *
 * Run with `--allow-ffi` (libc) and `--allow-net` (checked like Deno does).
 *
 * @example An echo server
 * ```ts ignore
 * import { listen } from "./mod.ts";
 * for await (const conn of listen({ port: 8080 })) {
 *   conn.readable.pipeTo(conn.writable).catch(() => {});
 * }
 * ```
 *
 * @module
 */

export { connect, listen, Listener } from "./net/stream.ts";
export type {
  TcpConnectOptions,
  TcpListenOptions,
  UnixConnectOptions,
  UnixListenOptions,
} from "./net/stream.ts";
export { Conn } from "./net/conn.ts";
export type { KeepAliveOptions, TcpConn, UnixConn } from "./net/conn.ts";
export { SocketHandle } from "./net/socket.ts";
export {
  connectDatagram,
  connectSeqpacket,
  DatagramConn,
  DatagramTruncatedError,
  DEFAULT_RECEIVE_SIZE,
  listenDatagram,
  listenSeqpacket,
  MAX_UDP_PAYLOAD_V4,
  MAX_UDP_PAYLOAD_V6,
  MessageSocket,
  SeqpacketConn,
  SeqpacketListener,
} from "./net/datagram.ts";
export type {
  DatagramAddr,
  DatagramInfo,
  MulticastV4Membership,
  MulticastV6Membership,
  SeqpacketConnectOptions,
  SeqpacketListenOptions,
  UdpConnectOptions,
  UdpListenOptions,
  UnixDatagramConnectOptions,
  UnixDatagramListenOptions,
} from "./net/datagram.ts";
export { openRawSocket, RawSocket } from "./net/raw.ts";
export type { RawAddr, RawMode, RawSocketOptions } from "./net/raw.ts";
export * from "./net/packets.ts";
export {
  getSocketOption,
  getSocketOptionRaw,
  setSocketOption,
  setSocketOptionRaw,
  SOCKET_OPTIONS,
} from "./net/options.ts";
export type {
  Kind,
  LingerValue,
  OptionSpec,
  SocketOptionName,
  SocketOptionTypes,
} from "./net/options.ts";
export { IoSource, type PollerKind, Reactor, reactor, setPoller } from "./reactor/reactor.ts";
export { type Poller, READABLE, WRITABLE } from "./reactor/poller.ts";

export * from "./ffi/convert.ts";
export * from "./ffi/constants.ts";
export * from "./ffi/structs.ts";
export { brandSocketError, errnoName, SocketError, strerror } from "./ffi/errors.ts";
export type { SocketErrorFields } from "./ffi/errors.ts";
