/**
 * Declared C struct layouts (field, offset, size, byte order) with encode to
 * and decode from bytes. The offsets are those of glibc on Linux, declared
 * per architecture where they differ (only `struct epoll_event` does, between
 * x86_64 and aarch64): this file is the one place that looks at
 * `Deno.build.arch`, and every exported layout is the running CPU's.
 * {@linkcode layoutsFor} gives any architecture's set. tests/arch_layout_test.ts
 * checks both sets against what a C probe (tools/arch/layout_probe.c) printed
 * on each architecture; tests/structs_test.ts checks them against what the
 * kernel reads and writes.
 *
 * Values are logical: a port is `8080`, an IPv4 address is a host-order
 * number such as `INADDR_LOOPBACK` (`0x7f000001`); the layout puts
 * network-order fields into big-endian bytes. (C code writes
 * `htons(8080)` into `sin_port`; here the layout does that step.)
 *
 * @module
 */

import { byteLengthOf } from "./checks.ts";

/** The built-in subarray, captured: a caller's view may redefine its own. */
const subarray = Uint8Array.prototype.subarray;

/**
 * The type of one struct field as C stores it.
 *
 * @example
 * ```ts
 * import { type FieldType, sockaddr_in } from "./structs.ts";
 * const type: FieldType = sockaddr_in.field("sin_port").type; // "u16"
 * ```
 */
export type FieldType =
  | "u8"
  | "u16"
  | "i16"
  | "u32"
  | "i32"
  | "u64"
  | "i64"
  | "bytes";

/**
 * One field of a {@linkcode StructLayout}.
 *
 * @example
 * ```ts
 * import { sockaddr_in } from "./structs.ts";
 * const port = sockaddr_in.field("sin_port");
 * console.log(port.offset, port.size, port.order); // 2 2 "network"
 * ```
 */
export interface Field {
  /** The C field name, e.g. `"sin_port"`. */
  readonly name: string;
  /** Offset from the start of the struct, in bytes. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** Storage type. */
  readonly type: FieldType;
  /** `"network"` (big-endian) or `"host"` (the CPU's order, little-endian here). */
  readonly order: "host" | "network";
}

/**
 * The JavaScript value type of a field type.
 *
 * @example
 * ```ts
 * import type { FieldValue } from "./structs.ts";
 * const data: FieldValue<"u64"> = 42n;
 * const path: FieldValue<"bytes"> = new Uint8Array(108);
 * const port: FieldValue<"u16"> = 8080;
 * ```
 */
export type FieldValue<T extends FieldType> = T extends "u64" | "i64" ? bigint
  : T extends "bytes" ? Uint8Array
  : number;

type FieldSpec = readonly [
  name: string,
  offset: number,
  size: number,
  type: FieldType,
  order?: "host" | "network",
];

const INT_RANGE: Record<string, [number, number]> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

/**
 * A CPU architecture layouts are declared for, spelled as `Deno.build.arch`
 * spells it.
 *
 * @example
 * ```ts
 * import { type Arch, layoutsFor } from "./structs.ts";
 * const arch: Arch = Deno.build.arch;
 * layoutsFor(arch).epoll_event.size; // 12 on x86_64, 16 on aarch64
 * ```
 */
export type Arch = "x86_64" | "aarch64";

const ARCHES: readonly Arch[] = Object.freeze(["x86_64", "aarch64"]);

/**
 * The entry of `perArch` for the CPU we run on. Refusing an unknown CPU at
 * import is deliberate: a guessed layout would let the kernel read and write
 * the wrong bytes, silently.
 */
function forThisCpu<V>(perArch: Readonly<Record<Arch, V>>): V {
  const arch: string = Deno.build.arch;
  if (!(ARCHES as readonly string[]).includes(arch)) {
    throw new Error(
      `ffi/structs.ts declares no struct layouts for ${arch} (only ${ARCHES.join(", ")})`,
    );
  }
  return perArch[arch as Arch];
}

/**
 * A C struct's memory layout, with checked encode/decode.
 *
 * @example
 * ```ts
 * import { sockaddr_in } from "./structs.ts";
 * import { AF_INET, INADDR_LOOPBACK } from "./constants.ts";
 * const bytes = sockaddr_in.encode({
 *   sin_family: AF_INET,
 *   sin_port: 8080,
 *   sin_addr: INADDR_LOOPBACK,
 * });
 * bytes.length; // 16
 * sockaddr_in.decode(bytes).sin_port; // 8080
 * ```
 */
