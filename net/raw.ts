/**
 * Raw IP sockets (`SOCK_RAW` for ICMP, ICMPv6 or any protocol number) and
 * the unprivileged Linux ICMP "ping socket" (`SOCK_DGRAM` + `IPPROTO_ICMP`
 * or `IPPROTO_ICMPV6`), behind one datagram-like object.
 *
 * ## Which socket you get (`mode`)
 *
 * - `"raw"`: `SOCK_RAW`. Needs `CAP_NET_RAW` (root). Receives every packet
 *   of the protocol that reaches the host (IPv4: with the IP header; IPv6:
 *   without). The kernel sends what you give it; ICMPv6 checksums are filled
 *   in by the kernel, ICMPv4 ones are yours ({@linkcode buildIcmpEcho} does it).
 * - `"dgram"`: a ping socket, for ICMP/ICMPv6 echo only. Needs no
 *   capability, but the process's group must be inside the sysctl
 *   `net.ipv4.ping_group_range` (it applies to IPv6 too). No IP header on
 *   receive; the kernel sets the echo identifier to the socket's own
 *   ({@linkcode RawSocket.identifier}) and delivers only the replies to it.
 * - `"auto"` (default): `"raw"`, and for ICMP/ICMPv6 `"dgram"` when the
 *   kernel refuses the raw socket with `EPERM`/`EACCES`.
 *
 * When the kernel refuses, the error (`Deno.errors.PermissionDenied`, also
 * `instanceof SocketError`) says what is missing: `CAP_NET_RAW`, or the
 * `ping_group_range` with its current value and this process's group.
 *
 * `receive()` reads into a 64 KiB scratch (larger than any IP packet can
 * be), so the real length is always known; with a buffer of your own that
 * is too small, `receive(p)` rejects with `DatagramTruncatedError` and
 * `receiveDetailed(p)` reports `truncated: true`.
 *
 * @module
 */

import { checkInteger, describe, plainView } from "../ffi/checks.ts";
import {
  AF_INET,
  AF_INET6,
  EACCES,
  EPERM,
  IP_HDRINCL,
  IP_TTL,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_RAW,
  IPV6_UNICAST_HOPS,
  SOCK_DGRAM,
  SOCK_RAW,
} from "../ffi/constants.ts";
import { brandSocketError, SocketError } from "../ffi/errors.ts";
import { errno } from "../ffi/libc.ts";
import { parseNumericHost, resolveUnchecked } from "./address.ts";
import {
  endpointFor,
  familyOf,
  IP_SOCKADDR_MAX,
  type IpEndpoint,
  ipPortOf,
  writeIp,
} from "./families/mod.ts";
import { netError } from "./errors.ts";
import { validateHostname } from "./hostname.ts";
import { type DatagramInfo, MessageSocket } from "./message.ts";
import { getIntOption, setBytesOption, setIntOption } from "./options.ts";
import { checkNet, checkRawDestination, checkRawName } from "./permissions.ts";
import { lib, openSocket, untilClosed } from "./socket.ts";

/**
 * How {@linkcode openRawSocket} opens the socket.
 *
 * @category Raw sockets
 * @example
 * ```ts
 * import { IPPROTO_ICMP } from "../ffi/mod.ts";
 * import { openRawSocket, type RawMode } from "../mod.ts";
 * const mode: RawMode = "dgram"; // force the unprivileged ping socket
 * try {
 *   openRawSocket({ protocol: IPPROTO_ICMP, mode }).close();
 * } catch (e) {
 *   if (!(e instanceof Deno.errors.PermissionDenied)) throw e; // group outside ping_group_range
 * }
 * ```
 */
export type RawMode = "raw" | "dgram" | "auto";

/**
 * Options of {@linkcode openRawSocket}.
 *
 * @category Raw sockets
 * @example
 * ```ts
 * import { IPPROTO_ICMPV6 } from "../ffi/mod.ts";
 * import { openRawSocket, type RawSocketOptions } from "../mod.ts";
 * const options: RawSocketOptions = { family: "ipv6", protocol: IPPROTO_ICMPV6, hostname: "::1" };
 * try {
 *   using sock = openRawSocket(options); // mode "auto": raw as root, else a ping socket
 *   sock.headerIncluded; // false: IPv6 sockets deliver no IP header
 * } catch (e) {
 *   if (!(e instanceof Deno.errors.PermissionDenied)) throw e; // neither is allowed here
 * }
 * ```
 */
