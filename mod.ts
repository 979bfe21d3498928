/**
 * The BSD socket API for Deno, through libc: the ergonomic layer.
 *
 * It reads like Deno's own net API — {@linkcode listen}, {@linkcode connect},
 * {@linkcode Listener}, {@linkcode Conn}, {@linkcode listenDatagram} — so code
 * written for `Deno.listen`/`Deno.connect` works unchanged, while every call
 * underneath is a plain libc call on a non-blocking socket driven by an epoll
 * (or poll) reactor. Beside TCP, UDP and Unix sockets it offers Unix
 * `SOCK_SEQPACKET`, raw IP sockets, every socket option by name
 * ({@linkcode setSocketOption}) and errors that carry `errno` and `code`
 * ({@linkcode SocketError}).
 *
 * The other entry points:
 * - `@bsd-sockets/ffi/ffi`: the C-faithful layer — `socket`, `bind`,
 *   `sendmsg`... with their C names, the constants (`AF_INET`, `SO_REUSEADDR`...),
 *   the struct layouts (`sockaddr_in`...) and the conversions again (`htons`,
 *   `inet_pton`..., which this entry also exports).
 * - `@bsd-sockets/ffi/packets`: IPv4/IPv6/UDP/ICMP header parsers and ICMP
 *   echo builders, for raw sockets.
 *
 * Run with `--allow-ffi` (libc) and `--allow-net` (checked as Deno checks it).
 *
 * @example An echo round trip on a free port
 * ```ts
 * import { connect, listen } from "@bsd-sockets/ffi";
 *
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using server = await listener.accept();
 * await client.write(new TextEncoder().encode("ping"));
 * const buf = new Uint8Array(4);
 * const n = await server.read(buf);
 * await server.write(buf.subarray(0, n!));
 * await client.read(buf);
 * new TextDecoder().decode(buf); // "ping"
 * ```
 *
 * @module
 */

// Stream sockets: TCP and Unix.
export { connect, listen, Listener } from "./net/stream.ts";
export type {
  TcpConnectOptions,
  TcpListenOptions,
  UnixConnectOptions,
  UnixListenOptions,
} from "./net/stream.ts";
export { Conn } from "./net/conn.ts";
export type { KeepAliveOptions, TcpConn, UnixConn } from "./net/conn.ts";
export { ListeningHandle, SocketHandle } from "./net/socket.ts";

// The message engine every datagram-like socket shares.
export { DatagramTruncatedError, DEFAULT_RECEIVE_SIZE, MessageSocket } from "./net/message.ts";
export type { DatagramInfo } from "./net/message.ts";

// Datagram sockets: UDP and Unix datagrams.
export {
  connectDatagram,
  DatagramConn,
  listenDatagram,
  MAX_UDP_PAYLOAD_V4,
  MAX_UDP_PAYLOAD_V6,
} from "./net/datagram.ts";
export type {
  DatagramAddr,
  MulticastV4Membership,
  MulticastV6Membership,
  UdpConnectOptions,
  UdpListenOptions,
  UnixDatagramConnectOptions,
  UnixDatagramListenOptions,
} from "./net/datagram.ts";

// Unix SOCK_SEQPACKET.
export {
  connectSeqpacket,
  listenSeqpacket,
  SeqpacketConn,
  SeqpacketListener,
} from "./net/seqpacket.ts";
export type { SeqpacketConnectOptions, SeqpacketListenOptions } from "./net/seqpacket.ts";

// Hand-over: adopt descriptors made elsewhere, systemd socket activation,
// and a listener handed to Deno's node: servers.
export { adoptSocket, handOverToNode, inspectSocket } from "./net/adopt.ts";
export type {
  AdoptedKind,
  AdoptedKinds,
  AdoptedSocket,
  AdoptOptions,
  SocketInfo,
} from "./net/adopt.ts";
export { activatedSockets, LISTEN_FDS_START } from "./net/activation.ts";
export type { ActivatedSocket, ActivatedSocketsOptions } from "./net/activation.ts";

// Messages: descriptor passing and peer credentials on Unix sockets.
export { adoptReceived, peerCredentials, receiveFds, sendFds } from "./net/ancillary.ts";
export type {
  FdLike,
  MessageTarget,
  ReceivedFds,
  ReceiveFdsOptions,
  UnixCredentials,
} from "./net/ancillary.ts";
export type { ControlMessage } from "./ffi/cmsg.ts";

// Raw IP sockets.
export { openRawSocket, RawSocket } from "./net/raw.ts";
export type { RawAddr, RawMode, RawSocketOptions } from "./net/raw.ts";

// Socket options by name.
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

// The poller the reactor uses.
export { type PollerKind, setPoller } from "./reactor/reactor.ts";

// The tutorial's conversion helpers (pure TypeScript, equal to glibc's): they
// belong to the front door too, since code around sockets needs them.
export {
  htonl,
  htons,
  inet_addr,
  inet_aton,
  inet_ntoa,
  inet_ntop,
  inet_pton,
  ntohl,
  ntohs,
} from "./ffi/convert.ts";

// Bridges: node:http/node:https servers on a module listener, TLS on a module
// Conn, the Node stream adapter underneath (importing them also makes a Conn
// given to Deno.startTls/Deno.serveHttp fail with an error naming the bridge).
export {
  acceptTls,
  type AcceptTlsOptions,
  connectTls,
  type ConnectTlsOptions,
  ConnSocket,
  nativeMisuseGuarded,
  type NodeSocketOptions,
  type ServedNode,
  serveHttp,
  serveHttps,
  type ServeHttpsOptions,
  type ServeNodeOptions,
  type ServeRoute,
  TlsStream,
  toNodeSocket,
} from "./net/bridges/mod.ts";

// Lookups (getnameinfo, interface names and indexes) and typed introspection
// (TCP_INFO).
export {
  getnameinfo,
  getnameinfoSync,
  type NameInfo,
  NameInfoError,
  NI_DGRAM,
  NI_IDN,
  NI_MAXHOST,
  NI_MAXSERV,
  NI_NAMEREQD,
  NI_NOFQDN,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
} from "./ffi/nameinfo.ts";
export { AddrInfoError } from "./ffi/resolve.ts";
export {
  if_indextoname,
  if_nameindex,
  if_nametoindex,
  type NetworkInterface,
} from "./ffi/interfaces.ts";
export {
  decodeTcpInfo,
  getTcpInfo,
  TCP_INFO_FIELDS,
  TCP_STATES,
  type TcpInfo,
} from "./net/tcp_info.ts";

// Errors.
export { SocketError } from "./ffi/errors.ts";
export type { SocketErrorFields } from "./ffi/errors.ts";
