/**
 * Typed socket options: each common option has a name, a level, a C type
 * and a TypeScript value type, so `setOption("SO_RCVBUF", 65536)` and
 * `getOption("SO_LINGER")` need no byte fiddling. Values are checked before
 * `setsockopt` is called. Anything else goes through the raw escape hatch.
 *
 * @module
 */

import { checkBytes, checkFd, checkInt, checkInteger, describe } from "../ffi/checks.ts";
import * as K from "../ffi/constants.ts";
import { IPV6_FREEBIND, TCP_FASTOPEN_CONNECT } from "../ffi/constants_options.ts";
import { getsockopt, setsockopt } from "../ffi/syscalls.ts";
import { inet_ntop, inet_pton } from "../ffi/convert.ts";
import { errno, libc } from "../ffi/libc.ts";
import { netError } from "./errors.ts";

/**
 * `SO_LINGER`'s value: whether close lingers to send pending data, and for how many seconds.
 *
 * @category Options
 * @example
 * ```ts
 * import { type LingerValue, listen, setSocketOption } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const value: LingerValue = { enabled: true, seconds: 5 };
 * setSocketOption(listener.fd, "SO_LINGER", value);
 * listener.getOption("SO_LINGER"); // { enabled: true, seconds: 5 }
 * ```
 */
export type LingerValue = { enabled: boolean; seconds: number };

/**
 * The TypeScript value type of each typed option.
 *
 * @category Options
 * @example
 * ```ts
 * import { getSocketOption, listen, type SocketOptionTypes } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const linger: SocketOptionTypes["SO_LINGER"] = getSocketOption(listener.fd, "SO_LINGER");
 * linger.enabled; // false
 * const reuse: SocketOptionTypes["SO_REUSEADDR"] = getSocketOption(listener.fd, "SO_REUSEADDR");
 * reuse; // true: listen sets it, as Deno does
 * ```
 */
