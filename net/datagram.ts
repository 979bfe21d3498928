/**
 * Datagram sockets shaped like `Deno.DatagramConn`: UDP over IPv4 and IPv6
 * (unconnected and connected) and Unix datagram sockets, on the shared
 * message engine (`net/message.ts`; truncation is reported there, never
 * silent).
 *
 * ## Oversized sends fail as the kernel says, as in Deno
 *
 * A UDP payload larger than 65,507 bytes (IPv4, including IPv4-mapped
 * destinations) or 65,527 bytes (IPv6) cannot exist; `sendto` refuses it
 * with `EMSGSIZE`, which `send` rejects with as a `SocketError` (`code`
 * `"EMSGSIZE"`, as Deno's error has), with the sizes and `SO_SNDBUF` in the
 * message. The same holds for a Unix datagram beyond `SO_SNDBUF`.
 *
 * @module
 */

import { checkInteger, describe } from "../ffi/checks.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  SO_BROADCAST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_DGRAM,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { inet_ntop, inet_pton } from "../ffi/convert.ts";
import { errno } from "../ffi/libc.ts";
import { checkPort, optionPort, parseNumericHost, resolve, resolveSync } from "./address.ts";
import {
  decodeUnix,
  endpointFor,
  familyOf,
  IP_SOCKADDR_MAX,
  type IpEndpoint,
  ipPortOf,
  unixAddress,
  writeIp,
} from "./families/mod.ts";
import { closedError, netError } from "./errors.ts";
import { type DatagramInfo, MessageSocket } from "./message.ts";
import { setBytesOption, setIntOption } from "./options.ts";
import { checkNet, checkNetAddress } from "./permissions.ts";
import { validateHostname } from "./hostname.ts";
import { lib, openSocket, operationSignal, socketAddress, untilClosed } from "./socket.ts";

/**
 * Largest UDP payload over IPv4: 65,535 − 20 (IP header) − 8 (UDP header).
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { listenDatagram, MAX_UDP_PAYLOAD_V4 } from "../mod.ts";
 * using conn = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * await conn.send(new Uint8Array(MAX_UDP_PAYLOAD_V4), conn.addr); // 65507
 * const [data] = await conn.receive();
 * data.byteLength; // 65507: receive() never cuts a UDP datagram
 * const error = await conn.send(new Uint8Array(MAX_UDP_PAYLOAD_V4 + 1), conn.addr).catch((e) => e);
 * error.code; // "EMSGSIZE": the kernel's answer, as with Deno.listenDatagram
 * ```
 */
export const MAX_UDP_PAYLOAD_V4 = 65507;
/**
 * Largest UDP payload over IPv6 without jumbograms: 65,535 − 8 (UDP header).
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { listenDatagram, MAX_UDP_PAYLOAD_V6 } from "../mod.ts";
 * using conn = listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
 * await conn.send(new Uint8Array(MAX_UDP_PAYLOAD_V6), conn.addr); // 65527
 * const [data] = await conn.receive();
 * data.byteLength; // 65527
 * const error = await conn.send(new Uint8Array(MAX_UDP_PAYLOAD_V6 + 1), conn.addr).catch((e) => e);
 * error.code; // "EMSGSIZE"
 * ```
 */
export const MAX_UDP_PAYLOAD_V6 = 65527;

/**
 * Options of {@linkcode listenDatagram} for UDP.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { listenDatagram, type UdpListenOptions } from "../mod.ts";
 * const options: UdpListenOptions = { transport: "udp", hostname: "127.0.0.1", port: 0 };
 * using a = listenDatagram({ ...options, reusePort: true });
 * using b = listenDatagram({ ...options, port: a.addr.port, reusePort: true }); // shares the port
 * b.addr.port === a.addr.port; // true
 * ```
 */
export interface UdpListenOptions {
  /** `"udp"`. */
  transport: "udp";
  /** The port; 0 or none picks a free one (a numeric string works too, as in Deno). */
  port?: number;
  /** Address to bind; default `"0.0.0.0"`. `"::"` also receives IPv4 (dual-stack). */
  hostname?: string;
  /** Set `SO_REUSEADDR` (default false, as Deno). */
  reuseAddress?: boolean;
  /** Set `SO_REUSEPORT`, so several sockets share the port. */
  reusePort?: boolean;
  /** `SO_BROADCAST`, allowing sends to broadcast addresses: on by default, as Deno has it. */
  broadcast?: boolean;
  /** Loop outgoing multicast back to local sockets (`IP_MULTICAST_LOOP`; default false, as Deno). */
  loopback?: boolean;
  /** On an IPv6 address: refuse IPv4 (`IPV6_V6ONLY`; default false). */
  ipv6Only?: boolean;
}