export class StructLayout<T extends Record<string, number | bigint | Uint8Array>> {
  /** The C name, e.g. `"struct sockaddr_in"`. */
  readonly name: string;
  /** `sizeof` the struct, in bytes. */
  readonly size: number;
  /** The fields, in offset order. */
  readonly fields: readonly Field[];
  readonly #byName: Map<string, Field>;

  /**
   * Declares a layout; fields must lie inside `size`.
   *
   * @param name the C name.
   * @param size `sizeof` in bytes.
   * @param specs `[name, offset, size, type, order]` per field.
   */
  constructor(name: string, size: number, specs: readonly FieldSpec[]) {
    this.name = name;
    this.size = size;
    this.fields = specs.map(([fieldName, offset, fieldSize, type, order]) => {
      if (offset + fieldSize > size) {
        throw new RangeError(`${name}.${fieldName} lies outside the struct`);
      }
      return Object.freeze({
        name: fieldName,
        offset,
        size: fieldSize,
        type,
        order: order ?? "host",
      });
    });
    Object.freeze(this.fields);
    this.#byName = new Map(this.fields.map((f) => [f.name, f]));
  }

  /**
   * The field called `name`.
   *
   * @param name a field name.
   * @returns the field.
   * @throws {TypeError} if the struct has no such field.
   */
  field(name: keyof T & string): Field {
    const found = this.#byName.get(name);
    if (!found) {
      // Never coerce a non-string: its own toString could throw or lie.
      const what = typeof name === "string" ? name : `(a ${typeof name}, not a field name)`;
      throw new TypeError(`${this.name} has no field ${what}`);
    }
    return found;
  }

  /**
   * Encodes `value` into `into` (or a new buffer of {@linkcode size} bytes).
   * Every byte of the struct is written: fields not given and padding (such
   * as `sin_zero`) become zero.
   *
   * @param value the field values; missing fields are zero.
   * @param into optional destination, at least {@linkcode size} bytes.
   * @returns the bytes written (a view of `into` when given).
   * @throws {RangeError} when a value does not fit its field or `into` is too short.
   * @throws {TypeError} when a value has the wrong type or names no field.
   */
  encode(value: Partial<T>, into?: Uint8Array): Uint8Array {
    if (value === null || typeof value !== "object") {
      throw new TypeError(`${this.name}: value must be an object`);
    }
    let bytes: Uint8Array;
    if (into === undefined) {
      bytes = new Uint8Array(this.size);
    } else {
      // The true length, and the built-in subarray: `into` may redefine
      // byteLength or subarray, and the DataView below must stay inside it.
      const length = byteLengthOf(into, `${this.name}: into`);
      if (length < this.size) {
        throw new RangeError(`${this.name}: into holds ${length} bytes, needs ${this.size}`);
      }
      bytes = Reflect.apply(subarray, into, [0, this.size]) as Uint8Array;
      bytes.fill(0);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, this.size);
    for (const key of Object.keys(value)) {
      const field = this.#byName.get(key);
      if (!field) throw new TypeError(`${this.name} has no field ${key}`);
      const v = value[key];
      if (v === undefined) continue;
      writeField(this.name, field, view, bytes, v);
    }
    return bytes;
  }

  /**
   * Decodes the struct from the first {@linkcode size} bytes of `bytes`.
   *
   * @param bytes at least {@linkcode size} bytes.
   * @returns the field values (byte fields are copies).
   * @throws {RangeError} when `bytes` is shorter than the struct.
   */
  decode(bytes: Uint8Array): T {
    const length = byteLengthOf(bytes, `${this.name}: bytes`);
    if (length < this.size) {
      throw new RangeError(`${this.name}: ${length} bytes given, needs ${this.size}`);
    }
    bytes = Reflect.apply(subarray, bytes, [0, this.size]) as Uint8Array;
    const view = new DataView(bytes.buffer, bytes.byteOffset, this.size);
    const out: Record<string, number | bigint | Uint8Array> = {};
    for (const field of this.fields) out[field.name] = readField(field, view, bytes);
    return out as T;
  }
}