export interface SocketOptionTypes {
  /** Allow binding an address in TIME_WAIT. */
  SO_REUSEADDR: boolean;
  /** Allow several sockets to bind the same address and port (load balancing). */
  SO_REUSEPORT: boolean;
  /** Send TCP keep-alive probes. */
  SO_KEEPALIVE: boolean;
  /** Receive buffer size in bytes (the kernel doubles what you set). */
  SO_RCVBUF: number;
  /** Send buffer size in bytes (the kernel doubles what you set). */
  SO_SNDBUF: number;
  /** Linger on close: `{ enabled, seconds }`. */
  SO_LINGER: LingerValue;
  /** Receive timeout in milliseconds (0: none); rounded to microseconds. */
  SO_RCVTIMEO: number;
  /** Send timeout in milliseconds (0: none). */
  SO_SNDTIMEO: number;
  /** Allow sending to broadcast addresses. */
  SO_BROADCAST: boolean;
  /** The pending socket error (read-only; reading clears it). */
  SO_ERROR: number;
  /** The socket type, `SOCK_STREAM`... (read-only). */
  SO_TYPE: number;
  /** Bind to a network device by name (`""` unbinds; needs CAP_NET_RAW). */
  SO_BINDTODEVICE: string;
  /** The socket's address family, `AF_INET`... (read-only). */
  SO_DOMAIN: number;
  /** The socket's protocol, `IPPROTO_TCP`... (read-only). */
  SO_PROTOCOL: number;
  /** Whether the socket is listening (read-only). */
  SO_ACCEPTCONN: boolean;
  /** The firewall mark (`fwmark`) of outgoing packets, for policy routing (needs CAP_NET_ADMIN). */
  SO_MARK: number;
  /** The CPU that handles the socket's incoming packets (-1: not known yet). */
  SO_INCOMING_CPU: number;
  /** Microseconds to busy-poll the device queue on a blocking receive (raising it needs CAP_NET_ADMIN). */
  SO_BUSY_POLL: number;
  /** Disable Nagle's algorithm. */
  TCP_NODELAY: boolean;
  /** Seconds idle before keep-alive probes start. */
  TCP_KEEPIDLE: number;
  /** Seconds between keep-alive probes. */
  TCP_KEEPINTVL: number;
  /** Unanswered probes before the connection is dropped. */
  TCP_KEEPCNT: number;
  /** Hold back partial frames until uncorked. */
  TCP_CORK: boolean;
  /** Send ACKs at once (the kernel may reset it on its own). */
  TCP_QUICKACK: boolean;
  /** Milliseconds unacknowledged data may stay before the connection is dropped. */
  TCP_USER_TIMEOUT: number;
  /** Maximum segment size to announce (88..32767; set before connecting). */
  TCP_MAXSEG: number;
  /** SYN retransmits before connect gives up (1..127). */
  TCP_SYNCNT: number;
  /** Bytes of unsent data above which the socket stops being writable. */
  TCP_NOTSENT_LOWAT: number;
  /** Congestion control algorithm by name, e.g. `"cubic"`, `"reno"`. */
  TCP_CONGESTION: string;
  /** Seconds a listener waits for data before waking accept (the kernel rounds to its retransmit steps). */
  TCP_DEFER_ACCEPT: number;
  /** TCP Fast Open on a listener: the queue length of pending Fast Open requests (0: off). */
  TCP_FASTOPEN: number;
  /** TCP Fast Open on a client: connect returns at once and the first write rides the SYN. */
  TCP_FASTOPEN_CONNECT: boolean;
  /** IPv4 time to live of outgoing packets (1..255). */
  IP_TTL: number;
  /** IPv4 type-of-service byte. */
  IP_TOS: number;
  /** TTL of outgoing IPv4 multicast packets (0..255). */
  IP_MULTICAST_TTL: number;
  /** Loop outgoing IPv4 multicast back to local sockets. */
  IP_MULTICAST_LOOP: boolean;
  /** Local address of the interface outgoing IPv4 multicast leaves by (`"0.0.0.0"`: the route's). */
  IP_MULTICAST_IF: string;
  /** Queue ICMP errors for `MSG_ERRQUEUE` and report more of them. */
  IP_RECVERR: boolean;
  /** Path MTU discovery: 0 don't, 1 want, 2 do (DF set), 3 probe, 4 interface, 5 omit. */
  IP_MTU_DISCOVER: number;
  /** The application supplies the IP header (raw sockets only). */
  IP_HDRINCL: boolean;
  /** Allow binding an address not (yet) assigned to an interface. */
  IP_FREEBIND: boolean;
  /** Transparent proxying: bind and receive on foreign addresses (needs CAP_NET_ADMIN). */
  IP_TRANSPARENT: boolean;
  /** Leave the port of a bind to address-only to connect time, so ports are shared across addresses. */
  IP_BIND_ADDRESS_NO_PORT: boolean;
  /** The path MTU of a connected socket (read-only; `ENOTCONN` before connect). */
  IP_MTU: number;
  /** Restrict an IPv6 socket to IPv6 only (no v4-mapped). */
  IPV6_V6ONLY: boolean;
  /** IPv6 hop limit of outgoing unicast packets (-1: route default, 0..255). */
  IPV6_UNICAST_HOPS: number;
  /** Hop limit of outgoing IPv6 multicast (-1: default 1, 0..255). */
  IPV6_MULTICAST_HOPS: number;
  /** Loop outgoing IPv6 multicast back to local sockets. */
  IPV6_MULTICAST_LOOP: boolean;
  /** Interface index outgoing IPv6 multicast leaves by (0: the route's). */
  IPV6_MULTICAST_IF: number;
  /** IPv6 traffic class (-1: default 0, 0..255). */
  IPV6_TCLASS: number;
  /** Allow binding an IPv6 address not (yet) assigned to an interface. */
  IPV6_FREEBIND: boolean;
}

/**
 * The name of a typed option.
 *
 * @category Options
 * @example
 * ```ts
 * import { SOCKET_OPTIONS, type SocketOptionName } from "./options.ts";
 * const name: SocketOptionName = "TCP_NODELAY";
 * SOCKET_OPTIONS[name].kind; // "bool"
 * ```
 */
export type SocketOptionName = keyof SocketOptionTypes;

