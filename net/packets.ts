/**
 * Building and parsing the packets raw sockets carry: the Internet checksum
 * (RFC 1071), IPv4 and IPv6 headers, UDP headers, ICMP echo
 * request/reply, ICMP time-exceeded and destination-unreachable (with the
 * original datagram's header they embed), and the ICMPv6 equivalents.
 *
 * Pure functions over `Uint8Array`: no permissions, no libc. Multi-byte
 * fields are in network order on the wire and plain numbers here.
 *
 * @module
 */

import { plainView } from "../ffi/checks.ts";
import { AF_INET, AF_INET6 } from "../ffi/constants.ts";
import { inet_ntop, inet_pton } from "../ffi/convert.ts";

/**
 * ICMP (v4) message types used here.
 *
 * @category Packets
 * @example
 * ```ts
 * import { buildIcmpEcho, ICMP_TYPE, parseIcmp } from "./packets.ts";
 * const reply = buildIcmpEcho({ identifier: 1, sequence: 1, kind: "reply" });
 * parseIcmp(reply).type === ICMP_TYPE.ECHO_REPLY; // true
 * ```
 */
export const ICMP_TYPE: Readonly<{
  ECHO_REPLY: 0;
  DESTINATION_UNREACHABLE: 3;
  REDIRECT: 5;
  ECHO_REQUEST: 8;
  TIME_EXCEEDED: 11;
  PARAMETER_PROBLEM: 12;
}> = Object.freeze(
  {
    ECHO_REPLY: 0,
    DESTINATION_UNREACHABLE: 3,
    REDIRECT: 5,
    ECHO_REQUEST: 8,
    TIME_EXCEEDED: 11,
    PARAMETER_PROBLEM: 12,
  } as const,
);

/**
 * ICMPv6 message types used here.
 *
 * @category Packets
 * @example
 * ```ts
 * import { buildIcmpv6Echo, ICMPV6_TYPE } from "./packets.ts";
 * buildIcmpv6Echo({ identifier: 1, sequence: 1 })[0] === ICMPV6_TYPE.ECHO_REQUEST; // true (128)
 * ```
 */
export const ICMPV6_TYPE: Readonly<{
  DESTINATION_UNREACHABLE: 1;
  PACKET_TOO_BIG: 2;
  TIME_EXCEEDED: 3;
  PARAMETER_PROBLEM: 4;
  ECHO_REQUEST: 128;
  ECHO_REPLY: 129;
}> = Object.freeze(
  {
    DESTINATION_UNREACHABLE: 1,
    PACKET_TOO_BIG: 2,
    TIME_EXCEEDED: 3,
    PARAMETER_PROBLEM: 4,
    ECHO_REQUEST: 128,
    ECHO_REPLY: 129,
  } as const,
);

/** Protocol numbers of the IP header (`IPPROTO_*`) that the parsers look into. */
const PROTO_UDP = 17;

/**
 * A checked Uint8Array argument, returned as a plain view of the same bytes
 * (`plainView`): its length is the true one, whatever `byteLength`/`length`
 * the caller's object redefines. Parsers read only this view.
 */
function bytesArg(value: unknown, name: string): Uint8Array {
  return plainView(value, name);
}

function need(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.byteLength < length) {
    throw new RangeError(`${what} needs at least ${length} bytes, got ${bytes.byteLength}`);
  }
}

function u16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

function u32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3]) >>> 0;
}

function uint(value: unknown, name: string, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    // The value's own text only for a number: an object's toString could throw or lie.
    const got = typeof value === "number" ? String(value) : typeof value;
    throw new RangeError(`${name} must be an integer in 0..${max}, got ${got}`);
  }
  return value;
}