function writeField(
  struct: string,
  field: Field,
  view: DataView,
  bytes: Uint8Array,
  v: unknown,
): void {
  const little = field.order === "host";
  const where = `${struct}.${field.name}`;
  switch (field.type) {
    case "bytes": {
      if (!(v instanceof Uint8Array)) {
        throw new TypeError(`${where} must be a Uint8Array`);
      }
      if (v.byteLength > field.size) {
        throw new RangeError(
          `${where} holds ${field.size} bytes, got ${v.byteLength}`,
        );
      }
      bytes.set(v, field.offset);
      return;
    }
    case "u64":
    case "i64": {
      if (typeof v !== "bigint") throw new TypeError(`${where} must be a bigint`);
      const ok = field.type === "u64"
        ? v >= 0n && v <= 0xffffffffffffffffn
        : v >= -(1n << 63n) && v < (1n << 63n);
      if (!ok) throw new RangeError(`${where} out of range: ${v}`);
      if (field.type === "u64") view.setBigUint64(field.offset, v, little);
      else view.setBigInt64(field.offset, v, little);
      return;
    }
    default: {
      if (typeof v !== "number") throw new TypeError(`${where} must be a number`);
      const [lo, hi] = INT_RANGE[field.type];
      if (!Number.isInteger(v) || v < lo || v > hi) {
        throw new RangeError(`${where} must be an integer in ${lo}..${hi}, got ${v}`);
      }
      switch (field.type) {
        case "u8":
          view.setUint8(field.offset, v);
          return;
        case "u16":
          view.setUint16(field.offset, v, little);
          return;
        case "i16":
          view.setInt16(field.offset, v, little);
          return;
        case "u32":
          view.setUint32(field.offset, v, little);
          return;
        case "i32":
          view.setInt32(field.offset, v, little);
          return;
      }
    }
  }
}

function readField(
  field: Field,
  view: DataView,
  bytes: Uint8Array,
): number | bigint | Uint8Array {
  const little = field.order === "host";
  switch (field.type) {
    case "bytes":
      return bytes.slice(field.offset, field.offset + field.size);
    case "u8":
      return view.getUint8(field.offset);
    case "u16":
      return view.getUint16(field.offset, little);
    case "i16":
      return view.getInt16(field.offset, little);
    case "u32":
      return view.getUint32(field.offset, little);
    case "i32":
      return view.getInt32(field.offset, little);
    case "u64":
      return view.getBigUint64(field.offset, little);
    case "i64":
      return view.getBigInt64(field.offset, little);
  }
}

/**
 * Fields of `struct in_addr`.
 *
 * @example
 * ```ts
 * import { type InAddr, in_addr } from "./structs.ts";
 * import { INADDR_LOOPBACK } from "./constants.ts";
 * const addr: InAddr = { s_addr: INADDR_LOOPBACK };
 * in_addr.encode(addr); // Uint8Array [127, 0, 0, 1]
 * ```
 */
export interface InAddr extends Record<string, number | bigint | Uint8Array> {
  /** The address as a host-order number (stored big-endian). */
  s_addr: number;
}
/**
 * `struct in_addr` (4 bytes).
 *
 * @example
 * ```ts
 * import { in_addr } from "./structs.ts";
 * const bytes = new Uint8Array([192, 168, 1, 10]);
 * in_addr.decode(bytes).s_addr.toString(16); // "c0a8010a"
 * ```
 */
export const in_addr: StructLayout<InAddr> = new StructLayout("struct in_addr", 4, [
  ["s_addr", 0, 4, "u32", "network"],
]);

/**
 * Fields of `struct in6_addr`.
 *
 * @example
 * ```ts
 * import { type In6Addr, in6_addr } from "./structs.ts";
 * import { AF_INET6 } from "./constants.ts";
 * import { inet_pton } from "./convert.ts";
 * const addr: In6Addr = { s6_addr: inet_pton(AF_INET6, "::1")! };
 * in6_addr.encode(addr).length; // 16
 * ```
 */
export interface In6Addr extends Record<string, number | bigint | Uint8Array> {
  /** The 16 address bytes, in network order. */
  s6_addr: Uint8Array;
}
/**
 * `struct in6_addr` (16 bytes).
 *
 * @example
 * ```ts
 * import { in6_addr } from "./structs.ts";
 * const loopback = new Uint8Array(16);
 * loopback[15] = 1; // ::1
 * in6_addr.decode(in6_addr.encode({ s6_addr: loopback })).s6_addr[15]; // 1
 * ```
 */
export const in6_addr: StructLayout<In6Addr> = new StructLayout("struct in6_addr", 16, [
  ["s6_addr", 0, 16, "bytes"],
]);

