/**
 * Deno's permission model, applied before the ergonomic layer binds,
 * connects or sends: the same descriptors Deno 2.9 checks, the same error
 * class and message.
 *
 * For an IP endpoint Deno checks twice: the host *as written* against the
 * allow and deny lists ({@linkcode checkNet}), and after resolution the
 * *address* it resolved to against the deny list only
 * ({@linkcode checkNetAddress}), so `127.1`, `0x7f000001`, `localhost` or
 * `0` cannot reach what `--deny-net=127.0.0.1` (or `0.0.0.0`, a subnet,
 * `host:port`) refuses, while `--allow-net=localhost` still grants the name.
 *
 * This mirrors Deno's model for honest code; it is not a sandbox. Any code
 * holding `--allow-ffi` can call libc itself and bypass it.
 *
 * @module
 */

import { formatIp, parseHost } from "./hostname.ts";

function denied(descriptor: string, flag: string): Error {
  return new Deno.errors.NotCapable(
    `Requires ${descriptor}, run again with the ${flag} flag`,
  );
}

/**
 * `Deno.permissions.querySync`, with what Deno throws for a descriptor it
 * cannot parse (a `URIError`, or anything else) turned into a `TypeError`.
 */
function query(descriptor: Deno.PermissionDescriptor): Deno.PermissionStatus {
  try {
    return Deno.permissions.querySync(descriptor);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new TypeError((error as Error)?.message ?? String(error), { cause: error });
  }
}

/**
 * A plain `--allow-<name>`: granted with no list and no deny (not partial).
 * Deno keeps every PermissionStatus it has answered with, per descriptor,
 * for the life of the process: a query per new peer (a UDP reply to each
 * client port) would grow memory by ~400 bytes per endpoint without bound,
 * so this one descriptor-less query answers the common case.
 */
function grantedForAll(name: "read" | "write" | "net"): boolean {
  const all = query({ name });
  return all.state === "granted" && !all.partial;
}

/**
 * Throws unless `--allow-net` covers `hostname:port`, the hostname checked
 * as the user wrote it, before resolution, as Deno does. The message names
 * the host the way Deno does (lower case, no trailing dot, canonical IP).
 *
 * @param hostname the host as given.
 * @param port the port.
 * @throws {Deno.errors.NotCapable} when not granted.
 * @throws {TypeError} for a hostname Deno refuses (see `validateHostname`).
 * @example
 * ```ts
 * import { checkNet } from "./permissions.ts";
 * // Under `deno test --allow-net`, nothing is refused.
 * checkNet("localhost", 8080);
 * ```
 */
export function checkNet(hostname: string, port: number): void {
  if (grantedForAll("net")) return;
  const descriptor = netDescriptor(parseHost(hostname), port);
  if (query({ name: "net", host: descriptor }).state !== "granted") {
    throw denied(`net access to "${descriptor}"`, "--allow-net");
  }
}

function netDescriptor(host: { kind: string; display: string }, port: number): string {
  const text = host.kind === "ip" && host.display.includes(":")
    ? `[${host.display}]`
    : host.display;
  return `${text}:${port}`;
}

/**
 * Throws when `--deny-net` refuses a resolved address: Deno's
 * `check_net_resolved`, run after every lookup. The allow side was decided
 * by {@linkcode checkNet} on the name as written, so only a deny counts
 * here (an IP, a subnet, with or without a port). The message names the
 * address, as Deno's does: `Requires net access to "127.0.0.1:80"`.
 *
 * Deno answers from its deny list directly; its query API only says how the
 * first matching entry answers, so this asks for `address:port` and for
 * `address` alone. Two differences remain: a deny hidden behind a more
 * specific allow of the same kind (`--allow-net=127.0.0.1
 * --deny-net=127.0.0.0/8`) is not seen, where Deno refuses; and an address
 * Deno itself already refused once in this process (it remembers that as
 * denied) is refused here too, where Deno's own resolved check would pass.
 *
 * @param family `AF_INET` (2) or `AF_INET6` (10).
 * @param address 4 or 16 bytes, network order.
 * @param port the port.
 * @throws {Deno.errors.NotCapable} when a deny covers the address.
 * @example
 * ```ts
 * import { checkNetAddress } from "./permissions.ts";
 * // Under `deno test --allow-net` (no deny list), nothing is refused.
 * checkNetAddress(2, new Uint8Array([127, 0, 0, 1]), 8080);
 * ```
 */