/**
 * Options of {@linkcode listenDatagram} for Unix datagram sockets
 * (`SOCK_DGRAM` in `AF_UNIX`). `"unixgram"` is Go's name; `"unixpacket"` is
 * the name Deno uses for the same socket. Reported addresses say
 * `"unixpacket"`, because `Deno.UnixAddr` knows no other datagram name.
 * For `SOCK_SEQPACKET` see {@linkcode listenSeqpacket}.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { listenDatagram, type UnixDatagramListenOptions } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * const options: UnixDatagramListenOptions = { transport: "unixgram", path: `${dir}/app.dgram` };
 * using conn = listenDatagram(options);
 * conn.addr.transport; // "unixpacket", the name Deno.UnixAddr knows
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export interface UnixDatagramListenOptions {
  /** `"unixgram"` or `"unixpacket"` (both `SOCK_DGRAM`). */
  transport: "unixgram" | "unixpacket";
  /**
   * The path to bind; a leading `"\0"` is a Linux abstract name. Omitted:
   * the socket stays unbound and can send but gets no replies.
   */
  path?: string;
}

/**
 * Options of {@linkcode connectDatagram} for UDP.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { connectDatagram, listenDatagram, type UdpConnectOptions } from "../mod.ts";
 * using server = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * const { port } = server.addr;
 * const options: UdpConnectOptions = { transport: "udp", port, localHostname: "127.0.0.1" };
 * using conn = await connectDatagram(options);
 * await conn.send(new TextEncoder().encode("ping")); // no address: to the peer
 * const [, from] = await server.receive();
 * from.port === conn.addr.port; // true
 * ```
 */
export interface UdpConnectOptions {
  /** `"udp"`. */
  transport: "udp";
  /** The peer's port. */
  port: number;
  /** The peer's host; default `"127.0.0.1"`. */
  hostname?: string;
  /** Local address to bind first (default: the wildcard of the peer's family). */
  localHostname?: string;
  /** Local port to bind first (default 0: any). */
  localPort?: number;
  /** Aborts the call (resolution included); rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Milliseconds before the call fails with `Deno.errors.TimedOut`. */
  timeout?: number;
}

/**
 * Options of {@linkcode connectDatagram} for Unix datagram sockets.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { connectDatagram, listenDatagram, type UnixDatagramConnectOptions } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using server = listenDatagram({ transport: "unixgram", path: `${dir}/server.sock` });
 * const { path } = server.addr;
 * const localPath = `${dir}/client.sock`; // bound first, so the server can reply
 * const options: UnixDatagramConnectOptions = { transport: "unixgram", path, localPath };
 * using client = await connectDatagram(options);
 * await client.send(new TextEncoder().encode("ping"));
 * const [data, from] = await server.receive(); // from.path === localPath
 * await server.send(data, from);
 * await client.receive(); // the "ping" back, from path
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export interface UnixDatagramConnectOptions {
  /** `"unixgram"` or `"unixpacket"` (both `SOCK_DGRAM`). */
  transport: "unixgram" | "unixpacket";
  /** The peer's path. */
  path: string;
  /** Path to bind first, so the peer can reply (default: unbound). */
  localPath?: string;
  /** Aborts the call; rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Milliseconds before the call fails with `Deno.errors.TimedOut`. */
  timeout?: number;
}

/**
 * The addresses a {@linkcode DatagramConn} deals in: UDP or Unix datagram peers.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { type DatagramAddr, listenDatagram } from "../mod.ts";
 * using conn = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * const self: DatagramAddr = conn.addr; // { transport: "udp", hostname: "127.0.0.1", port }
 * await conn.send(new Uint8Array([1]), self);
 * const [, from] = await conn.receive(); // a DatagramAddr too
 * ```
 */
export type DatagramAddr = Deno.NetAddr | Deno.UnixAddr;

/**
 * Deno's `MulticastV4Membership`, over `IP_ADD_MEMBERSHIP`.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { listenDatagram, type MulticastV4Membership } from "../mod.ts";
 * using conn = listenDatagram({ transport: "udp", hostname: "239.255.0.1", port: 0 });
 * const group: MulticastV4Membership = await conn.joinMulticastV4("239.255.0.1", "127.0.0.1");
 * await group.setLoopback(true); // hear our own sends
 * await group.setTTL(0); // never leave this host
 * conn.setMulticastInterface("127.0.0.1");
 * await conn.send(new TextEncoder().encode("hi"), conn.addr); // conn.addr is the group
 * await conn.receive(); // ["hi" as bytes, { transport: "udp", hostname: "127.0.0.1", port }]
 * await group.leave();
 * ```
 */