/**
 * Fields of `struct sockaddr_in`.
 *
 * @example
 * ```ts
 * import { type SockaddrIn, sockaddr_in } from "./structs.ts";
 * import { AF_INET, INADDR_ANY } from "./constants.ts";
 * const addr: Partial<SockaddrIn> = { sin_family: AF_INET, sin_port: 8080, sin_addr: INADDR_ANY };
 * const bytes = sockaddr_in.encode(addr); // ready for bind(fd, bytes, 16)
 * ```
 */
export interface SockaddrIn extends Record<string, number | bigint | Uint8Array> {
  /** `AF_INET`. */
  sin_family: number;
  /** The port, 0..65535 (stored big-endian). */
  sin_port: number;
  /** The address as a host-order number, e.g. `INADDR_LOOPBACK` (stored big-endian). */
  sin_addr: number;
  /** Padding, always zero when encoded. */
  sin_zero: Uint8Array;
}
/**
 * `struct sockaddr_in` (16 bytes): family, port, address, zero padding.
 *
 * @example
 * ```ts
 * import { sockaddr_in } from "./structs.ts";
 * import { AF_INET, INADDR_LOOPBACK } from "./constants.ts";
 * const bytes = sockaddr_in.encode({ sin_family: AF_INET, sin_port: 80, sin_addr: INADDR_LOOPBACK });
 * bytes.subarray(2, 4); // Uint8Array [0, 80]: the port, big-endian
 * ```
 */
export const sockaddr_in: StructLayout<SockaddrIn> = new StructLayout(
  "struct sockaddr_in",
  16,
  [
    ["sin_family", 0, 2, "u16"],
    ["sin_port", 2, 2, "u16", "network"],
    ["sin_addr", 4, 4, "u32", "network"],
    ["sin_zero", 8, 8, "bytes"],
  ],
);

/**
 * Fields of `struct sockaddr_in6`.
 *
 * @example
 * ```ts
 * import { type SockaddrIn6, sockaddr_in6 } from "./structs.ts";
 * import { AF_INET6 } from "./constants.ts";
 * const any: Partial<SockaddrIn6> = { sin6_family: AF_INET6, sin6_port: 443 }; // [::]:443
 * sockaddr_in6.encode(any).length; // 28
 * ```
 */
export interface SockaddrIn6 extends Record<string, number | bigint | Uint8Array> {
  /** `AF_INET6`. */
  sin6_family: number;
  /** The port (stored big-endian). */
  sin6_port: number;
  /** Flow label (stored big-endian). */
  sin6_flowinfo: number;
  /** The 16 address bytes. */
  sin6_addr: Uint8Array;
  /** Interface index for link-local addresses. */
  sin6_scope_id: number;
}
/**
 * `struct sockaddr_in6` (28 bytes).
 *
 * @example
 * ```ts
 * import { sockaddr_in6 } from "./structs.ts";
 * import { AF_INET6 } from "./constants.ts";
 * import { inet_pton } from "./convert.ts";
 * const sin6_addr = inet_pton(AF_INET6, "::1")!;
 * const bytes = sockaddr_in6.encode({ sin6_family: AF_INET6, sin6_port: 8080, sin6_addr });
 * sockaddr_in6.decode(bytes).sin6_port; // 8080
 * ```
 */
export const sockaddr_in6: StructLayout<SockaddrIn6> = new StructLayout(
  "struct sockaddr_in6",
  28,
  [
    ["sin6_family", 0, 2, "u16"],
    ["sin6_port", 2, 2, "u16", "network"],
    ["sin6_flowinfo", 4, 4, "u32", "network"],
    ["sin6_addr", 8, 16, "bytes"],
    ["sin6_scope_id", 24, 4, "u32"],
  ],
);

/**
 * Size of `sun_path` in `struct sockaddr_un`.
 *
 * @example
 * ```ts
 * import { SUN_PATH_SIZE } from "./structs.ts";
 * const path = new TextEncoder().encode("/tmp/app.sock");
 * if (path.length >= SUN_PATH_SIZE) throw new RangeError("socket path too long");
 * ```
 */
export const SUN_PATH_SIZE = 108;

