/**
 * The IPv4 and IPv6 address families (`AF_INET`, `AF_INET6`): `struct
 * sockaddr_in`/`sockaddr_in6` written and read at the offsets the
 * `ffi/structs.ts` layouts declare, and their `Deno.NetAddr` shape.
 *
 * Hot paths write into a reused buffer ({@linkcode writeIp}) and read the
 * source address in place, so a steady flow of datagrams allocates nothing
 * here.
 *
 * @module
 */

import { AF_INET, AF_INET6 } from "../../ffi/constants.ts";
import { inet_ntop } from "../../ffi/convert.ts";
import { sockaddr_in, sockaddr_in6 } from "../../ffi/structs.ts";
import { familyOf, writeFamily } from "./family.ts";

/** A resolved IP endpoint: family, 4 or 16 address bytes, port. */
export interface IpEndpoint {
  /** `AF_INET` or `AF_INET6`. */
  family: number;
  /** 4 or 16 bytes, network order. */
  address: Uint8Array;
  /** 0..65535. */
  port: number;
  /** IPv6 scope (interface index) for link-local addresses. */
  scopeId?: number;
}

// Offsets from the declared layouts: one home for the C facts.
const V4_SIZE = sockaddr_in.size;
const V4_PORT = sockaddr_in.field("sin_port").offset;
const V4_ADDR = sockaddr_in.field("sin_addr").offset;
const V6_SIZE = sockaddr_in6.size;
const V6_PORT = sockaddr_in6.field("sin6_port").offset;
const V6_ADDR = sockaddr_in6.field("sin6_addr").offset;
const V6_SCOPE = sockaddr_in6.field("sin6_scope_id").offset;

/** The largest IP socket address, in bytes: a buffer this long holds either family. */
export const IP_SOCKADDR_MAX: number = Math.max(V4_SIZE, V6_SIZE);

/**
 * Writes `struct sockaddr_in`/`sockaddr_in6` into `to` (at least
 * {@linkcode IP_SOCKADDR_MAX} bytes), zeroing the rest of the struct.
 *
 * @param to the buffer.
 * @param family `AF_INET` or `AF_INET6`.
 * @param address 4 or 16 bytes.
 * @param port the port, host order.
 * @param scopeId the IPv6 scope.
 * @returns the address length (16 or 28).
 */
export function writeIp(
  to: Uint8Array,
  family: number,
  address: Uint8Array,
  port: number,
  scopeId = 0,
): number {
  const v6 = family === AF_INET6;
  const size = v6 ? V6_SIZE : V4_SIZE;
  const portAt = v6 ? V6_PORT : V4_PORT;
  to.fill(0, 0, size);
  writeFamily(to, family);
  to[portAt] = port >> 8;
  to[portAt + 1] = port & 0xff;
  if (v6) {
    to.set(address, V6_ADDR);
    to[V6_SCOPE] = scopeId & 0xff;
    to[V6_SCOPE + 1] = (scopeId >>> 8) & 0xff;
    to[V6_SCOPE + 2] = (scopeId >>> 16) & 0xff;
    to[V6_SCOPE + 3] = scopeId >>> 24;
  } else {
    to.set(address, V4_ADDR);
  }
  return size;
}

/**
 * Encodes an IP endpoint as a new `struct sockaddr_in` (16 bytes) or `sockaddr_in6` (28 bytes).
 *
 * @param endpoint the endpoint.
 * @returns the bytes.
 */
export function encodeIp(endpoint: IpEndpoint): Uint8Array {
  const bytes = new Uint8Array(endpoint.family === AF_INET6 ? V6_SIZE : V4_SIZE);
  writeIp(bytes, endpoint.family, endpoint.address, endpoint.port, endpoint.scopeId);
  return bytes;
}

/**
 * Reads an IP socket address of `length` bytes (as the kernel reported it).
 *
 * @param bytes the buffer.
 * @param length the reported length.
 * @returns the endpoint, or null when `bytes` holds no complete IP address.
 */