/**
 * The C representation of an option value.
 *
 * @category Options
 * @example
 * ```ts
 * import { type Kind, SOCKET_OPTIONS } from "./options.ts";
 * const kind: Kind = SOCKET_OPTIONS.SO_RCVTIMEO.kind; // "timeval"
 * ```
 */
export type Kind = "bool" | "int" | "linger" | "timeval" | "string" | "byte" | "ipv4";

/**
 * How a typed option is stored: level, number, C type and range.
 *
 * @category Options
 * @example
 * ```ts
 * import { type OptionSpec, SOCKET_OPTIONS } from "./options.ts";
 * const spec: Readonly<OptionSpec> = SOCKET_OPTIONS.IP_TTL;
 * console.log(spec.kind, spec.min, spec.max); // "int" 1 255
 * ```
 */
export interface OptionSpec {
  /** The level (`SOL_SOCKET`, `IPPROTO_TCP`, ...). */
  level: number;
  /** The option number. */
  name: number;
  /** The C representation. */
  kind: Kind;
  /** Smallest allowed integer value. */
  min?: number;
  /** Largest allowed integer value. */
  max?: number;
  /** True for options the kernel only reports. */
  readOnly?: boolean;
}

const INT_MAX = 0x7fffffff;

/**
 * Level, number and C type of every typed option.
 *
 * @category Options
 * @example
 * ```ts
 * import { SOCKET_OPTIONS } from "./options.ts";
 * const readOnly = Object.entries(SOCKET_OPTIONS).filter(([, spec]) => spec.readOnly);
 * console.log(readOnly.map(([name]) => name)); // ["SO_ERROR", "SO_TYPE", ...]
 * ```
 */