/**
 * Fields of `struct sockaddr_un`.
 *
 * @example
 * ```ts
 * import { type SockaddrUn, sockaddr_un } from "./structs.ts";
 * import { AF_UNIX } from "./constants.ts";
 * const sun_path = new TextEncoder().encode("/tmp/app.sock");
 * const addr: SockaddrUn = { sun_family: AF_UNIX, sun_path };
 * sockaddr_un.encode(addr).length; // 110, the path NUL-padded
 * ```
 */
export interface SockaddrUn extends Record<string, number | bigint | Uint8Array> {
  /** `AF_UNIX`. */
  sun_family: number;
  /** The path bytes (a leading zero byte makes a Linux abstract name). */
  sun_path: Uint8Array;
}
/**
 * `struct sockaddr_un` (110 bytes).
 *
 * @example
 * ```ts
 * import { sockaddr_un } from "./structs.ts";
 * import { AF_UNIX } from "./constants.ts";
 * const sun_path = new TextEncoder().encode("\0my-service"); // a Linux abstract name
 * const bytes = sockaddr_un.encode({ sun_family: AF_UNIX, sun_path });
 * const addrlen = 2 + sun_path.length; // pass this to bind/connect, not 110
 * ```
 */
export const sockaddr_un: StructLayout<SockaddrUn> = new StructLayout(
  "struct sockaddr_un",
  110,
  [
    ["sun_family", 0, 2, "u16"],
    ["sun_path", 2, SUN_PATH_SIZE, "bytes"],
  ],
);

/**
 * Fields common to every `struct sockaddr`.
 *
 * @example
 * ```ts
 * import { type SockaddrStorage, sockaddr_storage } from "./structs.ts";
 * import { AF_INET6 } from "./constants.ts";
 * const fields: SockaddrStorage = { ss_family: AF_INET6 };
 * sockaddr_storage.encode(fields).length; // 128
 * ```
 */
export interface SockaddrStorage extends Record<string, number | bigint | Uint8Array> {
  /** The address family. */
  ss_family: number;
}
/**
 * `struct sockaddr_storage` (128 bytes): large enough for any address.
 *
 * @example
 * ```ts
 * import { sockaddr_in, sockaddr_storage } from "./structs.ts";
 * import { AF_INET } from "./constants.ts";
 * const buf = new Uint8Array(sockaddr_storage.size); // room for any address, as accept() wants
 * sockaddr_in.encode({ sin_family: AF_INET, sin_port: 53 }, buf);
 * sockaddr_storage.decode(buf).ss_family === AF_INET; // true
 * ```
 */
export const sockaddr_storage: StructLayout<SockaddrStorage> = new StructLayout(
  "struct sockaddr_storage",
  128,
  [["ss_family", 0, 2, "u16"]],
);

/**
 * Fields of `struct epoll_event`.
 *
 * @example
 * ```ts
 * import { type EpollEvent, epoll_event } from "./structs.ts";
 * import { EPOLLIN } from "./constants.ts";
 * const event: EpollEvent = { events: EPOLLIN, data: 5n }; // data: the fd
 * const bytes = epoll_event.encode(event); // for epoll_ctl(EPOLL_CTL_ADD)
 * ```
 */
export interface EpollEvent extends Record<string, number | bigint | Uint8Array> {
  /** `EPOLLIN | EPOLLOUT | ...`. */
  events: number;
  /** User data (the module stores the fd). */
  data: bigint;
}
/**
 * `struct epoll_event` as glibc declares it on x86_64: packed, so that 32-bit
 * and 64-bit x86 programs share the kernel's one layout; 12 bytes, `data` at
 * offset 4.
 */
const EPOLL_EVENT_X86_64 = new StructLayout<EpollEvent>("struct epoll_event", 12, [
  ["events", 0, 4, "u32"],
  ["data", 4, 8, "u64"],
]);
/**
 * `struct epoll_event` on aarch64 (and every other non-x86 Linux): naturally
 * aligned, 16 bytes, `data` at offset 8.
 */
const EPOLL_EVENT_AARCH64 = new StructLayout<EpollEvent>("struct epoll_event", 16, [
  ["events", 0, 4, "u32"],
  ["data", 8, 8, "u64"],
]);

/**
 * `struct epoll_event` of the running CPU: 12 bytes on x86_64 (packed,
 * `data` at offset 4), 16 on aarch64 (`data` at offset 8). Size arrays of
 * events with `epoll_event.size`, never a literal.
 *
 * @example
 * ```ts
 * import { epoll_event } from "./structs.ts";
 * import { EPOLLIN, EPOLLOUT } from "./constants.ts";
 * const bytes = epoll_event.encode({ events: EPOLLIN | EPOLLOUT, data: 7n });
 * epoll_event.decode(bytes).data; // 7n
 * const events = new Uint8Array(64 * epoll_event.size); // room for 64 events from epoll_wait
 * ```
 */