export function decodeIp(bytes: Uint8Array, length: number): IpEndpoint | null {
  const family = familyOf(bytes, length);
  if (family === AF_INET && length >= V4_ADDR + 4) {
    return {
      family,
      port: (bytes[V4_PORT] << 8) | bytes[V4_PORT + 1],
      address: bytes.slice(V4_ADDR, V4_ADDR + 4),
    };
  }
  if (family === AF_INET6 && length >= V6_ADDR + 16) {
    const scopeId = length >= V6_SCOPE + 4
      ? (bytes[V6_SCOPE] | (bytes[V6_SCOPE + 1] << 8) | (bytes[V6_SCOPE + 2] << 16) |
        (bytes[V6_SCOPE + 3] << 24)) >>> 0
      : 0;
    return {
      family,
      port: (bytes[V6_PORT] << 8) | bytes[V6_PORT + 1],
      address: bytes.slice(V6_ADDR, V6_ADDR + 16),
      scopeId,
    };
  }
  return null;
}

/**
 * Where the address bytes of a family's socket address start and how many there are.
 *
 * @param family `AF_INET` or `AF_INET6`.
 * @returns `[offset, length]`.
 */
export function ipAddressSpan(family: number): readonly [number, number] {
  return family === AF_INET6 ? [V6_ADDR, 16] : [V4_ADDR, 4];
}

/**
 * The port of an IP socket address, read in place.
 *
 * @param bytes a `sockaddr_in`/`sockaddr_in6`.
 * @returns the port, host order.
 */
export function ipPortOf(bytes: Uint8Array): number {
  const at = familyOf(bytes) === AF_INET6 ? V6_PORT : V4_PORT;
  return (bytes[at] << 8) | bytes[at + 1];
}

/**
 * The dotted-quad text of a `sockaddr_in`, read in place without a copy
 * (the common case of an accepted TCP peer).
 *
 * @param bytes a `sockaddr_in`.
 * @returns e.g. `"127.0.0.1"`.
 */
export function ipv4Text(bytes: Uint8Array): string {
  return `${bytes[V4_ADDR]}.${bytes[V4_ADDR + 1]}.${bytes[V4_ADDR + 2]}.${bytes[V4_ADDR + 3]}`;
}

/**
 * An endpoint in Deno's shape.
 *
 * @param endpoint the endpoint.
 * @param transport `"tcp"` or `"udp"`.
 * @returns the `Deno.NetAddr`.
 */
export function ipToDeno(endpoint: IpEndpoint, transport: "tcp" | "udp"): Deno.NetAddr {
  return { transport, hostname: inet_ntop(endpoint.family, endpoint.address), port: endpoint.port };
}

/**
 * `a.b.c.d` as `::ffff:a.b.c.d`, for sending from an IPv6 socket.
 *
 * @param address 4 bytes.
 * @returns 16 bytes.
 */
export function mapV4(address: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(address, 12);
  return out;
}

/**
 * Whether 16 address bytes are an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
 *
 * @param address the bytes.
 * @returns true for a mapped address.
 */
export function isV4Mapped(address: Uint8Array): boolean {
  if (address.byteLength !== 16 || address[10] !== 0xff || address[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return false;
  return true;
}

/**
 * Adapts an endpoint to a socket of family `domain`: an IPv4 endpoint on
 * an IPv6 socket becomes IPv4-mapped.
 *
 * @param endpoint the destination.
 * @param domain the socket's family.
 * @returns the endpoint to write, or null when the socket cannot reach it (IPv6 from IPv4).
 */
export function endpointFor(endpoint: IpEndpoint, domain: number): IpEndpoint | null {
  if (endpoint.family === domain) return endpoint;
  if (endpoint.family === AF_INET && domain === AF_INET6) {
    return { family: AF_INET6, address: mapV4(endpoint.address), port: endpoint.port };
  }
  return null;
}