export interface MulticastV4Membership extends Deno.MulticastV4Membership {
  /** The group joined. */
  readonly group: string;
  /** The local interface address it was joined on. */
  readonly interfaceAddress: string;
}

/**
 * Deno's `MulticastV6Membership`, over `IPV6_JOIN_GROUP`.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { listenDatagram, type MulticastV6Membership } from "../mod.ts";
 * using conn = listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
 * const group: MulticastV6Membership = await conn.joinMulticastV6("ff02::1:3", 1); // 1: lo
 * group.interfaceIndex; // 1
 * await group.setLoopback(false);
 * await group.leave();
 * ```
 */
export interface MulticastV6Membership extends Deno.MulticastV6Membership {
  /** The group joined. */
  readonly group: string;
  /** The interface index it was joined on. */
  readonly interfaceIndex: number;
}

// Set by DatagramConn's static block: module-private access for connectDatagram.
let connectResolved: (conn: DatagramConn, endpoint: IpEndpoint) => Promise<void>;
let connectUnixPeer: (conn: DatagramConn, to: Uint8Array, path: string) => void;

/**
 * A datagram socket: `Deno.DatagramConn` over libc (UDP or Unix datagram).
 *
 * - `send(p, addr)` checks `--allow-net` for the destination as Deno does
 *   (a Unix path needs read and write access), and `send(p)` sends to the
 *   peer of a connected socket;
 * - `receive(p?)` resolves with `[data, addr]`, `receiveDetailed(p?)` with
 *   `{ data, addr, length, truncated }` (see the module notes on truncation);
 * - async iteration yields `[data, addr]` until the socket is closed;
 * - multicast: `joinMulticastV4`/`joinMulticastV6` return memberships with
 *   `leave()`, `setLoopback()` and (v4) `setTTL()`.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { listenDatagram } from "../mod.ts";
 * using server = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * using client = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * await client.send(new TextEncoder().encode("ping"), server.addr);
 * for await (const [data, from] of server) {
 *   await server.send(data, from); // echo
 *   break; // a server would go on receiving
 * }
 * const [reply] = await client.receive(); // "ping" as bytes
 * ```
 */