export const SOCKET_OPTIONS: Readonly<Record<SocketOptionName, Readonly<OptionSpec>>> = Object
  .freeze({
    SO_REUSEADDR: { level: K.SOL_SOCKET, name: K.SO_REUSEADDR, kind: "bool" },
    SO_REUSEPORT: { level: K.SOL_SOCKET, name: K.SO_REUSEPORT, kind: "bool" },
    SO_KEEPALIVE: { level: K.SOL_SOCKET, name: K.SO_KEEPALIVE, kind: "bool" },
    SO_RCVBUF: { level: K.SOL_SOCKET, name: K.SO_RCVBUF, kind: "int", min: 0, max: INT_MAX },
    SO_SNDBUF: { level: K.SOL_SOCKET, name: K.SO_SNDBUF, kind: "int", min: 0, max: INT_MAX },
    SO_LINGER: { level: K.SOL_SOCKET, name: K.SO_LINGER, kind: "linger" },
    SO_RCVTIMEO: { level: K.SOL_SOCKET, name: K.SO_RCVTIMEO, kind: "timeval" },
    SO_SNDTIMEO: { level: K.SOL_SOCKET, name: K.SO_SNDTIMEO, kind: "timeval" },
    SO_BROADCAST: { level: K.SOL_SOCKET, name: K.SO_BROADCAST, kind: "bool" },
    SO_ERROR: { level: K.SOL_SOCKET, name: K.SO_ERROR, kind: "int", readOnly: true },
    SO_TYPE: { level: K.SOL_SOCKET, name: K.SO_TYPE, kind: "int", readOnly: true },
    SO_BINDTODEVICE: { level: K.SOL_SOCKET, name: K.SO_BINDTODEVICE, kind: "string" },
    SO_DOMAIN: { level: K.SOL_SOCKET, name: K.SO_DOMAIN, kind: "int", readOnly: true },
    SO_PROTOCOL: { level: K.SOL_SOCKET, name: K.SO_PROTOCOL, kind: "int", readOnly: true },
    SO_ACCEPTCONN: { level: K.SOL_SOCKET, name: K.SO_ACCEPTCONN, kind: "bool", readOnly: true },
    SO_MARK: { level: K.SOL_SOCKET, name: K.SO_MARK, kind: "int", min: 0, max: INT_MAX },
    SO_INCOMING_CPU: {
      level: K.SOL_SOCKET,
      name: K.SO_INCOMING_CPU,
      kind: "int",
      min: -1,
      max: INT_MAX,
    },
    SO_BUSY_POLL: { level: K.SOL_SOCKET, name: K.SO_BUSY_POLL, kind: "int", min: 0, max: INT_MAX },
    TCP_NODELAY: { level: K.IPPROTO_TCP, name: K.TCP_NODELAY, kind: "bool" },
    TCP_KEEPIDLE: { level: K.IPPROTO_TCP, name: K.TCP_KEEPIDLE, kind: "int", min: 1, max: 32767 },
    TCP_KEEPINTVL: { level: K.IPPROTO_TCP, name: K.TCP_KEEPINTVL, kind: "int", min: 1, max: 32767 },
    TCP_KEEPCNT: { level: K.IPPROTO_TCP, name: K.TCP_KEEPCNT, kind: "int", min: 1, max: 127 },
    TCP_CORK: { level: K.IPPROTO_TCP, name: K.TCP_CORK, kind: "bool" },
    TCP_QUICKACK: { level: K.IPPROTO_TCP, name: K.TCP_QUICKACK, kind: "bool" },
    TCP_USER_TIMEOUT: {
      level: K.IPPROTO_TCP,
      name: K.TCP_USER_TIMEOUT,
      kind: "int",
      min: 0,
      max: INT_MAX,
    },
    TCP_MAXSEG: { level: K.IPPROTO_TCP, name: K.TCP_MAXSEG, kind: "int", min: 88, max: 32767 },
    TCP_SYNCNT: { level: K.IPPROTO_TCP, name: K.TCP_SYNCNT, kind: "int", min: 1, max: 127 },
    TCP_NOTSENT_LOWAT: {
      level: K.IPPROTO_TCP,
      name: K.TCP_NOTSENT_LOWAT,
      kind: "int",
      min: 0,
      max: INT_MAX,
    },
    TCP_CONGESTION: { level: K.IPPROTO_TCP, name: K.TCP_CONGESTION, kind: "string" },
    TCP_DEFER_ACCEPT: {
      level: K.IPPROTO_TCP,
      name: K.TCP_DEFER_ACCEPT,
      kind: "int",
      min: 0,
      max: INT_MAX,
    },
    TCP_FASTOPEN: { level: K.IPPROTO_TCP, name: K.TCP_FASTOPEN, kind: "int", min: 0, max: INT_MAX },
    TCP_FASTOPEN_CONNECT: { level: K.IPPROTO_TCP, name: TCP_FASTOPEN_CONNECT, kind: "bool" },
    IP_TTL: { level: K.IPPROTO_IP, name: K.IP_TTL, kind: "int", min: 1, max: 255 },
    IP_TOS: { level: K.IPPROTO_IP, name: K.IP_TOS, kind: "int", min: 0, max: 255 },
    IP_MULTICAST_TTL: {
      level: K.IPPROTO_IP,
      name: K.IP_MULTICAST_TTL,
      kind: "int",
      min: 0,
      max: 255,
    },
    IP_MULTICAST_LOOP: { level: K.IPPROTO_IP, name: K.IP_MULTICAST_LOOP, kind: "bool" },
    IP_MULTICAST_IF: { level: K.IPPROTO_IP, name: K.IP_MULTICAST_IF, kind: "ipv4" },
    IP_RECVERR: { level: K.IPPROTO_IP, name: K.IP_RECVERR, kind: "bool" },
    IP_MTU_DISCOVER: {
      level: K.IPPROTO_IP,
      name: K.IP_MTU_DISCOVER,
      kind: "int",
      min: 0,
      max: 5,
    },
    IP_HDRINCL: { level: K.IPPROTO_IP, name: K.IP_HDRINCL, kind: "bool" },
    IP_FREEBIND: { level: K.IPPROTO_IP, name: K.IP_FREEBIND, kind: "bool" },
    IP_TRANSPARENT: { level: K.IPPROTO_IP, name: K.IP_TRANSPARENT, kind: "bool" },
    IP_BIND_ADDRESS_NO_PORT: { level: K.IPPROTO_IP, name: K.IP_BIND_ADDRESS_NO_PORT, kind: "bool" },
    IP_MTU: { level: K.IPPROTO_IP, name: K.IP_MTU, kind: "int", readOnly: true },
    IPV6_V6ONLY: { level: K.IPPROTO_IPV6, name: K.IPV6_V6ONLY, kind: "bool" },
    IPV6_UNICAST_HOPS: {
      level: K.IPPROTO_IPV6,
      name: K.IPV6_UNICAST_HOPS,
      kind: "int",
      min: -1,
      max: 255,
    },
    IPV6_MULTICAST_HOPS: {
      level: K.IPPROTO_IPV6,
      name: K.IPV6_MULTICAST_HOPS,
      kind: "int",
      min: -1,
      max: 255,
    },
    IPV6_MULTICAST_LOOP: { level: K.IPPROTO_IPV6, name: K.IPV6_MULTICAST_LOOP, kind: "bool" },
    IPV6_MULTICAST_IF: {
      level: K.IPPROTO_IPV6,
      name: K.IPV6_MULTICAST_IF,
      kind: "int",
      min: 0,
      max: INT_MAX,
    },
    IPV6_TCLASS: { level: K.IPPROTO_IPV6, name: K.IPV6_TCLASS, kind: "int", min: -1, max: 255 },
    IPV6_FREEBIND: { level: K.IPPROTO_IPV6, name: IPV6_FREEBIND, kind: "bool" },
  });

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function specOf(option: unknown): OptionSpec {
  if (typeof option !== "string" || !Object.hasOwn(SOCKET_OPTIONS, option)) {
    throw new TypeError(
      `unknown socket option ${
        typeof option === "string" ? JSON.stringify(option) : describe(option)
      }; ` +
        "use setOptionRaw/getOptionRaw for options without a typed form",
    );
  }
  return SOCKET_OPTIONS[option as SocketOptionName];
}