/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones'
 * complement sum of the data as 16-bit big-endian words (an odd last byte
 * is padded with zero).
 *
 * @category Packets
 * @param data the bytes (with the checksum field zeroed when computing, or
 *   as received when verifying: a correct packet sums to 0).
 * @param initial a partial sum to start from (e.g. of a pseudo-header), as
 *   returned by {@linkcode onesComplementSum}.
 * @returns the 16-bit checksum.
 * @example
 * ```ts
 * import { internetChecksum } from "./packets.ts";
 * // RFC 1071's example words 0001 f203 f4f5 f6f7 sum to ddf2; checksum 220d.
 * internetChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])); // 0x220d
 * ```
 */
export function internetChecksum(data: Uint8Array, initial = 0): number {
  return ~onesComplementSum(bytesArg(data, "data"), initial) & 0xffff;
}

/**
 * The folded 16-bit ones' complement sum of `data`, plus `initial`.
 *
 * @category Packets
 * @param data the bytes.
 * @param initial a previous sum to continue.
 * @returns the folded sum (0..0xffff).
 * @example
 * ```ts
 * import { onesComplementSum } from "./packets.ts";
 * onesComplementSum(new Uint8Array([0xff, 0xff, 0x00, 0x01])); // 0x0001
 * ```
 */