export const epoll_event: StructLayout<EpollEvent> = forThisCpu({
  x86_64: EPOLL_EVENT_X86_64,
  aarch64: EPOLL_EVENT_AARCH64,
});

/**
 * Fields of `struct timeval`.
 *
 * @example
 * ```ts
 * import { type Timeval, timeval } from "./structs.ts";
 * const timeout: Timeval = { tv_sec: 1n, tv_usec: 500_000n }; // 1.5 s
 * const bytes = timeval.encode(timeout); // for SO_RCVTIMEO
 * ```
 */
export interface Timeval extends Record<string, number | bigint | Uint8Array> {
  /** Seconds. */
  tv_sec: bigint;
  /** Microseconds. */
  tv_usec: bigint;
}
/**
 * `struct timeval` (16 bytes).
 *
 * @example
 * ```ts
 * import { timeval } from "./structs.ts";
 * const bytes = timeval.encode({ tv_sec: 2n, tv_usec: 0n });
 * timeval.decode(bytes).tv_sec; // 2n
 * ```
 */
export const timeval: StructLayout<Timeval> = new StructLayout("struct timeval", 16, [
  ["tv_sec", 0, 8, "i64"],
  ["tv_usec", 8, 8, "i64"],
]);

/**
 * Fields of `struct linger`.
 *
 * @example
 * ```ts
 * import { type Linger, linger } from "./structs.ts";
 * const value: Linger = { l_onoff: 1, l_linger: 5 }; // close() waits up to 5 s
 * const bytes = linger.encode(value); // for setsockopt(fd, SOL_SOCKET, SO_LINGER, ...)
 * ```
 */
export interface Linger extends Record<string, number | bigint | Uint8Array> {
  /** Non-zero to linger on close. */
  l_onoff: number;
  /** Seconds to linger. */
  l_linger: number;
}
/**
 * `struct linger` (8 bytes).
 *
 * @example
 * ```ts
 * import { linger } from "./structs.ts";
 * linger.decode(linger.encode({ l_onoff: 1, l_linger: 10 })).l_linger; // 10
 * ```
 */
export const linger: StructLayout<Linger> = new StructLayout("struct linger", 8, [
  ["l_onoff", 0, 4, "i32"],
  ["l_linger", 4, 4, "i32"],
]);

/**
 * Fields of `struct ip_mreq`.
 *
 * @example
 * ```ts
 * import { type IpMreq, ip_mreq } from "./structs.ts";
 * import { INADDR_ANY } from "./constants.ts";
 * const join: IpMreq = { imr_multiaddr: 0xef010203, imr_interface: INADDR_ANY }; // 239.1.2.3
 * const bytes = ip_mreq.encode(join); // for IP_ADD_MEMBERSHIP
 * ```
 */
export interface IpMreq extends Record<string, number | bigint | Uint8Array> {
  /** Multicast group, host-order number (stored big-endian). */
  imr_multiaddr: number;
  /** Local interface address, host-order number (stored big-endian). */
  imr_interface: number;
}
/**
 * `struct ip_mreq` (8 bytes).
 *
 * @example
 * ```ts
 * import { ip_mreq } from "./structs.ts";
 * import { INADDR_ANY } from "./constants.ts";
 * const bytes = ip_mreq.encode({ imr_multiaddr: 0xef010203, imr_interface: INADDR_ANY });
 * bytes.subarray(0, 4); // Uint8Array [239, 1, 2, 3]
 * ```
 */
export const ip_mreq: StructLayout<IpMreq> = new StructLayout("struct ip_mreq", 8, [
  ["imr_multiaddr", 0, 4, "u32", "network"],
  ["imr_interface", 4, 4, "u32", "network"],
]);

/**
 * Fields of `struct ip_mreqn`.
 *
 * @example
 * ```ts
 * import { type IpMreqn, ip_mreqn } from "./structs.ts";
 * import { INADDR_ANY } from "./constants.ts";
 * const join: IpMreqn = { imr_multiaddr: 0xe00000fb, imr_address: INADDR_ANY, imr_ifindex: 0 };
 * ip_mreqn.encode(join).length; // 12
 * ```
 */