function intBytes(value: number): Uint8Array {
  return new Uint8Array(new Int32Array([value]).buffer);
}

/** Encodes a typed option value; throws before anything reaches libc. */
function encodeOption(option: string, spec: OptionSpec, value: unknown): Uint8Array {
  switch (spec.kind) {
    case "bool":
      if (typeof value !== "boolean") {
        throw new TypeError(`${option} takes a boolean, got ${describe(value)}`);
      }
      return intBytes(value ? 1 : 0);
    case "int":
    case "byte":
      return intBytes(checkInteger(value, option, spec.min ?? -0x80000000, spec.max ?? INT_MAX));
    case "linger": {
      if (typeof value !== "object" || value === null) {
        throw new TypeError(
          `${option} takes { enabled: boolean, seconds: number }, got ${describe(value)}`,
        );
      }
      const { enabled, seconds } = value as LingerValue;
      if (typeof enabled !== "boolean") throw new TypeError(`${option}.enabled must be a boolean`);
      const secs = checkInteger(seconds, `${option}.seconds`, 0, INT_MAX);
      return new Uint8Array(new Int32Array([enabled ? 1 : 0, secs]).buffer);
    }
    case "timeval": {
      if (typeof value !== "number") {
        throw new TypeError(`${option} takes milliseconds, got ${describe(value)}`);
      }
      if (!Number.isFinite(value) || value < 0 || value > 1e15) {
        throw new RangeError(`${option} must be a finite number of milliseconds ≥ 0, got ${value}`);
      }
      const micros = BigInt(Math.round(value * 1000));
      return new Uint8Array(new BigInt64Array([micros / 1_000_000n, micros % 1_000_000n]).buffer);
    }
    case "string": {
      if (typeof value !== "string") {
        throw new TypeError(`${option} takes a string, got ${describe(value)}`);
      }
      const bytes = encoder.encode(value);
      if (bytes.includes(0)) throw new TypeError(`${option} must not contain NUL`);
      if (bytes.byteLength > 15) {
        throw new RangeError(`${option}: names are at most 15 bytes, got ${bytes.byteLength}`);
      }
      const out = new Uint8Array(bytes.byteLength + 1);
      out.set(bytes);
      return out;
    }
    case "ipv4": {
      if (typeof value !== "string") {
        throw new TypeError(`${option} takes an IPv4 address string, got ${describe(value)}`);
      }
      const address = inet_pton(K.AF_INET, value);
      if (address === null) {
        throw new TypeError(`${option} takes an IPv4 address, got ${JSON.stringify(value)}`);
      }
      return address;
    }
  }
}