export function checkNetAddress(family: number, address: Uint8Array, port: number): void {
  if (grantedForAll("net")) return;
  const text = formatIp(family, address);
  const host = text.includes(":") ? `[${text}]` : text;
  const descriptor = `${host}:${port}`;
  if (
    query({ name: "net", host: descriptor }).state === "denied" ||
    query({ name: "net", host }).state === "denied"
  ) {
    throw denied(`net access to "${descriptor}"`, "--allow-net");
  }
}

/**
 * Throws unless Deno would let `Deno.listen`/`Deno.connect` (`"readwrite"`)
 * or `DatagramConn.send` (`"write"`) use this Unix socket path: file access
 * to the path as given (not following a symlink, as Deno does not), then
 * net access to `unix:<absolute, normalized path>`. An abstract name
 * (leading NUL) has no file: it needs only the net access, which a
 * `--allow-net=<list>` cannot name, so only a plain `--allow-net` grants it.
 *
 * @param path the socket path.
 * @param access `"readwrite"` to bind or connect, `"write"` to send a datagram.
 * @throws {Deno.errors.NotCapable} when not granted.
 * @example
 * ```ts
 * import { checkUnixPath } from "./permissions.ts";
 * // Under `deno test -A`, nothing is refused.
 * checkUnixPath("/tmp/app.sock");
 * checkUnixPath("/tmp/peer.sock", "write");
 * ```
 */
export function checkUnixPath(path: string, access: "readwrite" | "write" = "readwrite"): void {
  if (access !== "readwrite" && access !== "write") {
    throw new TypeError(`access must be "readwrite" or "write", got ${JSON.stringify(access)}`);
  }
  const abstract = path.startsWith("\0");
  if (!abstract) {
    // Deno names an absolute path normalized, a relative one as written.
    const shown = path.startsWith("/") ? normalize(path) : path;
    for (const name of access === "write" ? ["write"] as const : ["read", "write"] as const) {
      if (grantedForAll(name)) continue;
      if (query({ name, path }).state !== "granted") {
        throw denied(`${name} access to "${shown}"`, `--allow-${name}`);
      }
    }
  }
  if (!unixNetDescriptors() || grantedForAll("net")) return;
  const descriptor = `unix:${abstract ? path : normalize(absolute(path))}`;
  // Deno's parser refuses an abstract name as a descriptor: only net access to everything covers it.
  const state = abstract
    ? query({ name: "net" }).state
    : query({ name: "net", host: descriptor }).state;
  if (state !== "granted") throw denied(`net access to "${descriptor}"`, "--allow-net");
}

let unixNet: boolean | undefined;