export interface IpMreqn extends Record<string, number | bigint | Uint8Array> {
  /** Multicast group (stored big-endian). */
  imr_multiaddr: number;
  /** Local address (stored big-endian). */
  imr_address: number;
  /** Interface index, 0 for any. */
  imr_ifindex: number;
}
/**
 * `struct ip_mreqn` (12 bytes).
 *
 * @example
 * ```ts
 * import { ip_mreqn } from "./structs.ts";
 * // 224.0.0.251 (mDNS) on interface index 2; the missing imr_address becomes 0
 * const bytes = ip_mreqn.encode({ imr_multiaddr: 0xe00000fb, imr_ifindex: 2 });
 * ip_mreqn.decode(bytes).imr_address; // 0
 * ```
 */
export const ip_mreqn: StructLayout<IpMreqn> = new StructLayout("struct ip_mreqn", 12, [
  ["imr_multiaddr", 0, 4, "u32", "network"],
  ["imr_address", 4, 4, "u32", "network"],
  ["imr_ifindex", 8, 4, "i32"],
]);

/**
 * Fields of `struct ipv6_mreq`.
 *
 * @example
 * ```ts
 * import { type Ipv6Mreq, ipv6_mreq } from "./structs.ts";
 * import { AF_INET6 } from "./constants.ts";
 * import { inet_pton } from "./convert.ts";
 * const join: Ipv6Mreq = { ipv6mr_multiaddr: inet_pton(AF_INET6, "ff02::fb")!, ipv6mr_interface: 0 };
 * const bytes = ipv6_mreq.encode(join); // for IPV6_JOIN_GROUP
 * ```
 */
export interface Ipv6Mreq extends Record<string, number | bigint | Uint8Array> {
  /** The 16 bytes of the group address. */
  ipv6mr_multiaddr: Uint8Array;
  /** Interface index, 0 for any. */
  ipv6mr_interface: number;
}
/**
 * `struct ipv6_mreq` (20 bytes).
 *
 * @example
 * ```ts
 * import { ipv6_mreq } from "./structs.ts";
 * import { AF_INET6 } from "./constants.ts";
 * import { inet_pton } from "./convert.ts";
 * const ipv6mr_multiaddr = inet_pton(AF_INET6, "ff02::1")!;
 * ipv6_mreq.encode({ ipv6mr_multiaddr, ipv6mr_interface: 1 }).length; // 20
 * ```
 */
export const ipv6_mreq: StructLayout<Ipv6Mreq> = new StructLayout(
  "struct ipv6_mreq",
  20,
  [
    ["ipv6mr_multiaddr", 0, 16, "bytes"],
    ["ipv6mr_interface", 16, 4, "u32"],
  ],
);

/**
 * Fields of `struct pollfd`.
 *
 * @example
 * ```ts
 * import { type Pollfd, pollfd } from "./structs.ts";
 * import { POLLIN } from "./constants.ts";
 * const entry: Pollfd = { fd: 0, events: POLLIN, revents: 0 };
 * const bytes = pollfd.encode(entry); // one element of poll()'s array
 * ```
 */
export interface Pollfd extends Record<string, number | bigint | Uint8Array> {
  /** The descriptor. */
  fd: number;
  /** Requested events (`POLLIN`, ...). */
  events: number;
  /** Returned events. */
  revents: number;
}
/**
 * `struct pollfd` (8 bytes).
 *
 * @example
 * ```ts
 * import { pollfd } from "./structs.ts";
 * import { POLLIN, POLLOUT } from "./constants.ts";
 * const fds = new Uint8Array(2 * pollfd.size); // the array poll() takes
 * pollfd.encode({ fd: 3, events: POLLIN }, fds.subarray(0, pollfd.size));
 * pollfd.encode({ fd: 4, events: POLLOUT }, fds.subarray(pollfd.size));
 * ```
 */
export const pollfd: StructLayout<Pollfd> = new StructLayout("struct pollfd", 8, [
  ["fd", 0, 4, "i32"],
  ["events", 4, 2, "i16"],
  ["revents", 6, 2, "i16"],
]);

/**
 * Byte offsets of `struct addrinfo` (48 bytes on 64-bit Linux).
 *
 * @example
 * ```ts
 * import { ADDRINFO } from "./structs.ts";
 * const entry = new Uint8Array(ADDRINFO.size); // e.g. copied from getaddrinfo's list
 * const view = new DataView(entry.buffer);
 * const family = view.getInt32(ADDRINFO.ai_family, true);
 * const addrlen = view.getUint32(ADDRINFO.ai_addrlen, true);
 * ```
 */