export class DatagramConn<A extends DatagramAddr = DatagramAddr>
  extends MessageSocket<[Uint8Array<ArrayBuffer>, A], DatagramInfo<A>>
  implements Deno.DatagramConn {
  readonly #transport: "udp" | "unixpacket";
  #addr: A;
  #remote: A | undefined;
  // The last destination, whose encoded address is left in toBytes.
  #destHost: string | undefined;
  #destPort = -1;
  #destEndpoint: IpEndpoint | undefined;
  #destLength = 0;

  /**
   * Wraps a bound, non-blocking datagram socket ({@linkcode listenDatagram}
   * and {@linkcode connectDatagram} make these).
   *
   * @param fd the descriptor, now owned.
   * @param domain `AF_INET`, `AF_INET6` or `AF_UNIX`.
   * @param addr the local address.
   */
  constructor(fd: number, domain: number, addr: A) {
    super(fd, domain, "DatagramConn");
    this.#transport = domain === AF_UNIX ? "unixpacket" : "udp";
    this.#addr = addr;
  }

  /** The local address (with the real port when 0 was asked). */
  get addr(): A {
    return this.#addr;
  }

  /** The peer of a connected socket, or undefined. */
  get remoteAddr(): A | undefined {
    return this.#remote;
  }

  /**
   * Sends one datagram.
   *
   * @param p the payload (0 bytes is a valid datagram).
   * @param addr the destination; may be omitted on a connected socket.
   * @returns the bytes sent (all of `p`).
   * @throws {RangeError} for a UDP payload over 65,507 (IPv4) / 65,527 (IPv6) bytes, before libc.
   * @throws {Deno.errors.NotCapable} when `--allow-net` does not cover the destination.
   * @throws {Deno.errors.BadResource} when closed.
   */
  send(p: Uint8Array, addr?: Deno.Addr): Promise<number> {
    try {
      if (this.handleFd < 0) throw closedError("DatagramConn");
      if (addr === undefined || addr === null) {
        const remote = this.#remote;
        if (remote === undefined) {
          throw new TypeError("send() needs a destination address: the socket is not connected");
        }
        return this.sendMessage(p, null, 0, () => this.#describe(remote));
      }
      if (typeof addr !== "object") {
        throw new TypeError(`addr must be an address object, got ${describe(addr)}`);
      }
      // Every field is read once, before p is measured (in sendMessage):
      // a getter may run code that resizes p.
      if (this.domain === AF_UNIX) {
        const path = (addr as Deno.UnixAddr).path;
        const to = unixAddress(path, "write");
        return this.sendMessage(p, to, to.byteLength, () => JSON.stringify(path));
      }
      const hostname = (addr as Deno.NetAddr).hostname;
      const port = (addr as Deno.NetAddr).port;
      if (hostname !== this.#destHost || port !== this.#destPort) {
        if (typeof hostname !== "string") throw new TypeError("addr.hostname must be a string");
        validateHostname(hostname);
        checkPort(port, "addr.port");
        const numeric = parseNumericHost(hostname);
        if (numeric === null) return this.#sendResolved(p, hostname, port);
        // Permission first, as Deno: a refused destination says so, whatever else is wrong with it.
        checkNet(hostname, port);
        checkNetAddress(numeric.family, numeric.address, port);
        this.#setDestination({ ...numeric, port }, hostname);
        this.#destHost = hostname;
        this.#destPort = port;
      } else {
        // Asked on every send, as Deno does: a plain --allow-net answers at once.
        checkNet(hostname, port);
        const dest = this.#destEndpoint!;
        checkNetAddress(dest.family, dest.address, port);
      }
      return this.sendMessage(
        p,
        this.toBytes,
        this.#destLength,
        () => `${hostname}:${port}`,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Encodes the destination into toBytes (IPv4 mapped on an IPv6 socket). */
  #setDestination(endpoint: IpEndpoint, hostname: string): void {
    const usable = endpointFor(endpoint, this.domain);
    if (usable === null) {
      throw new TypeError(
        `cannot send to the IPv6 address ${hostname} from an IPv4 socket (bound to ${
          (this.#addr as Deno.NetAddr).hostname
        })`,
      );
    }
    this.#destEndpoint = endpoint;
    this.#destLength = writeIp(
      this.toBytes,
      usable.family,
      usable.address,
      endpoint.port,
      endpoint.scopeId,
    );
  }

  /** Picks the endpoint of a resolution this socket can reach. */
  #pick(endpoints: IpEndpoint[]): IpEndpoint {
    return endpoints.find((e) => e.family === this.domain) ??
      endpoints.find((e) => e.family === AF_INET && this.domain === AF_INET6) ?? endpoints[0];
  }

  async #sendResolved(p: Uint8Array, hostname: string, port: number): Promise<number> {
    // resolve() checks the name as written and every address it yields.
    const endpoint = this.#pick(await resolve(hostname, port, SOCK_DGRAM));
    this.#destHost = undefined; // a name may resolve differently next time
    this.#setDestination(endpoint, hostname);
    return await this.sendMessage(
      p,
      this.toBytes,
      this.#destLength,
      () => hostname,
    );
  }

  /** @internal */
  protected sourceAddress(): A {
    return this.#source();
  }

  /** @internal */
  protected describeAddress(addr: unknown): string {
    return this.#describe(addr as DatagramAddr);
  }

  #source(): A {
    const len = this.fromLen[0];
    const from = this.fromBytes;
    const family = familyOf(from, len);
    if (family === AF_INET || family === AF_INET6) {
      return {
        transport: "udp",
        hostname: this.sourceHost(family),
        port: ipPortOf(from),
      } as A;
    }
    if (family === AF_UNIX) {
      // An unnamed sender has no path: Deno says null.
      const path = decodeUnix(from, len);
      return { transport: "unixpacket", path: path === "" ? null : path } as unknown as A;
    }
    // No address (a connected Unix socket may report none): the peer if known.
    return this.#remote ??
      (this.#transport === "udp"
        ? { transport: "udp", hostname: "", port: 0 } as A
        : { transport: "unixpacket", path: null } as unknown as A);
  }

  #describe(addr: DatagramAddr): string {
    if ("path" in addr) return JSON.stringify(addr.path);
    return addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }

  /**
   * Connects the socket to one peer (`connect(2)`): afterwards `send(p)`
   * needs no address and only that peer's datagrams are received.
   *
   * @param addr the peer.
   * @throws {Deno.errors.NotCapable} when `--allow-net` does not cover it.
   */
  async connect(addr: A): Promise<void> {
    if (typeof addr !== "object" || addr === null) {
      throw new TypeError(`addr must be an address object, got ${describe(addr)}`);
    }
    if (this.domain === AF_UNIX) {
      const path = (addr as Deno.UnixAddr).path;
      this.#connectUnix(unixAddress(path), path);
      return;
    }
    const { hostname, port } = addr as Deno.NetAddr;
    if (typeof hostname !== "string") throw new TypeError("addr.hostname must be a string");
    checkPort(port, "addr.port");
    await this.#connectEndpoint(this.#pick(await resolve(hostname, port, SOCK_DGRAM)));
  }

  static {
    // connectDatagram connects to what it already resolved and checked; no
    // public method may take an unchecked address, so it gets these alone.
    connectResolved = (conn, endpoint) => conn.#connectEndpoint(endpoint);
    connectUnixPeer = (conn, to, path) => conn.#connectUnix(to, path);
  }

  /** Connects to an endpoint whose permission was checked when it was resolved. */
  #connectEndpoint(endpoint: IpEndpoint): Promise<void> {
    try {
      this.#setDestination(endpoint, inet_ntop(endpoint.family, endpoint.address));
      this.#destHost = undefined;
      this.#connectTo(
        this.toBytes.slice(0, this.#destLength),
        {
          transport: "udp",
          hostname: inet_ntop(endpoint.family, endpoint.address),
          port: endpoint.port,
        } as A,
      );
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Connects to a Unix path whose permission was checked when it was encoded. */
  #connectUnix(to: Uint8Array, path: string): void {
    this.#connectTo(to, { transport: "unixpacket", path } as A);
  }

  #connectTo(to: Uint8Array, remote: A): void {
    const fd = this.openFd();
    if (lib().connect(fd, to, to.byteLength) === -1) {
      throw netError(errno(), "connect", this.#describe(remote));
    }
    this.#remote = remote;
    this.#refreshLocal(fd);
  }

  /** Dissolves the association made by {@linkcode DatagramConn.connect} (`connect` with `AF_UNSPEC`). */
  disconnect(): void {
    const fd = this.openFd();
    const unspec = new Uint8Array(16);
    if (lib().connect(fd, unspec, unspec.byteLength) === -1) {
      throw netError(errno(), "connect", "AF_UNSPEC");
    }
    this.#remote = undefined;
  }

  #refreshLocal(fd: number): void {
    // Connecting an unbound socket binds it: the local address may change.
    if (this.domain !== AF_UNIX) this.#addr = socketAddress(fd, "getsockname", "udp") as A;
  }

  /**
   * Joins an IPv4 multicast group on the interface with the given local
   * address (`IP_ADD_MEMBERSHIP` with `struct ip_mreqn`).
   *
   * @param address the group, e.g. `"239.255.0.1"`.
   * @param networkInterface the interface's IPv4 address, e.g. `"127.0.0.1"`; `"0.0.0.0"` lets the kernel choose.
   * @returns the membership (`leave`, `setLoopback`, `setTTL`).
   * @throws {TypeError} when either is not an IPv4 address, or the group is not multicast (224.0.0.0/4).
   */
  joinMulticastV4(address: string, networkInterface: string): Promise<MulticastV4Membership> {
    try {
      const group = inet_pton(AF_INET, String(address));
      if (group === null || (group[0] & 0xf0) !== 0xe0) {
        throw new TypeError(
          `not an IPv4 multicast group (224.0.0.0/4): ${JSON.stringify(address)}`,
        );
      }
      const iface = inet_pton(AF_INET, String(networkInterface));
      if (iface === null) {
        throw new TypeError(
          `networkInterface must be an IPv4 address, got ${JSON.stringify(networkInterface)}`,
        );
      }
      const mreq = new Uint8Array(12); // struct ip_mreqn, ifindex 0
      mreq.set(group, 0);
      mreq.set(iface, 4);
      const fd = this.openFd();
      setBytesOption(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq);
      const membership: MulticastV4Membership = {
        group: address,
        interfaceAddress: networkInterface,
        leave: this.#leaver(IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq),
        setLoopback: (loopback: boolean) =>
          this.#optionLater(IPPROTO_IP, IP_MULTICAST_LOOP, boolArg(loopback, "loopback")),
        setTTL: (ttl: number) =>
          this.#optionLater(IPPROTO_IP, IP_MULTICAST_TTL, checkInteger(ttl, "ttl", 0, 255)),
      };
      return Promise.resolve(membership);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A membership's `leave`: drops it once; later calls do nothing. */
  #leaver(level: number, name: number, mreq: Uint8Array): () => Promise<void> {
    let joined = true;
    return () => {
      try {
        if (joined) {
          setBytesOption(this.openFd(), level, name, mreq);
          joined = false;
        }
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    };
  }

  /**
   * Joins an IPv6 multicast group on an interface (`IPV6_JOIN_GROUP`).
   *
   * @param address the group, e.g. `"ff02::1:3"`.
   * @param networkInterface the interface index (`1` is usually `lo`; 0 lets the kernel choose).
   * @returns the membership (`leave`, `setLoopback`).
   * @throws {TypeError} when the group is not an IPv6 multicast address (ff00::/8).
   */
  joinMulticastV6(address: string, networkInterface: number): Promise<MulticastV6Membership> {
    try {
      const group = inet_pton(AF_INET6, String(address));
      if (group === null || group[0] !== 0xff) {
        throw new TypeError(`not an IPv6 multicast group (ff00::/8): ${JSON.stringify(address)}`);
      }
      const index = checkInteger(networkInterface, "networkInterface", 0, 0xffffffff);
      const mreq = new Uint8Array(20);
      mreq.set(group, 0);
      new DataView(mreq.buffer).setUint32(16, index, true);
      setBytesOption(this.openFd(), IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq);
      const membership: MulticastV6Membership = {
        group: address,
        interfaceIndex: index,
        leave: this.#leaver(IPPROTO_IPV6, IPV6_LEAVE_GROUP, mreq),
        setLoopback: (loopback: boolean) =>
          this.#optionLater(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, boolArg(loopback, "loopback")),
      };
      return Promise.resolve(membership);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #optionLater(level: number, name: number, value: number): Promise<void> {
    try {
      setIntOption(this.openFd(), level, name, value);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Chooses the interface outgoing multicast leaves by: an IPv4 address
   * (`IP_MULTICAST_IF`) or an IPv6 interface index (`IPV6_MULTICAST_IF`).
   * Set it before sending to a group, or the kernel picks the default route's interface.
   *
   * @param networkInterface `"127.0.0.1"` / an index such as `1` (lo).
   */
  setMulticastInterface(networkInterface: string | number): void {
    const fd = this.openFd();
    if (typeof networkInterface === "number") {
      setIntOption(
        fd,
        IPPROTO_IPV6,
        IPV6_MULTICAST_IF,
        checkInteger(networkInterface, "networkInterface", 0, 0x7fffffff),
      );
      return;
    }
    const iface = inet_pton(AF_INET, String(networkInterface));
    if (iface === null) {
      throw new TypeError(
        `networkInterface must be an IPv4 address or an interface index, got ${
          JSON.stringify(networkInterface)
        }`,
      );
    }
    setBytesOption(fd, IPPROTO_IP, IP_MULTICAST_IF, iface);
  }

  /**
   * Sets the multicast loopback (`IP_MULTICAST_LOOP`, and `IPV6_MULTICAST_LOOP` on IPv6).
   *
   * @param loopback true to loop outgoing multicast back to local sockets.
   */
  setLoopback(loopback: boolean): void {
    const fd = this.openFd();
    const on = boolArg(loopback, "loopback");
    if (this.domain === AF_INET6) setIntOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on);
    else setIntOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, on);
  }

  /**
   * Sets the unicast time to live (`IP_TTL`, or `IPV6_UNICAST_HOPS` on IPv6).
   *
   * @param ttl 1..255.
   */
  setTTL(ttl: number): void {
    const fd = this.openFd();
    const value = checkInteger(ttl, "ttl", 1, 255);
    if (this.domain === AF_INET6) setIntOption(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, value);
    else setIntOption(fd, IPPROTO_IP, IP_TTL, value);
  }

  /**
   * Allows (or forbids) sending to broadcast addresses (`SO_BROADCAST`).
   *
   * @param broadcast true to allow.
   */
  setBroadcast(broadcast: boolean): void {
    setIntOption(this.openFd(), SOL_SOCKET, SO_BROADCAST, boolArg(broadcast, "broadcast"));
  }

  /** Yields `[data, addr]` for each datagram until the socket is closed. */
  [Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, A]> {
    return untilClosed(this, () => this.receive());
  }
}

function boolArg(value: unknown, name: string): number {
  if (typeof value !== "boolean") {
    throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  }
  return value ? 1 : 0;
}

function unixOptions(
  options: UnixDatagramListenOptions | UnixDatagramConnectOptions,
): void {
  if (options.transport !== "unixgram" && options.transport !== "unixpacket") {
    throw new TypeError(`unsupported transport ${JSON.stringify(options.transport)}`);
  }
}

/**
 * Opens a datagram socket, like `Deno.listenDatagram`: UDP bound to
 * `hostname:port` (checked against `--allow-net`), or a Unix datagram
 * socket bound to `path` (checked against `--allow-read`/`--allow-write`;
 * unbound when `path` is omitted).
 *
 * @category Datagrams
 * @param options where to bind.
 * @returns the socket.
 * @throws {Deno.errors.AddrInUse} when the address is taken.
 * @throws {Deno.errors.NotCapable} without the permissions.
 * @throws {TypeError | RangeError} for bad options.
 * @example
 * ```ts
 * import { listenDatagram } from "../mod.ts";
 * const conn = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * conn.addr.port; // the free port the kernel picked
 * conn.close();
 * ```
 */
export function listenDatagram(options: UdpListenOptions): DatagramConn<Deno.NetAddr>;
/**
 * Opens a Unix datagram socket (bound to `path`, or unbound); see the UDP overload above.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { listenDatagram } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using conn = listenDatagram({ transport: "unixgram", path: `${dir}/app.dgram` });
 * using sender = listenDatagram({ transport: "unixgram" }); // unbound: can send, gets no replies
 * await sender.send(new TextEncoder().encode("hi"), conn.addr);
 * const [data, from] = await conn.receive(); // from.path is "": an unbound sender
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function listenDatagram(options: UnixDatagramListenOptions): DatagramConn<Deno.UnixAddr>;
export function listenDatagram(
  options: UdpListenOptions | UnixDatagramListenOptions,
): DatagramConn<Deno.NetAddr> | DatagramConn<Deno.UnixAddr> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  if (options.transport !== "udp") {
    unixOptions(options);
    return openUnixDatagram(options.path);
  }
  const port = optionPort(options.port, true);
  const hostname = options.hostname ?? "0.0.0.0";
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  // resolveSync checks the name as written and the address it yields.
  const [endpoint] = resolveSync(hostname, port, SOCK_DGRAM);
  return openUdp(options, endpoint, `${hostname}:${port}`);
}

/** Opens a Unix datagram socket, bound to `path` when one is given. */
function openUnixDatagram(path: string | undefined): DatagramConn<Deno.UnixAddr> {
  // Read once by the caller: the path checked is the path bound.
  const address = path === undefined ? undefined : unixAddress(path);
  const fd = openSocket(AF_UNIX, SOCK_DGRAM);
  if (address !== undefined && lib().bind(fd, address, address.byteLength) === -1) {
    const error = netError(errno(), "bind", JSON.stringify(path));
    lib().close(fd);
    throw error;
  }
  // An unbound socket has no path: Deno's addr says null.
  const addr = { transport: "unixpacket", path: path ?? null } as unknown as Deno.UnixAddr;
  return new DatagramConn<Deno.UnixAddr>(fd, AF_UNIX, addr);
}

/** Opens a UDP socket with its options and binds it to `endpoint` (already permitted). */
function openUdp(
  options: Omit<UdpListenOptions, "port" | "hostname" | "transport">,
  endpoint: IpEndpoint,
  detail: string,
): DatagramConn<Deno.NetAddr> {
  for (const flag of ["reuseAddress", "reusePort", "broadcast", "loopback", "ipv6Only"] as const) {
    const value = options[flag];
    if (value !== undefined && typeof value !== "boolean") {
      throw new TypeError(`${flag} must be a boolean, got ${describe(value)}`);
    }
  }
  const fd = openSocket(endpoint.family, SOCK_DGRAM);
  try {
    if (options.reuseAddress) setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (options.reusePort) setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    // Deno turns broadcast on for every UDP socket; `broadcast: false` opts out.
    if (options.broadcast ?? true) setIntOption(fd, SOL_SOCKET, SO_BROADCAST, 1);
    const loop = options.loopback ? 1 : 0;
    if (endpoint.family === AF_INET6) {
      setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, options.ipv6Only ? 1 : 0);
      setIntOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, loop);
      // For IPv4 groups on a dual-stack socket; a v6-only one refuses it, which is fine.
      try {
        setIntOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, loop);
      } catch {
        // v6-only
      }
    } else {
      setIntOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, loop);
    }
    const address = new Uint8Array(IP_SOCKADDR_MAX);
    const length = writeIp(
      address,
      endpoint.family,
      endpoint.address,
      endpoint.port,
      endpoint.scopeId,
    );
    if (lib().bind(fd, address, length) === -1) throw netError(errno(), "bind", detail);
    return new DatagramConn<Deno.NetAddr>(
      fd,
      endpoint.family,
      socketAddress(fd, "getsockname", "udp") as Deno.NetAddr,
    );
  } catch (error) {
    lib().close(fd);
    throw error;
  }
}