/** Whether this Deno knows `unix:<path>` net descriptors (2.9 does; older ones throw on them). */
function unixNetDescriptors(): boolean {
  if (unixNet === undefined) {
    try {
      Deno.permissions.querySync({ name: "net", host: "unix:/" });
      unixNet = true;
    } catch {
      unixNet = false;
    }
  }
  return unixNet;
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

/**
 * Deno's lexical normalization: a path with a `.` or `..` component or a
 * trailing slash is rebuilt from its components (so `//` collapses too);
 * any other path is kept exactly as written.
 */
function normalize(path: string): string {
  const parts = path.split("/");
  const dotted = parts.some((p) => p === "." || p === "..");
  if (!dotted && !(path.length > 1 && path.endsWith("/"))) return path;
  const out: string[] = [];
  for (const part of parts) {
    if (part === "..") out.pop();
    else if (part !== "" && part !== ".") out.push(part);
  }
  return `/${out.join("/")}`;
}

// --------------------------------------------------------------- raw sockets

const IPPROTO_ICMP = 1;
const IPPROTO_IGMP = 2;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_DCCP = 33;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_SCTP = 132;
const IPPROTO_UDPLITE = 136;
/** Transports whose header starts with source port, destination port (16 bits each). */
const PORTED = new Set([IPPROTO_TCP, IPPROTO_UDP, IPPROTO_DCCP, IPPROTO_SCTP, IPPROTO_UDPLITE]);
/** Transports without ports: a host-wide grant covers them. */
const PORTLESS = new Set([IPPROTO_ICMP, IPPROTO_IGMP, IPPROTO_ICMPV6]);
/** IPv6 extension headers walked to reach the transport. */
const IPV6_EXTENSIONS = new Set([0, 43, 60]);
const IPV6_FRAGMENT = 44;

interface Transport {
  protocol: number;
  /** The destination port, when the transport has one and it could be read. */
  port?: number;
  /** The destination written in the IP header (`headerIncluded`), when readable. */
  address?: Uint8Array;
  /** Why the destination port could not be read. */
  unreadable?: string;
}

/** Reads what a raw packet carries: its transport, destination port, header destination. */
function transportOf(
  protocol: number,
  headerIncluded: boolean,
  p: Uint8Array,
): Transport {
  let offset = 0;
  let address: Uint8Array | undefined;
  if (headerIncluded) {
    const version = p.length > 0 ? p[0] >> 4 : 0;
    if (version === 4 && p.length >= 20) {
      const ihl = (p[0] & 0x0f) * 4;
      protocol = p[9];
      address = p.slice(16, 20);
      const fragment = ((p[6] << 8) | p[7]) & 0x1fff;
      if (ihl < 20 || p.length < ihl) return { protocol, address, unreadable: "a bad IPv4 header" };
      if (fragment !== 0) return { protocol, address, unreadable: "a non-first fragment" };
      offset = ihl;
    } else if (version === 6 && p.length >= 40) {
      protocol = p[6];
      address = p.slice(24, 40);
      offset = 40;
      while (IPV6_EXTENSIONS.has(protocol) || protocol === IPV6_FRAGMENT) {
        if (p.length < offset + 8) return { protocol, address, unreadable: "a cut IPv6 header" };
        const next = p[offset];
        if (protocol === IPV6_FRAGMENT) {
          if ((((p[offset + 2] << 8) | p[offset + 3]) & 0xfff8) !== 0) {
            return { protocol: next, address, unreadable: "a non-first fragment" };
          }
          offset += 8;
        } else {
          offset += (p[offset + 1] + 1) * 8;
        }
        protocol = next;
      }
    } else {
      return { protocol: -1, unreadable: "no readable IP header" };
    }
  }
  if (PORTED.has(protocol)) {
    if (p.length < offset + 4) {
      return { protocol, address, unreadable: "a header shorter than its ports" };
    }
    return { protocol, address, port: (p[offset + 2] << 8) | p[offset + 3] };
  }
  if (PORTLESS.has(protocol)) return { protocol, address };
  return {
    protocol,
    address,
    unreadable: `protocol ${protocol}, whose ports this module cannot read`,
  };
}

/**
 * Throws unless Deno's rules would let this raw packet out: checked per
 * destination, with the port the transport header carries, as a UDP or TCP
 * send to the same `host:port` would be checked.
 *
 * - TCP, UDP, UDP-Lite, SCTP and DCCP: `address:destination port` (and, with
 *   `headerIncluded`, the destination written in the IP header too, which is
 *   where the packet goes), found past the IP header and any IPv6
 *   extension headers.
 * - ICMP, ICMPv6, IGMP carry no port: the address with no port, which a
 *   grant for the whole host (`--allow-net=127.0.0.1`) covers and a grant
 *   for one port (`127.0.0.1:53`) does not.
 * - Anything else, or a header too short to hold its ports, or a non-first
 *   fragment: its port cannot be known, so only a plain `--allow-net` with
 *   no deny list lets it out; under any list, where a port-scoped rule could
 *   apply, it is refused with a NotCapable that says why.
 *
 * With `hostname` (the name the caller wrote, before resolution), the allow
 * side is decided on that name, then the address is checked against the
 * deny list only, as for {@linkcode checkNet} plus {@linkcode checkNetAddress};
 * without it, the address itself must be allowed.
 *
 * @param family `AF_INET` (2) or `AF_INET6` (10).
 * @param address the destination given to `sendto`, 4 or 16 bytes.
 * @param protocol the socket's protocol (`IPPROTO_RAW` = 255 with an included header).
 * @param headerIncluded whether `payload` starts with the IP header (`IP_HDRINCL`).
 * @param payload the bytes to send.
 * @param hostname the destination as the caller wrote it, if it was a name.
 * @throws {Deno.errors.NotCapable} when not granted.
 * @example
 * ```ts
 * import { checkRawDestination } from "./permissions.ts";
 * // A UDP header to port 53; under `deno test --allow-net` nothing is refused.
 * const udp = new Uint8Array([0x30, 0x39, 0, 53, 0, 8, 0, 0]);
 * checkRawDestination(2, new Uint8Array([127, 0, 0, 1]), 17, false, udp);
 * ```
 */
export function checkRawDestination(
  family: number,
  address: Uint8Array,
  protocol: number,
  headerIncluded: boolean,
  payload: Uint8Array,
  hostname?: string,
): void {
  if (grantedForAll("net")) return;
  const transport = transportOf(protocol, headerIncluded, payload);
  const destinations = [address];
  if (transport.address && !sameBytes(transport.address, address)) {
    destinations.push(transport.address);
  }
  for (const [i, destination] of destinations.entries()) {
    const destinationFamily = i === 0 ? family : destination.length === 16 ? 10 : 2;
    const text = formatIp(destinationFamily, destination);
    const host = text.includes(":") ? `[${text}]` : text;
    if (transport.unreadable !== undefined) {
      throw new Deno.errors.NotCapable(
        `Requires net access to "${host}" on every port: a raw packet to it carries ${transport.unreadable}, ` +
          "so its destination port cannot be checked; only a plain --allow-net (no list, no --deny-net) lets it out",
      );
    }
    const port = transport.port;
    const descriptor = port === undefined ? host : `${host}:${port}`;
    const named = i === 0 && hostname !== undefined && parseHost(hostname).kind === "name";
    if (named && port !== undefined) {
      checkNet(hostname!, port);
    } else if (named) {
      // A port-less packet: the name must be granted for every port, as an address is below.
      const nameHost = parseHost(hostname!).display;
      if (query({ name: "net", host: nameHost }).state !== "granted") {
        throw denied(`net access to "${nameHost}"`, "--allow-net");
      }
    } else if (query({ name: "net", host: descriptor }).state !== "granted") {
      throw denied(`net access to "${descriptor}"`, "--allow-net");
    }
    if (port !== undefined) checkNetAddress(destinationFamily, destination, port);
    else if (query({ name: "net", host }).state === "denied") {
      throw denied(`net access to "${host}"`, "--allow-net");
    }
  }
}

/**
 * The part of {@linkcode checkRawDestination} that needs no address: a raw
 * send to a host name checks the name as written, with the port its header
 * carries, before the name is looked up (as Deno checks a name before it
 * resolves it). A packet whose port cannot be read is decided after the
 * lookup, on the address.
 *
 * @category Raw sockets
 * @param hostname the destination as the caller wrote it.
 * @param protocol the socket's protocol.
 * @param headerIncluded whether `payload` starts with the IP header.
 * @param payload the bytes to send.
 * @throws {Deno.errors.NotCapable} when the name is not granted.
 * @example
 * ```ts
 * import { checkRawName } from "./permissions.ts";
 * // A UDP header to port 53; under `deno test --allow-net` nothing is refused.
 * checkRawName("localhost", 17, false, new Uint8Array([0x30, 0x39, 0, 53, 0, 8, 0, 0]));
 * ```
 */
export function checkRawName(
  hostname: string,
  protocol: number,
  headerIncluded: boolean,
  payload: Uint8Array,
): void {
  if (grantedForAll("net")) return;
  const transport = transportOf(protocol, headerIncluded, payload);
  if (transport.unreadable !== undefined) return;
  if (transport.port !== undefined) {
    checkNet(hostname, transport.port);
    return;
  }
  const nameHost = parseHost(hostname).display;
  if (query({ name: "net", host: nameHost }).state !== "granted") {
    throw denied(`net access to "${nameHost}"`, "--allow-net");
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