/**
 * Sets a typed socket option on a descriptor.
 *
 * @category Options
 * @param fd the socket.
 * @param option the option's name, e.g. `"SO_RCVBUF"`.
 * @param value its value, of the option's type.
 * @throws {TypeError} for an unknown option or a value of the wrong type.
 * @throws {RangeError} for a value out of the option's range.
 * @throws {SocketError} when the kernel refuses (e.g. `ENOPROTOOPT` on the wrong socket type).
 * @example
 * ```ts
 * import { AF_INET, close, SOCK_STREAM, socket } from "../ffi/mod.ts";
 * import { getSocketOption, setSocketOption } from "./options.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * setSocketOption(fd, "TCP_NODELAY", true);
 * getSocketOption(fd, "TCP_NODELAY"); // true
 * close(fd);
 * ```
 */
export function setSocketOption<N extends SocketOptionName>(
  fd: number,
  option: N,
  value: SocketOptionTypes[N],
): void {
  // The checked values are the ones used (-0 becomes 0 there).
  fd = checkFd(fd);
  const spec = specOf(option);
  if (spec.readOnly) throw new TypeError(`${option} is read-only`);
  const bytes = encodeOption(option, spec, value);
  setsockopt(fd, spec.level, spec.name, bytes);
}

/**
 * Reads a typed socket option from the kernel.
 *
 * @category Options
 * @param fd the socket.
 * @param option the option's name.
 * @returns the value, of the option's type.
 * @throws {TypeError} for an unknown option.
 * @throws {SocketError} when the kernel refuses.
 * @example
 * ```ts
 * import { AF_INET, close, SOCK_DGRAM, socket } from "../ffi/mod.ts";
 * import { getSocketOption } from "../mod.ts";
 * const fd = socket(AF_INET, SOCK_DGRAM, 0);
 * getSocketOption(fd, "SO_RCVBUF"); // e.g. 212992
 * getSocketOption(fd, "SO_TYPE") === SOCK_DGRAM; // true
 * close(fd);
 * ```
 */
export function getSocketOption<N extends SocketOptionName>(
  fd: number,
  option: N,
): SocketOptionTypes[N] {
  fd = checkFd(fd);
  const spec = specOf(option);
  const bytes = new Uint8Array(
    spec.kind === "timeval" ? 16 : spec.kind === "string" ? 16 : spec.kind === "linger" ? 8 : 4,
  );
  const len = new Uint32Array([bytes.byteLength]);
  getsockopt(fd, spec.level, spec.name, bytes, len);
  const view = new DataView(bytes.buffer);
  let value: unknown;
  switch (spec.kind) {
    case "bool":
      value = view.getInt32(0, true) !== 0;
      break;
    case "int":
    case "byte":
      // Some IP options may be returned as a single byte.
      value = len[0] === 1 ? bytes[0] : view.getInt32(0, true);
      break;
    case "linger":
      value = { enabled: view.getInt32(0, true) !== 0, seconds: view.getInt32(4, true) };
      break;
    case "timeval":
      value = Number(view.getBigInt64(0, true)) * 1000 + Number(view.getBigInt64(8, true)) / 1000;
      break;
    case "string": {
      const used = bytes.subarray(0, len[0]);
      const nul = used.indexOf(0);
      value = decoder.decode(nul === -1 ? used : used.subarray(0, nul));
      break;
    }
    case "ipv4":
      value = inet_ntop(K.AF_INET, bytes.subarray(0, 4));
      break;
  }
  return value as SocketOptionTypes[N];
}