/**
 * Opens a connected datagram socket: `send(p)` goes to the peer, only the
 * peer's datagrams are received, and ICMP errors (a closed UDP port)
 * surface as `Deno.errors.ConnectionRefused` on the next call.
 *
 * @category Datagrams
 * @param options the peer (and optionally the local address to bind first).
 * @returns the connected socket.
 * @throws {Deno.errors.NotCapable} without the permissions.
 * @throws {Deno.errors.ConnectionRefused} for a Unix path nobody has bound.
 * @example
 * ```ts
 * import { connectDatagram, listenDatagram } from "../mod.ts";
 * using server = listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * using conn = await connectDatagram({ transport: "udp", port: server.addr.port }); // 127.0.0.1
 * await conn.send(new TextEncoder().encode("ping"));
 * const [data, from] = await server.receive();
 * await server.send(data, from);
 * const [reply] = await conn.receive(); // "ping" as bytes
 * ```
 */
export function connectDatagram(options: UdpConnectOptions): Promise<DatagramConn<Deno.NetAddr>>;
/**
 * Connects a Unix datagram socket to the peer at `path`; see the UDP overload above.
 *
 * @category Datagrams
 * @example
 * ```ts
 * import { connectDatagram, listenDatagram } from "../mod.ts";
 * const dir = Deno.makeTempDirSync();
 * using server = listenDatagram({ transport: "unixgram", path: `${dir}/app.sock` });
 * using conn = await connectDatagram({ transport: "unixgram", path: server.addr.path });
 * await conn.send(new TextEncoder().encode("ping"));
 * await server.receive(); // ["ping" as bytes, { transport: "unixpacket", path: "" }]
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function connectDatagram(
  options: UnixDatagramConnectOptions,
): Promise<DatagramConn<Deno.UnixAddr>>;
export async function connectDatagram(
  options: UdpConnectOptions | UnixDatagramConnectOptions,
): Promise<DatagramConn<Deno.NetAddr> | DatagramConn<Deno.UnixAddr>> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be an object");
  }
  // Every field is read once: what is checked must be what is used.
  const { signal: callerSignal, timeout } = options;
  if (options.transport !== "udp") {
    unixOptions(options);
    const { path, localPath } = options;
    const peer = unixAddress(path);
    const deadline = operationSignal(callerSignal, timeout, JSON.stringify(path));
    try {
      deadline.signal?.throwIfAborted();
      const conn = openUnixDatagram(localPath);
      try {
        connectUnixPeer(conn, peer, path);
      } catch (error) {
        conn.close();
        throw error;
      }
      return conn;
    } finally {
      deadline.dispose();
    }
  }
  const { hostname = "127.0.0.1", port: rawPort, localHostname, localPort } = options;
  const port = optionPort(rawPort, false);
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  const deadline = operationSignal(callerSignal, timeout, `${hostname}:${port}`);
  const signal = deadline.signal;
  try {
    signal?.throwIfAborted();
    const [peer] = await resolve(hostname, port, SOCK_DGRAM, signal);
    const v6 = peer.family === AF_INET6;
    const localHost = localHostname ?? (v6 ? "::" : "0.0.0.0");
    const localPortNumber = checkPort(localPort ?? 0, "localPort");
    // An explicit local address needs the permission a listen on it would; the
    // implicit wildcard bind of an unbound socket needs none, as in Deno.
    const explicit = localHostname !== undefined || localPort !== undefined;
    const [local] = explicit
      ? resolveSync(localHost, localPortNumber, SOCK_DGRAM)
      : [{ ...parseNumericHost(localHost)!, port: 0 }];
    const conn = openUdp({}, local, `${localHost}:${localPortNumber}`);
    try {
      signal?.throwIfAborted();
      await connectResolved(conn, peer);
    } catch (error) {
      conn.close();
      throw error;
    }
    return conn;
  } finally {
    deadline.dispose();
  }
}