export const ADDRINFO: Readonly<
  Record<
    | "size"
    | "ai_flags"
    | "ai_family"
    | "ai_socktype"
    | "ai_protocol"
    | "ai_addrlen"
    | "ai_addr"
    | "ai_canonname"
    | "ai_next",
    number
  >
> = Object.freeze({
  size: 48,
  ai_flags: 0,
  ai_family: 4,
  ai_socktype: 8,
  ai_protocol: 12,
  ai_addrlen: 16,
  ai_addr: 24,
  ai_canonname: 32,
  ai_next: 40,
});

/**
 * Every struct layout this file declares, for one architecture.
 *
 * @example
 * ```ts
 * import { type Layouts, layoutsFor } from "./structs.ts";
 * const mine: Layouts = layoutsFor(Deno.build.arch);
 * mine.sockaddr_in.size; // 16
 * ```
 */
export interface Layouts {
  /** `struct in_addr`. */
  readonly in_addr: StructLayout<InAddr>;
  /** `struct in6_addr`. */
  readonly in6_addr: StructLayout<In6Addr>;
  /** `struct sockaddr_in`. */
  readonly sockaddr_in: StructLayout<SockaddrIn>;
  /** `struct sockaddr_in6`. */
  readonly sockaddr_in6: StructLayout<SockaddrIn6>;
  /** `struct sockaddr_un`. */
  readonly sockaddr_un: StructLayout<SockaddrUn>;
  /** `struct sockaddr_storage`. */
  readonly sockaddr_storage: StructLayout<SockaddrStorage>;
  /** `struct epoll_event`: the one layout that differs between x86_64 and aarch64. */
  readonly epoll_event: StructLayout<EpollEvent>;
  /** `struct timeval`. */
  readonly timeval: StructLayout<Timeval>;
  /** `struct linger`. */
  readonly linger: StructLayout<Linger>;
  /** `struct ip_mreq`. */
  readonly ip_mreq: StructLayout<IpMreq>;
  /** `struct ip_mreqn`. */
  readonly ip_mreqn: StructLayout<IpMreqn>;
  /** `struct ipv6_mreq`. */
  readonly ipv6_mreq: StructLayout<Ipv6Mreq>;
  /** `struct pollfd`. */
  readonly pollfd: StructLayout<Pollfd>;
}

function layoutSet(epollEvent: StructLayout<EpollEvent>): Layouts {
  return Object.freeze({
    in_addr,
    in6_addr,
    sockaddr_in,
    sockaddr_in6,
    sockaddr_un,
    sockaddr_storage,
    epoll_event: epollEvent,
    timeval,
    linger,
    ip_mreq,
    ip_mreqn,
    ipv6_mreq,
    pollfd,
  });
}

const LAYOUTS: Readonly<Record<Arch, Layouts>> = Object.freeze({
  x86_64: layoutSet(EPOLL_EVENT_X86_64),
  aarch64: layoutSet(EPOLL_EVENT_AARCH64),
});

/**
 * The struct layouts of Linux (glibc) on `arch`, whichever CPU runs this:
 * for tests that check every architecture's declarations on one machine,
 * and for code that builds bytes for another machine. The module's own
 * exports (`epoll_event`, `sockaddr_in`, ...) are `layoutsFor(Deno.build.arch)`.
 *
 * @param arch `"x86_64"` or `"aarch64"`.
 * @returns that architecture's layouts (frozen).
 * @throws {TypeError} when `arch` is not a string.
 * @throws {RangeError} when no layouts are declared for `arch`.
 * @example
 * ```ts
 * import { layoutsFor } from "./structs.ts";
 * layoutsFor("x86_64").epoll_event.field("data").offset; // 4 (packed)
 * layoutsFor("aarch64").epoll_event.field("data").offset; // 8
 * ```
 */
export function layoutsFor(arch: Arch): Layouts {
  if (typeof arch !== "string") {
    throw new TypeError(`arch must be a string, got ${arch === null ? "null" : typeof arch}`);
  }
  if (!(ARCHES as readonly string[]).includes(arch)) {
    throw new RangeError(`no struct layouts for ${arch} (only ${ARCHES.join(", ")})`);
  }
  return LAYOUTS[arch];
}