/**
 * Sets any option as raw bytes (the escape hatch for options without a typed form).
 *
 * @category Options
 * @param fd the socket.
 * @param level the level (`SOL_SOCKET`, `IPPROTO_TCP`, ...).
 * @param name the option number.
 * @param value the bytes the kernel expects.
 * @throws {SocketError} when the kernel refuses.
 * @example
 * ```ts
 * import { AF_INET, close, SO_PRIORITY, SOCK_STREAM, socket, SOL_SOCKET } from "../ffi/mod.ts";
 * import { getSocketOptionRaw, setSocketOptionRaw } from "../mod.ts";
 * const fd = socket(AF_INET, SOCK_STREAM, 0);
 * setSocketOptionRaw(fd, SOL_SOCKET, SO_PRIORITY, new Uint8Array(new Int32Array([6]).buffer));
 * new Int32Array(getSocketOptionRaw(fd, SOL_SOCKET, SO_PRIORITY, 4).buffer)[0]; // 6
 * close(fd);
 * ```
 */
export function setSocketOptionRaw(
  fd: number,
  level: number,
  name: number,
  value: Uint8Array,
): void {
  setsockopt(
    checkFd(fd),
    checkInt(level, "level"),
    checkInt(name, "name"),
    checkBytes(value, "value"),
  );
}

/**
 * Reads any option as raw bytes.
 *
 * @category Options
 * @param fd the socket.
 * @param level the level.
 * @param name the option number.
 * @param size the most bytes to read (default 256).
 * @returns the bytes the kernel returned (exactly as many as it reported).
 * @throws {SocketError} when the kernel refuses.
 * @example
 * ```ts
 * import { IPPROTO_TCP, TCP_INFO } from "../ffi/mod.ts";
 * import { connect, getSocketOptionRaw, listen } from "../mod.ts";
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * using conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const info = getSocketOptionRaw(conn.fd, IPPROTO_TCP, TCP_INFO, 232); // struct tcp_info
 * info[0]; // 1: tcpi_state is TCP_ESTABLISHED
 * ```
 */
export function getSocketOptionRaw(
  fd: number,
  level: number,
  name: number,
  size = 256,
): Uint8Array {
  size = checkInteger(size, "size", 0, 65536);
  const bytes = new Uint8Array(size);
  const len = new Uint32Array([size]);
  getsockopt(checkFd(fd), checkInt(level, "level"), checkInt(name, "name"), bytes, len);
  return bytes.slice(0, len[0]);
}

// The internal setters every socket kind uses on its own descriptors: one
// home for them, errors as Deno's classes, and no allocation for 0 and 1.
const INT_ONE = new Uint8Array(new Int32Array([1]).buffer);
const INT_ZERO = new Uint8Array(new Int32Array([0]).buffer);

/**
 * @internal Sets an `int` option on a descriptor the layer owns.
 *
 * @param fd the socket.
 * @param level the level.
 * @param name the option.
 * @param value the value.
 * @throws {SocketError} (as Deno's class where one matches) when the kernel refuses.
 */
export function setIntOption(fd: number, level: number, name: number, value: number): void {
  const bytes = value === 1 ? INT_ONE : value === 0 ? INT_ZERO : intBytes(value);
  if (libc().setsockopt(fd, level, name, bytes, 4) === -1) throw netError(errno(), "setsockopt");
}

/**
 * @internal Sets an option given as bytes on a descriptor the layer owns.
 *
 * @param fd the socket.
 * @param level the level.
 * @param name the option.
 * @param bytes the value.
 */
export function setBytesOption(fd: number, level: number, name: number, bytes: Uint8Array): void {
  if (libc().setsockopt(fd, level, name, bytes, bytes.byteLength) === -1) {
    throw netError(errno(), "setsockopt");
  }
}

/**
 * @internal Reads an `int` option of a descriptor the layer owns.
 *
 * @param fd the socket.
 * @param level the level.
 * @param name the option.
 * @returns the value.
 */
export function getIntOption(fd: number, level: number, name: number): number {
  const value = new Int32Array(1);
  const len = new Uint32Array([4]);
  if (libc().getsockopt(fd, level, name, new Uint8Array(value.buffer), len) === -1) {
    throw netError(errno(), "getsockopt");
  }
  return value[0];
}