export function onesComplementSum(data: Uint8Array, initial = 0): number {
  data = bytesArg(data, "data");
  let sum = uint(initial, "initial", 0xffffffff);
  const end = data.byteLength & ~1;
  for (let i = 0; i < end; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (end !== data.byteLength) sum += data[end] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * A parsed IPv4 header (RFC 791).
 *
 * @category Packets
 * @example
 * ```ts
 * import { type IPv4Header, parseIPv4Header } from "./packets.ts";
 * const packet = Uint8Array.from([
 *   0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1, // IPv4 header
 *   8, 0, 0xf7, 0xfe, 0, 1, 0, 0, // ICMP echo request
 * ]);
 * const { ttl, source, protocol }: IPv4Header = parseIPv4Header(packet); // 64, "127.0.0.1", 1
 * ```
 */
export interface IPv4Header {
  /** Always 4. */
  version: 4;
  /** Header length in bytes (IHL × 4, 20..60). */
  headerLength: number;
  /** Type of service / DSCP+ECN byte. */
  tos: number;
  /** Total length of the datagram as the header states it. */
  totalLength: number;
  /** Identification. */
  identification: number;
  /** The 3 flag bits (bit 1: don't fragment, bit 0: more fragments). */
  flags: number;
  /** Fragment offset, in bytes. */
  fragmentOffset: number;
  /** Time to live. */
  ttl: number;
  /** The payload's protocol (`IPPROTO_*`: 1 ICMP, 6 TCP, 17 UDP). */
  protocol: number;
  /** The header checksum as received. */
  checksum: number;
  /** Whether the header checksum is correct. */
  checksumValid: boolean;
  /** Source address, dotted. */
  source: string;
  /** Destination address, dotted. */
  destination: string;
  /** Option bytes (empty without options). */
  options: Uint8Array;
}

/**
 * Parses an IPv4 header.
 *
 * @category Packets
 * @param bytes the packet, starting at the header.
 * @returns the header's fields.
 * @throws {RangeError} when the bytes are too short or not IPv4.
 * @example
 * ```ts
 * import { parseIPv4Header } from "./packets.ts";
 * const packet = Uint8Array.from([
 *   0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
 *   8, 0, 0xf7, 0xfe, 0, 1, 0, 0,
 * ]);
 * parseIPv4Header(packet).protocol; // 1 (ICMP)
 * ```
 */
export function parseIPv4Header(bytes: Uint8Array): IPv4Header {
  bytes = bytesArg(bytes, "bytes");
  need(bytes, 20, "an IPv4 header");
  const version = bytes[0] >> 4;
  if (version !== 4) throw new RangeError(`not an IPv4 header (version ${version})`);
  const headerLength = (bytes[0] & 0x0f) * 4;
  if (headerLength < 20) throw new RangeError(`IPv4 header length ${headerLength} is below 20`);
  need(bytes, headerLength, "this IPv4 header");
  const header = bytes.subarray(0, headerLength);
  const flagsAndOffset = u16(bytes, 6);
  return {
    version: 4,
    headerLength,
    tos: bytes[1],
    totalLength: u16(bytes, 2),
    identification: u16(bytes, 4),
    flags: flagsAndOffset >> 13,
    fragmentOffset: (flagsAndOffset & 0x1fff) * 8,
    ttl: bytes[8],
    protocol: bytes[9],
    checksum: u16(bytes, 10),
    checksumValid: onesComplementSum(header) === 0xffff,
    source: inet_ntop(AF_INET, bytes.subarray(12, 16)),
    destination: inet_ntop(AF_INET, bytes.subarray(16, 20)),
    options: bytes.slice(20, headerLength),
  };
}

/**
 * A parsed IPv6 fixed header (RFC 8200).
 *
 * @category Packets
 * @example
 * ```ts
 * import { type IPv6Header, parseIPv6Header } from "./packets.ts";
 * const packet = new Uint8Array(40);
 * packet.set([0x60, 0, 0, 0, 0, 8, 17, 64]); // version 6, 8 bytes of UDP, hop limit 64
 * packet[23] = 1; // source ::1
 * packet[39] = 1; // destination ::1
 * const { hopLimit, nextHeader, source }: IPv6Header = parseIPv6Header(packet); // 64, 17, "::1"
 * ```
 */
export interface IPv6Header {
  /** Always 6. */
  version: 6;
  /** Always 40. */
  headerLength: 40;
  /** Traffic class. */
  trafficClass: number;
  /** Flow label (20 bits). */
  flowLabel: number;
  /** Payload length. */
  payloadLength: number;
  /** Next header (`IPPROTO_*`: 17 UDP, 58 ICMPv6). */
  nextHeader: number;
  /** Hop limit. */
  hopLimit: number;
  /** Source address. */
  source: string;
  /** Destination address. */
  destination: string;
}

/**
 * Parses an IPv6 fixed header.
 *
 * @category Packets
 * @param bytes the packet, starting at the header.
 * @returns the header's fields.
 * @throws {RangeError} when shorter than 40 bytes or not IPv6.
 * @example
 * ```ts
 * import { parseIPv6Header } from "./packets.ts";
 * const h = new Uint8Array(40);
 * h[0] = 0x60; h[6] = 17; h[7] = 64; h[23] = 1; h[39] = 1;
 * parseIPv6Header(h).destination; // "::1"
 * ```
 */
export function parseIPv6Header(bytes: Uint8Array): IPv6Header {
  bytes = bytesArg(bytes, "bytes");
  need(bytes, 40, "an IPv6 header");
  const version = bytes[0] >> 4;
  if (version !== 6) throw new RangeError(`not an IPv6 header (version ${version})`);
  const word = u32(bytes, 0);
  return {
    version: 6,
    headerLength: 40,
    trafficClass: (word >>> 20) & 0xff,
    flowLabel: word & 0xfffff,
    payloadLength: u16(bytes, 4),
    nextHeader: bytes[6],
    hopLimit: bytes[7],
    source: inet_ntop(AF_INET6, bytes.subarray(8, 24)),
    destination: inet_ntop(AF_INET6, bytes.subarray(24, 40)),
  };
}

/**
 * A parsed UDP header (RFC 768).
 *
 * @category Packets
 * @example
 * ```ts
 * import { parseUdpHeader, type UdpHeader } from "./packets.ts";
 * const udp: UdpHeader = parseUdpHeader(Uint8Array.from([0x82, 0x9a, 0, 53, 0, 8, 0, 0]));
 * [udp.sourcePort, udp.destinationPort, udp.length]; // [33434, 53, 8]
 * ```
 */
export interface UdpHeader {
  /** Source port. */
  sourcePort: number;
  /** Destination port. */
  destinationPort: number;
  /** Length of header and payload. */
  length: number;
  /** Checksum as sent. */
  checksum: number;
}

/**
 * Parses a UDP header (8 bytes; ICMP errors embed exactly these).
 *
 * @category Packets
 * @param bytes the bytes, starting at the UDP header.
 * @returns the header's fields.
 * @throws {RangeError} when shorter than 8 bytes.
 * @example
 * ```ts
 * import { parseUdpHeader } from "./packets.ts";
 * parseUdpHeader(Uint8Array.from([0x82, 0x9a, 0x00, 0x35, 0, 8, 0, 0])).destinationPort; // 53
 * ```
 */
export function parseUdpHeader(bytes: Uint8Array): UdpHeader {
  bytes = bytesArg(bytes, "bytes");
  need(bytes, 8, "a UDP header");
  return {
    sourcePort: u16(bytes, 0),
    destinationPort: u16(bytes, 2),
    length: u16(bytes, 4),
    checksum: u16(bytes, 6),
  };
}

/**
 * Fields of an ICMP or ICMPv6 echo message.
 *
 * @category Packets
 * @example
 * ```ts
 * import { buildIcmpEcho, type IcmpEchoOptions, parseIcmp } from "./packets.ts";
 * const options: IcmpEchoOptions = { identifier: 1, sequence: 1, payload: new Uint8Array(56) };
 * const request = buildIcmpEcho(options);
 * request.byteLength; // 64: the 8-byte header and 56 bytes of payload, as ping sends
 * parseIcmp(request).checksumValid; // true
 * ```
 */
export interface IcmpEchoOptions {
  /** Identifier (0..65535); ping sockets replace it with their own. */
  identifier: number;
  /** Sequence number (0..65535). */
  sequence: number;
  /** Payload (default empty). */
  payload?: Uint8Array;
  /** `"request"` (default) or `"reply"`. */
  kind?: "request" | "reply";
}

function buildEcho(type: number, options: IcmpEchoOptions): Uint8Array {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options must be { identifier, sequence, payload? }");
  }
  const identifier = uint(options.identifier, "identifier", 0xffff);
  const sequence = uint(options.sequence, "sequence", 0xffff);
  const payload = options.payload === undefined
    ? new Uint8Array(0)
    : bytesArg(options.payload, "payload");
  if (payload.byteLength > 65507 - 8) {
    throw new RangeError(`an ICMP echo payload is at most ${65507 - 8} bytes`);
  }
  const message = new Uint8Array(8 + payload.byteLength);
  message[0] = type;
  message[4] = identifier >> 8;
  message[5] = identifier & 0xff;
  message[6] = sequence >> 8;
  message[7] = sequence & 0xff;
  message.set(payload, 8);
  return message;
}

/**
 * Builds an ICMP (IPv4) echo request or reply, checksum included.
 *
 * @category Packets
 * @param options identifier, sequence, payload, kind.
 * @returns the ICMP message (no IP header: the kernel adds it).
 * @throws {RangeError} for out-of-range fields.
 * @example
 * ```ts
 * import { buildIcmpEcho, parseIcmp } from "./packets.ts";
 * const msg = buildIcmpEcho({ identifier: 0x1234, sequence: 1, payload: new Uint8Array(8) });
 * parseIcmp(msg).checksumValid; // true
 * ```
 */
export function buildIcmpEcho(options: IcmpEchoOptions): Uint8Array {
  const message = buildEcho(
    options?.kind === "reply" ? ICMP_TYPE.ECHO_REPLY : ICMP_TYPE.ECHO_REQUEST,
    options,
  );
  const sum = internetChecksum(message);
  message[2] = sum >> 8;
  message[3] = sum & 0xff;
  return message;
}

/**
 * Builds an ICMPv6 echo request or reply. The ICMPv6 checksum covers an
 * IPv6 pseudo-header: with `source` and `destination` it is computed here;
 * without them it is left 0, which is right for raw ICMPv6 and ping sockets
 * (Linux always fills it in).
 *
 * @category Packets
 * @param options identifier, sequence, payload, kind, and optionally the addresses.
 * @returns the ICMPv6 message.
 * @example
 * ```ts
 * import { buildIcmpv6Echo } from "./packets.ts";
 * const msg = buildIcmpv6Echo({ identifier: 1, sequence: 1 });
 * msg[0]; // 128 (echo request)
 * ```
 */
export function buildIcmpv6Echo(
  options: IcmpEchoOptions & { source?: string; destination?: string },
): Uint8Array {
  const message = buildEcho(
    options?.kind === "reply" ? ICMPV6_TYPE.ECHO_REPLY : ICMPV6_TYPE.ECHO_REQUEST,
    options,
  );
  if (options.source !== undefined || options.destination !== undefined) {
    const sum = icmpv6Checksum(options.source ?? "::", options.destination ?? "::", message);
    message[2] = sum >> 8;
    message[3] = sum & 0xff;
  }
  return message;
}

/**
 * The ICMPv6 checksum of `message` (its checksum field taken as 0) over
 * the IPv6 pseudo-header of RFC 8200 §8.1.
 *
 * @category Packets
 * @param source the source address.
 * @param destination the destination address.
 * @param message the ICMPv6 message.
 * @returns the checksum.
 * @throws {TypeError} for an address that is not IPv6.
 * @example
 * ```ts
 * import { buildIcmpv6Echo, icmpv6Checksum } from "./packets.ts";
 * const msg = buildIcmpv6Echo({ identifier: 1, sequence: 1, source: "::1", destination: "::1" });
 * icmpv6Checksum("::1", "::1", msg) === ((msg[2] << 8) | msg[3]); // true
 * ```
 */
export function icmpv6Checksum(source: string, destination: string, message: Uint8Array): number {
  message = bytesArg(message, "message");
  const src = inet_pton(AF_INET6, source);
  const dst = inet_pton(AF_INET6, destination);
  if (src === null || dst === null) throw new TypeError("source and destination must be IPv6");
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  const length = message.byteLength;
  pseudo[32] = length >>> 24;
  pseudo[33] = (length >>> 16) & 0xff;
  pseudo[34] = (length >>> 8) & 0xff;
  pseudo[35] = length & 0xff;
  pseudo[39] = 58;
  const body = message.slice();
  if (body.byteLength >= 4) body[2] = body[3] = 0;
  return internetChecksum(body, onesComplementSum(pseudo));
}

/**
 * The datagram an ICMP error is about: its header and first payload bytes.
 *
 * @category Packets
 * @example
 * ```ts
 * import { internetChecksum, parseIcmp } from "./packets.ts";
 * const icmp = Uint8Array.from([
 *   11, 0, 0, 0, 0, 0, 0, 0, // time exceeded in transit; checksum filled in below
 *   0x45, 0, 0, 28, 0, 1, 0, 0, 1, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1, // original IPv4 header
 *   0x82, 0x9a, 0x82, 0x9b, 0, 8, 0, 0, // its UDP header: port 33434 to 33435
 * ]);
 * const sum = internetChecksum(icmp);
 * icmp.set([sum >> 8, sum & 0xff], 2);
 * const m = parseIcmp(icmp);
 * if (m.kind === "time-exceeded") m.original?.udp?.destinationPort; // 33435
 * ```
 */
export interface EmbeddedDatagram<H> {
  /** The original IP header. */
  header: H;
  /** The original payload bytes the error carries (at least 8 for IPv4). */
  payload: Uint8Array;
  /** Its UDP header, when the original was UDP and 8 bytes are there. */
  udp?: UdpHeader;
}

/**
 * An ICMP or ICMPv6 echo request or reply.
 *
 * @category Packets
 * @example
 * ```ts
 * import { buildIcmpEcho, type IcmpEcho, parseIcmp } from "./packets.ts";
 * const m = parseIcmp(buildIcmpEcho({ identifier: 9, sequence: 4, kind: "reply" }));
 * if (m.kind === "echo-reply") {
 *   const echo: IcmpEcho = m;
 *   [echo.identifier, echo.sequence]; // [9, 4]
 * }
 * ```
 */
export interface IcmpEcho {
  /** `"echo-request"` or `"echo-reply"`. */
  kind: "echo-request" | "echo-reply";
  /** The type number. */
  type: number;
  /** The code (0). */
  code: number;
  /** The checksum as received. */
  checksum: number;
  /** Whether the checksum is right (always true for ICMPv6, which the kernel verified). */
  checksumValid: boolean;
  /** Identifier. */
  identifier: number;
  /** Sequence number. */
  sequence: number;
  /** Payload. */
  payload: Uint8Array;
}

/**
 * An ICMP error carrying the start of the datagram it is about.
 *
 * @category Packets
 * @example
 * ```ts
 * import { type IcmpError, internetChecksum, type IPv4Header, parseIcmp } from "./packets.ts";
 * const icmp = Uint8Array.from([
 *   3, 3, 0, 0, 0, 0, 0, 0, // destination unreachable: port unreachable
 *   0x45, 0, 0, 28, 0, 1, 0, 0, 1, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1, // original IPv4 header
 *   0x82, 0x9a, 0x82, 0x9b, 0, 8, 0, 0, // its UDP header: port 33434 to 33435
 * ]);
 * icmp.set([internetChecksum(icmp) >> 8, internetChecksum(icmp) & 0xff], 2);
 * const m = parseIcmp(icmp);
 * if (m.kind === "destination-unreachable") {
 *   const error: IcmpError<IPv4Header> = m;
 *   [error.description, error.original?.header.destination]; // ["port unreachable", "127.0.0.1"]
 * }
 * ```
 */
export interface IcmpError<H> {
  /** `"destination-unreachable"`, `"time-exceeded"`, `"packet-too-big"` (v6) or `"parameter-problem"`. */
  kind: "destination-unreachable" | "time-exceeded" | "packet-too-big" | "parameter-problem";
  /** The type number. */
  type: number;
  /** The code (e.g. 3: port unreachable in ICMPv4, 4 in ICMPv6). */
  code: number;
  /** The checksum as received. */
  checksum: number;
  /** Whether the checksum is right. */
  checksumValid: boolean;
  /** A human description of type and code, e.g. `"port unreachable"`. */
  description: string;
  /** Next-hop MTU (fragmentation needed / packet too big), else undefined. */
  mtu?: number;
  /** The offending datagram's header and first bytes (undefined if unparsable). */
  original?: EmbeddedDatagram<H>;
}

/**
 * Any other ICMP message.
 *
 * @category Packets
 * @example
 * ```ts
 * import { type IcmpOther, parseIcmp } from "./packets.ts";
 * const timestamp = new Uint8Array(20);
 * timestamp[0] = 13; // ICMP timestamp request: no parser of its own
 * const m = parseIcmp(timestamp);
 * if (m.kind === "other") {
 *   const other: IcmpOther = m;
 *   [other.type, other.body.byteLength]; // [13, 16]
 * }
 * ```
 */
export interface IcmpOther {
  /** `"other"`. */
  kind: "other";
  /** The type number. */
  type: number;
  /** The code. */
  code: number;
  /** The checksum as received. */
  checksum: number;
  /** Whether the checksum is right. */
  checksumValid: boolean;
  /** Everything after the 4-byte type/code/checksum. */
  body: Uint8Array;
}

/**
 * A parsed ICMPv4 message.
 *
 * @category Packets
 * @example
 * ```ts
 * import { buildIcmpEcho, type IcmpMessage, parseIcmp } from "./packets.ts";
 * const m: IcmpMessage = parseIcmp(buildIcmpEcho({ identifier: 1, sequence: 1 }));
 * m.kind; // "echo-request"; the other kinds are the errors and "other"
 * ```
 */
export type IcmpMessage = IcmpEcho | IcmpError<IPv4Header> | IcmpOther;
/**
 * A parsed ICMPv6 message.
 *
 * @category Packets
 * @example
 * ```ts
 * import { buildIcmpv6Echo, type Icmpv6Message, parseIcmpv6 } from "./packets.ts";
 * const reply = buildIcmpv6Echo({ identifier: 1, sequence: 1, kind: "reply" });
 * const m: Icmpv6Message = parseIcmpv6(reply);
 * m.kind; // "echo-reply"
 * ```
 */
export type Icmpv6Message = IcmpEcho | IcmpError<IPv6Header> | IcmpOther;

const UNREACHABLE_V4 = [
  "network unreachable",
  "host unreachable",
  "protocol unreachable",
  "port unreachable",
  "fragmentation needed and DF set",
  "source route failed",
  "destination network unknown",
  "destination host unknown",
  "source host isolated",
  "network administratively prohibited",
  "host administratively prohibited",
  "network unreachable for TOS",
  "host unreachable for TOS",
  "communication administratively prohibited",
  "host precedence violation",
  "precedence cutoff in effect",
];
const UNREACHABLE_V6 = [
  "no route to destination",
  "communication administratively prohibited",
  "beyond scope of source address",
  "address unreachable",
  "port unreachable",
  "source address failed policy",
  "reject route to destination",
];

/**
 * A human description of an ICMP type and code.
 *
 * @category Packets
 * @param type the type.
 * @param code the code.
 * @param v6 whether these are ICMPv6 numbers.
 * @returns e.g. `"port unreachable"`, `"time to live exceeded in transit"`.
 * @example
 * ```ts
 * import { describeIcmp } from "./packets.ts";
 * describeIcmp(3, 3); // "port unreachable"
 * ```
 */
export function describeIcmp(type: number, code: number, v6 = false): string {
  uint(type, "type", 255);
  uint(code, "code", 255);
  if (v6) {
    switch (type) {
      case 1:
        return UNREACHABLE_V6[code] ?? `destination unreachable (code ${code})`;
      case 2:
        return "packet too big";
      case 3:
        return code === 0 ? "hop limit exceeded in transit" : "fragment reassembly time exceeded";
      case 4:
        return `parameter problem (code ${code})`;
      case 128:
        return "echo request";
      case 129:
        return "echo reply";
    }
    return `ICMPv6 type ${type} code ${code}`;
  }
  switch (type) {
    case 0:
      return "echo reply";
    case 3:
      return UNREACHABLE_V4[code] ?? `destination unreachable (code ${code})`;
    case 8:
      return "echo request";
    case 11:
      return code === 0 ? "time to live exceeded in transit" : "fragment reassembly time exceeded";
    case 12:
      return `parameter problem (code ${code})`;
  }
  return `ICMP type ${type} code ${code}`;
}

function embedded<H extends { headerLength: number; protocol?: number; nextHeader?: number }>(
  bytes: Uint8Array,
  parse: (b: Uint8Array) => H,
): EmbeddedDatagram<H> | undefined {
  let header: H;
  try {
    header = parse(bytes);
  } catch {
    return undefined;
  }
  const payload = bytes.slice(header.headerLength);
  const protocol = header.protocol ?? header.nextHeader;
  const out: EmbeddedDatagram<H> = { header, payload };
  if (protocol === PROTO_UDP && payload.byteLength >= 8) out.udp = parseUdpHeader(payload);
  return out;
}

function parseMessage(
  bytes: Uint8Array,
  v6: boolean,
): IcmpEcho | IcmpError<IPv4Header | IPv6Header> | IcmpOther {
  bytes = bytesArg(bytes, "bytes");
  need(bytes, 4, v6 ? "an ICMPv6 message" : "an ICMP message");
  const type = bytes[0];
  const code = bytes[1];
  const checksum = u16(bytes, 2);
  // The kernel verifies ICMPv6 checksums (they need the pseudo-header) before delivery.
  const checksumValid = v6 ? true : onesComplementSum(bytes) === 0xffff;
  const echoRequest = v6 ? 128 : 8;
  const echoReply = v6 ? 129 : 0;
  if ((type === echoRequest || type === echoReply) && bytes.byteLength >= 8) {
    return {
      kind: type === echoRequest ? "echo-request" : "echo-reply",
      type,
      code,
      checksum,
      checksumValid,
      identifier: u16(bytes, 4),
      sequence: u16(bytes, 6),
      payload: bytes.slice(8),
    };
  }
  const kinds: Record<number, IcmpError<IPv4Header>["kind"]> = v6
    ? {
      1: "destination-unreachable",
      2: "packet-too-big",
      3: "time-exceeded",
      4: "parameter-problem",
    }
    : { 3: "destination-unreachable", 11: "time-exceeded", 12: "parameter-problem" };
  const kind = kinds[type];
  if (kind !== undefined && bytes.byteLength >= 8) {
    const error: IcmpError<IPv4Header | IPv6Header> = {
      kind,
      type,
      code,
      checksum,
      checksumValid,
      description: describeIcmp(type, code, v6),
      original: v6
        ? embedded(bytes.subarray(8), parseIPv6Header)
        : embedded(bytes.subarray(8), parseIPv4Header),
    };
    if (v6 && type === 2) error.mtu = u32(bytes, 4);
    if (!v6 && type === 3 && code === 4) error.mtu = u16(bytes, 6);
    return error;
  }
  return { kind: "other", type, code, checksum, checksumValid, body: bytes.slice(4) };
}

/**
 * Parses an ICMP (IPv4) message (starting at the ICMP header: strip the IP
 * header first, see {@linkcode parseIPv4Packet}).
 *
 * @category Packets
 * @param bytes the message.
 * @returns an echo, an error with its embedded original header, or `"other"`.
 * @throws {RangeError} when shorter than 4 bytes.
 * @example
 * ```ts
 * import { buildIcmpEcho, parseIcmp } from "./packets.ts";
 * const m = parseIcmp(buildIcmpEcho({ identifier: 7, sequence: 3 }));
 * if (m.kind === "echo-request") console.log(m.identifier, m.sequence); // 7 3
 * ```
 */
export function parseIcmp(bytes: Uint8Array): IcmpMessage {
  return parseMessage(bytes, false) as IcmpMessage;
}

/**
 * Parses an ICMPv6 message (raw ICMPv6 sockets deliver no IPv6 header).
 *
 * @category Packets
 * @param bytes the message.
 * @returns an echo, an error with its embedded original IPv6 header, or `"other"`.
 * @throws {RangeError} when shorter than 4 bytes.
 * @example
 * ```ts
 * import { buildIcmpv6Echo, parseIcmpv6 } from "./packets.ts";
 * parseIcmpv6(buildIcmpv6Echo({ identifier: 1, sequence: 2 })).kind; // "echo-request"
 * ```
 */
export function parseIcmpv6(bytes: Uint8Array): Icmpv6Message {
  return parseMessage(bytes, true) as Icmpv6Message;
}

/**
 * Splits an IPv4 packet (as a raw IPv4 socket receives it) into its header
 * and payload.
 *
 * @category Packets
 * @param bytes the packet.
 * @returns `{ header, payload }`; the payload ends where the header's total length says, or at the end of the bytes.
 * @throws {RangeError} when not an IPv4 packet.
 * @example
 * ```ts
 * import { parseIcmp, parseIPv4Packet } from "./packets.ts";
 * const packet = Uint8Array.from([ // as a raw IPv4 ICMP socket receives it
 *   0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
 *   0, 0, 0xff, 0xfe, 0, 1, 0, 0, // an ICMP echo reply
 * ]);
 * const { header, payload } = parseIPv4Packet(packet);
 * header.source; // "127.0.0.1"
 * parseIcmp(payload).kind; // "echo-reply"
 * ```
 */
export function parseIPv4Packet(bytes: Uint8Array): { header: IPv4Header; payload: Uint8Array } {
  bytes = bytesArg(bytes, "bytes");
  const header = parseIPv4Header(bytes);
  const end = header.totalLength >= header.headerLength && header.totalLength <= bytes.byteLength
    ? header.totalLength
    : bytes.byteLength;
  return { header, payload: bytes.subarray(header.headerLength, end) };
}