export interface RawSocketOptions {
  /** `"ipv4"` (default) or `"ipv6"`. */
  family?: "ipv4" | "ipv6";
  /** The IP protocol number: `IPPROTO_ICMP` (1), `IPPROTO_ICMPV6` (58), `IPPROTO_UDP` (17), ... */
  protocol: number;
  /** `"raw"`, `"dgram"` (ping socket, ICMP only) or `"auto"` (default). */
  mode?: RawMode;
  /** Local address to bind (receive only what is sent to it); default: all. */
  hostname?: string;
}

/**
 * The peer of a raw packet: an IP address (raw sockets have no ports).
 *
 * @category Raw sockets
 * @example
 * ```ts
 * import { IPPROTO_ICMPV6 } from "../ffi/mod.ts";
 * import { openRawSocket, type RawAddr } from "../mod.ts";
 * import { buildIcmpv6Echo, ICMPV6_TYPE } from "./packets.ts";
 * try {
 *   using sock = openRawSocket({ family: "ipv6", protocol: IPPROTO_ICMPV6 });
 *   if (sock.mode === "raw") sock.setIcmpFilter([ICMPV6_TYPE.ECHO_REPLY]);
 *   await sock.send(buildIcmpv6Echo({ identifier: 1, sequence: 1 }), { hostname: "::1" });
 *   const [, from]: [Uint8Array, RawAddr] = await sock.receive();
 *   from; // { transport: "raw", hostname: "::1" }
 * } catch (e) {
 *   if (!(e instanceof Deno.errors.PermissionDenied)) throw e; // no CAP_NET_RAW, no ping group
 * }
 * ```
 */
export interface RawAddr {
  /** `"raw"`. */
  transport: "raw";
  /** The IP address. */
  hostname: string;
}

const SOL_RAW = 255;
const ICMP_FILTER = 1;
const ICMP6_FILTER = 1;

const PING_RANGE = "/proc/sys/net/ipv4/ping_group_range";

function readPingRange(): string | undefined {
  // Asked first: an error message must never prompt on a terminal.
  if (Deno.permissions.querySync({ name: "read", path: PING_RANGE }).state !== "granted") {
    return undefined;
  }
  try {
    return Deno.readTextFileSync(PING_RANGE).trim().replace(/\s+/, " ");
  } catch {
    return undefined; // Deno lets a program read /proc/sys only with --allow-all
  }
}

function processGroup(): string {
  if (Deno.permissions.querySync({ name: "sys", kind: "gid" }).state !== "granted") {
    return "unknown (run with --allow-sys=gid to show it)";
  }
  try {
    const gid = Deno.gid();
    return gid === null ? "unknown" : String(gid);
  } catch {
    return "unknown (run with --allow-sys to show it)";
  }
}

const RAW_HINT = "raw sockets (SOCK_RAW) need the CAP_NET_RAW capability: run as root, or " +
  'grant it with `sudo setcap cap_net_raw+ep "$(command -v deno)"`';

function pingHint(): string {
  const range = readPingRange();
  const value = range === undefined
    ? "(its value is readable with `sysctl net.ipv4.ping_group_range`)"
    : `(now "${range}"${range === "1 0" ? ", no group at all" : ""})`;
  return `ICMP ping sockets (SOCK_DGRAM) are open only to groups inside the sysctl ` +
    `net.ipv4.ping_group_range ${value}, and this process's group is ${processGroup()}: ` +
    'allow it with `sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"`';
}

function refused(e: number, call: string, detail: string): Error {
  return brandSocketError(Deno.errors.PermissionDenied, e, call, detail);
}

/**
 * A raw IP socket or ICMP ping socket (see the module notes).
 *
 * @category Raw sockets
 * @example
 * ```ts
 * import { IPPROTO_ICMP } from "../ffi/mod.ts";
 * import { openRawSocket } from "../mod.ts";
 * import { buildIcmpEcho, ICMP_TYPE, parseIcmp, parseIPv4Packet } from "./packets.ts";
 * try {
 *   using sock = openRawSocket({ protocol: IPPROTO_ICMP }); // "auto": raw, or a ping socket
 *   if (sock.mode === "raw") sock.setIcmpFilter([ICMP_TYPE.ECHO_REPLY]); // not our own request
 *   await sock.send(buildIcmpEcho({ identifier: 1, sequence: 1 }), "127.0.0.1");
 *   const [packet] = await sock.receive();
 *   parseIcmp(sock.headerIncluded ? parseIPv4Packet(packet).payload : packet).kind; // "echo-reply"
 * } catch (e) {
 *   if (!(e instanceof Deno.errors.PermissionDenied)) throw e; // no CAP_NET_RAW, no ping group
 * }
 * ```
 */
export class RawSocket
  extends MessageSocket<[Uint8Array<ArrayBuffer>, RawAddr], DatagramInfo<RawAddr>> {
  /** `"raw"` (SOCK_RAW) or `"dgram"` (ping socket). */
  readonly mode: "raw" | "dgram";
  /** `"ipv4"` or `"ipv6"`. */
  readonly family: "ipv4" | "ipv6";
  /** The IP protocol number. */
  readonly protocol: number;
  readonly #identifier: number | undefined;
  #destHost: string | undefined;
  #dest: IpEndpoint | undefined;
  #destLength = 0;

  /**
   * Wraps a descriptor ({@linkcode openRawSocket} makes these).
   *
   * @param fd the descriptor, now owned.
   * @param family `"ipv4"` or `"ipv6"`.
   * @param protocol the protocol number.
   * @param mode how it was opened.
   * @param identifier the ping socket's echo identifier.
   */
  constructor(
    fd: number,
    family: "ipv4" | "ipv6",
    protocol: number,
    mode: "raw" | "dgram",
    identifier?: number,
  ) {
    // Checked before the descriptor is taken (messages interpolate them later).
    if (family !== "ipv4" && family !== "ipv6") {
      throw new TypeError(`family must be "ipv4" or "ipv6", got ${describe(family)}`);
    }
    if (mode !== "raw" && mode !== "dgram") {
      throw new TypeError(`mode must be "raw" or "dgram", got ${describe(mode)}`);
    }
    // The checked values are the ones kept (-0 becomes 0).
    protocol = checkInteger(protocol, "protocol", 0, 255);
    if (identifier !== undefined) identifier = checkInteger(identifier, "identifier", 0, 0xffff);
    super(fd, family === "ipv6" ? AF_INET6 : AF_INET, "RawSocket");
    this.family = family;
    this.protocol = protocol;
    this.mode = mode;
    this.#identifier = identifier;
    this.receivesIntoScratch = true;
  }

  /** Whether received packets start with the IP header (raw IPv4 sockets). */
  get headerIncluded(): boolean {
    return this.mode === "raw" && this.family === "ipv4";
  }

  /**
   * For a ping socket, the echo identifier the kernel puts in every request
   * (replies carry it back); undefined for raw sockets.
   */
  get identifier(): number | undefined {
    return this.#identifier;
  }

  /**
   * Sends one packet (for ICMP: the ICMP message, without IP header).
   *
   * @param p the bytes.
   * @param to the destination address (or `{ hostname }`); names are resolved.
   * @returns the bytes sent.
   * @throws {Deno.errors.NotCapable} when `--allow-net` does not cover the destination.
   * @throws {SocketError} e.g. `EMSGSIZE`, `EINVAL` (a ping socket refuses anything but an echo request).
   */
  send(p: Uint8Array, to: string | { hostname: string }): Promise<number> {
    try {
      // Read before p is measured (in sendMessage): a getter may resize p.
      const hostname = typeof to === "string" ? to : to?.hostname;
      if (typeof hostname !== "string") {
        throw new TypeError(`to must be an address or { hostname }, got ${describe(to)}`);
      }
      if (hostname !== this.#destHost) {
        validateHostname(hostname);
        const numeric = parseNumericHost(hostname);
        if (numeric === null) return this.#sendResolved(p, hostname);
        this.#encode({ ...numeric, port: 0 }, hostname);
        this.#destHost = hostname;
      }
      return this.#sendChecked(p, hostname);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Whether what we send starts with the IP header (`IPPROTO_RAW`, or `IP_HDRINCL` set). */
  #sendsHeader(): boolean {
    if (this.mode !== "raw" || this.family !== "ipv4") return false;
    return this.protocol === IPPROTO_RAW ||
      getIntOption(this.openFd(), IPPROTO_IP, IP_HDRINCL) !== 0;
  }

  /** Checks the destination with the port the packet's transport header names, then sends. */
  #sendChecked(p: Uint8Array, hostname: string): Promise<number> {
    const dest = this.#dest!;
    // The port checked must be the port the kernel sends to: a payload in
    // shared memory could change after the check, so that one is copied.
    const view = plainView(p, "p");
    const bytes = view.buffer instanceof SharedArrayBuffer ? view.slice() : view;
    checkRawDestination(
      dest.family,
      dest.address,
      this.protocol,
      this.#sendsHeader(),
      bytes,
      hostname,
    );
    return this.sendMessage(bytes, this.toBytes, this.#destLength, () => hostname);
  }

  async #sendResolved(p: Uint8Array, hostname: string): Promise<number> {
    // The name as written is checked before it is looked up, with the port
    // the packet's own header carries; the address is checked in #sendChecked.
    const view = plainView(p, "p");
    checkRawName(hostname, this.protocol, this.#sendsHeader(), view);
    const endpoints = await resolveUnchecked(hostname, SOCK_RAW);
    const endpoint = endpoints.find((e) => e.family === this.domain) ?? endpoints[0];
    this.#encode(endpoint, hostname);
    this.#destHost = undefined;
    return await this.#sendChecked(p, hostname);
  }

  #encode(endpoint: IpEndpoint, host: string): void {
    const usable = this.mode === "raw" && endpoint.family !== this.domain
      ? null
      : endpointFor(endpoint, this.domain);
    if (usable === null) {
      if (endpoint.family === AF_INET && this.domain === AF_INET6) {
        throw new TypeError(`cannot send to the IPv4 address ${host} from an IPv6 raw socket`);
      }
      throw new TypeError(
        `cannot send to ${host}: the socket is ${this.family}; open one with family "${
          endpoint.family === AF_INET6 ? "ipv6" : "ipv4"
        }"`,
      );
    }
    this.#dest = endpoint;
    this.#destLength = writeIp(this.toBytes, usable.family, usable.address, 0, endpoint.scopeId);
  }

  /** @internal */
  protected sourceAddress(): RawAddr {
    const from = this.fromBytes;
    const family = familyOf(from, this.fromLen[0]);
    return {
      transport: "raw",
      hostname: family === AF_INET || family === AF_INET6 ? this.sourceHost(family) : "",
    };
  }

  /** @internal */
  protected describeAddress(addr: unknown): string {
    return (addr as RawAddr).hostname;
  }

  /**
   * Sets the TTL / hop limit of outgoing packets (`IP_TTL` or `IPV6_UNICAST_HOPS`).
   *
   * @param ttl 1..255.
   */
  setTTL(ttl: number): void {
    const value = checkInteger(ttl, "ttl", 1, 255);
    if (this.domain === AF_INET6) {
      setIntOption(this.openFd(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, value);
    } else setIntOption(this.openFd(), IPPROTO_IP, IP_TTL, value);
  }

  /**
   * On a raw ICMP or ICMPv6 socket, lets only the listed message types
   * through (`ICMP_FILTER` / `ICMP6_FILTER`): e.g. `[0]` for echo replies.
   * Ping sockets already see only their own replies.
   *
   * @param types the ICMP types to receive (0..31 for ICMP, 0..255 for ICMPv6).
   * @throws {TypeError} on a socket that is not a raw ICMP/ICMPv6 one.
   */
  setIcmpFilter(types: readonly number[]): void {
    if (this.mode !== "raw") throw new TypeError("ICMP filters apply to raw sockets only");
    if (!Array.isArray(types)) throw new TypeError("types must be an array of ICMP type numbers");
    const v6 = this.family === "ipv6";
    if (this.protocol !== (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
      throw new TypeError(`ICMP filters apply to ${v6 ? "ICMPv6" : "ICMP"} raw sockets only`);
    }
    // A set bit blocks the type.
    const words = new Uint32Array(v6 ? 8 : 1).fill(0xffffffff);
    for (const type of types) {
      const t = checkInteger(type, "type", 0, v6 ? 255 : 31);
      words[t >> 5] &= ~(1 << (t & 31));
    }
    const level = v6 ? IPPROTO_ICMPV6 : SOL_RAW;
    const name = v6 ? ICMP6_FILTER : ICMP_FILTER;
    setBytesOption(this.openFd(), level, name, new Uint8Array(words.buffer));
  }

  /** Yields `[data, from]` for each packet until the socket is closed. */
  [Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, RawAddr]> {
    return untilClosed(this, () => this.receive());
  }
}

function familyName(domain: number): string {
  return domain === AF_INET6 ? "AF_INET6" : "AF_INET";
}

function tryOpen(domain: number, type: number, protocol: number): number | SocketError {
  try {
    return openSocket(domain, type, protocol);
  } catch (error) {
    if (error instanceof SocketError) return error;
    throw error;
  }
}

/**
 * Opens a raw socket, or an ICMP ping socket (see the module notes for `mode`).
 *
 * @category Raw sockets
 * @param options family, protocol, mode and optional local address.
 * @returns the socket.
 * @throws {Deno.errors.PermissionDenied} when the kernel refuses, with what is missing in the message.
 * @throws {TypeError} for `mode: "dgram"` with a protocol other than ICMP/ICMPv6.
 * @example
 * ```ts
 * import { IPPROTO_ICMP } from "../ffi/mod.ts";
 * import { openRawSocket } from "../mod.ts";
 * try {
 *   const sock = openRawSocket({ family: "ipv4", protocol: IPPROTO_ICMP, mode: "auto" });
 *   sock.mode; // "raw" as root, "dgram" through a ping socket otherwise
 *   sock.close();
 * } catch (e) {
 *   if (!(e instanceof Deno.errors.PermissionDenied)) throw e; // the message says what is missing
 * }
 * ```
 */
export function openRawSocket(options: RawSocketOptions): RawSocket {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be { family?, protocol, mode?, hostname? }");
  }
  const family = options.family ?? "ipv4";
  if (family !== "ipv4" && family !== "ipv6") {
    throw new TypeError(`family must be "ipv4" or "ipv6", got ${describe(family)}`);
  }
  const protocol = checkInteger(options.protocol, "protocol", 0, 255);
  const mode = options.mode ?? "auto";
  if (mode !== "raw" && mode !== "dgram" && mode !== "auto") {
    throw new TypeError(`mode must be "raw", "dgram" or "auto", got ${describe(mode)}`);
  }
  const domain = family === "ipv6" ? AF_INET6 : AF_INET;
  const icmp = protocol === (family === "ipv6" ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
  if (mode === "dgram" && !icmp) {
    throw new TypeError(
      `mode "dgram" (a ping socket) exists only for ${
        family === "ipv6" ? "ICMPv6 (protocol 58)" : "ICMP (protocol 1)"
      }, not protocol ${protocol}`,
    );
  }
  const hostname = options.hostname;
  if (hostname !== undefined && typeof hostname !== "string") {
    throw new TypeError("hostname must be a string");
  }
  let bindAddress: Uint8Array | undefined;
  if (hostname !== undefined) {
    const numeric = parseNumericHost(hostname);
    if (numeric === null || numeric.family !== domain) {
      throw new TypeError(
        `hostname must be a numeric ${family} address, got ${JSON.stringify(hostname)}`,
      );
    }
    bindAddress = numeric.address;
  }
  // Binding needs what a listen on the address would (port 0: raw sockets have none).
  checkNet(hostname ?? (family === "ipv6" ? "::" : "0.0.0.0"), 0);

  const call = (type: string) => `socket(${familyName(domain)}, ${type}, ${protocol})`;
  let fd = -1;
  let chosen: "raw" | "dgram" = "raw";
  let rawError: SocketError | undefined;
  if (mode !== "dgram") {
    const opened = tryOpen(domain, SOCK_RAW, protocol);
    if (opened instanceof SocketError) {
      rawError = opened;
      const denied = opened.errno === EPERM || opened.errno === EACCES;
      if (!denied) throw netError(opened.errno, "socket", call("SOCK_RAW"));
      if (mode === "raw" || !icmp) {
        throw refused(
          opened.errno,
          "socket",
          `${call("SOCK_RAW")}: ${RAW_HINT}${
            icmp ? '; for ICMP echo, mode "dgram" or "auto" uses an unprivileged ping socket' : ""
          }`,
        );
      }
    } else {
      fd = opened;
    }
  }
  if (fd === -1) {
    chosen = "dgram";
    const opened = tryOpen(domain, SOCK_DGRAM, protocol);
    if (opened instanceof SocketError) {
      const denied = opened.errno === EPERM || opened.errno === EACCES;
      if (!denied) throw netError(opened.errno, "socket", call("SOCK_DGRAM"));
      const prefix = rawError
        ? `${call("SOCK_RAW")} was refused (${rawError.code}): ${RAW_HINT}; and the fallback `
        : "";
      throw refused(opened.errno, "socket", `${prefix}${call("SOCK_DGRAM")}: ${pingHint()}`);
    }
    fd = opened;
  }
  const c = lib();
  try {
    let identifier: number | undefined;
    if (bindAddress !== undefined || chosen === "dgram") {
      const address = new Uint8Array(IP_SOCKADDR_MAX);
      const length = writeIp(
        address,
        domain,
        bindAddress ?? new Uint8Array(domain === AF_INET6 ? 16 : 4),
        0,
      );
      if (c.bind(fd, address, length) === -1) {
        throw netError(errno(), "bind", hostname ?? "wildcard");
      }
      if (chosen === "dgram") {
        const len = new Uint32Array([IP_SOCKADDR_MAX]);
        if (c.getsockname(fd, address, len) === -1) throw netError(errno(), "getsockname");
        // A ping socket's "port" is its echo identifier.
        identifier = ipPortOf(address);
      }
    }
    return new RawSocket(fd, family, protocol, chosen, identifier);
  } catch (error) {
    c.close(fd);
    throw error;
  }
}
