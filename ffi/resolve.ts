/**
 * Name resolution through libc's `getaddrinfo`, run on a helper thread (it
 * may block on DNS), with the result list always released by `freeaddrinfo`.
 *
 * @module
 */

import { checkInt } from "./checks.ts";
import { EAI_SYSTEM } from "./constants.ts";
import { cString, libc } from "./libc.ts";
import { ADDRINFO } from "./structs.ts";

/**
 * One entry of a `getaddrinfo` result.
 *
 * @example
 * ```ts
 * import { type AddrInfo, getaddrinfo } from "./resolve.ts";
 * import { AF_INET } from "./constants.ts";
 * const [info]: AddrInfo[] = await getaddrinfo("127.0.0.1", "80", { family: AF_INET });
 * new DataView(info.address.buffer).getUint16(2); // 80: sin_port, network order
 * ```
 */
export interface AddrInfo {
  /** `AF_INET` or `AF_INET6` (or another family the resolver returned). */
  family: number;
  /** `SOCK_STREAM`, `SOCK_DGRAM`, ... */
  socktype: number;
  /** `IPPROTO_TCP`, `IPPROTO_UDP`, ... */
  protocol: number;
  /** The encoded `struct sockaddr_*` (a copy, safe to keep). */
  address: Uint8Array;
  /** The canonical name, when `AI_CANONNAME` was asked and given. */
  canonname?: string;
}

/**
 * Hints for {@linkcode getaddrinfo}; every field defaults to 0 (any).
 *
 * @example
 * ```ts
 * import { type AddrInfoHints, getaddrinfo } from "./resolve.ts";
 * import { AF_UNSPEC, AI_PASSIVE, SOCK_STREAM } from "./constants.ts";
 * const hints: AddrInfoHints = { flags: AI_PASSIVE, family: AF_UNSPEC, socktype: SOCK_STREAM };
 * const wildcards = await getaddrinfo(null, "8080", hints); // addresses to bind
 * ```
 */
export interface AddrInfoHints {
  /** `AI_PASSIVE`, `AI_NUMERICHOST`, `AI_ADDRCONFIG`, ... */
  flags?: number;
  /** `AF_UNSPEC`, `AF_INET` or `AF_INET6`. */
  family?: number;
  /** `SOCK_STREAM`, `SOCK_DGRAM`, ... */
  socktype?: number;
  /** A protocol number. */
  protocol?: number;
}

/**
 * A failed `getaddrinfo`: `code` is the `EAI_*` value, `message` from `gai_strerror`.
 *
 * @example
 * ```ts
 * import { AddrInfoError, AI_NUMERICHOST, getaddrinfo } from "./mod.ts";
 * try {
 *   // AI_NUMERICHOST: a name fails at once, without any DNS query.
 *   await getaddrinfo("example", null, { flags: AI_NUMERICHOST });
 * } catch (e) {
 *   if (e instanceof AddrInfoError) console.log(e.code); // an EAI_* code
 * }
 * ```
 */
export class AddrInfoError extends Error {
  /** The negative `EAI_*` code. */
  readonly code: number;
  /** The name that was looked up. */
  readonly hostname: string | null;
  /**
   * Creates the error; the message comes from `gai_strerror`.
   *
   * @param code the `EAI_*` code.
   * @param hostname the name looked up.
   */
  constructor(code: number, hostname: string | null) {
    // Checked before use: the message interpolates both.
    checkInt(code, "code");
    if (hostname !== null && typeof hostname !== "string") {
      throw new TypeError("hostname must be a string or null");
    }
    super(
      `getaddrinfo(${hostname ?? "NULL"}): ${cString(libc().gai_strerror(code)) ?? code}`,
    );
    this.name = "AddrInfoError";
    this.code = code;
    this.hostname = hostname;
  }
}

const encoder = new TextEncoder();

function cStringBytes(value: string, name: string): Uint8Array {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string`);
  }
  if (value.includes("\0")) throw new TypeError(`${name} must not contain NUL`);
  const bytes = encoder.encode(value + "\0");
  if (bytes.byteLength > 1025) throw new RangeError(`${name} is longer than 1024 bytes`);
  return bytes;
}

/**
 * `getaddrinfo(3)`: resolves a host name and/or service to socket addresses.
 * Runs on a helper thread; the result list is copied out and freed.
 *
 * A lookup cannot be cancelled once it runs: with `signal`, an abort
 * rejects at once with `signal.reason`, and the lookup, left to finish on
 * its thread, frees its result list when it lands.
 *
 * @param node a host name or numeric address, or null.
 * @param service a port number or service name, or null.
 * @param hints optional filters.
 * @param signal rejects the lookup early when aborted.
 * @returns the addresses, in the resolver's order.
 * @throws {AddrInfoError} when the name cannot be resolved.
 * @throws {TypeError | RangeError} on bad arguments (NUL bytes, over-long names).
 * @example
 * ```ts
 * import { AF_INET, getaddrinfo, SOCK_STREAM } from "./mod.ts";
 * const [first] = await getaddrinfo("localhost", "80", { family: AF_INET, socktype: SOCK_STREAM });
 * first.family; // AF_INET
 * ```
 */
export function getaddrinfo(
  node: string | null,
  service: string | null,
  hints: AddrInfoHints = {},
  signal?: AbortSignal,
): Promise<AddrInfo[]> {
  try {
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError("signal must be an AbortSignal");
    }
    signal?.throwIfAborted();
    const args = prepare(node, service, hints);
    // The closure keeps the argument buffers alive while the helper thread reads them.
    const lookup = libc().getaddrinfo(args.node, args.service, args.hints, args.result)
      .then((rc) => collect(rc, node, args.result));
    if (signal === undefined) return lookup;
    return new Promise<AddrInfo[]>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      lookup.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * `getaddrinfo(3)` on the calling thread: blocks it until the lookup ends.
 * For numeric addresses and local names (`/etc/hosts`) that is immediate;
 * prefer {@linkcode getaddrinfo} for anything that may go to DNS.
 *
 * @param node a host name or numeric address, or null.
 * @param service a port number or service name, or null.
 * @param hints optional filters.
 * @returns the addresses, in the resolver's order.
 * @throws {AddrInfoError} when the name cannot be resolved.
 * @example
 * ```ts
 * import { AF_INET, getaddrinfoSync } from "./mod.ts";
 * getaddrinfoSync("127.0.0.1", "80", { family: AF_INET })[0].family; // AF_INET
 * ```
 */
export function getaddrinfoSync(
  node: string | null,
  service: string | null,
  hints: AddrInfoHints = {},
): AddrInfo[] {
  const args = prepare(node, service, hints);
  const rc = libc().getaddrinfo_sync(args.node, args.service, args.hints, args.result);
  return collect(rc, node, args.result);
}

interface PreparedLookup {
  node: Uint8Array | null;
  service: Uint8Array | null;
  hints: Uint8Array;
  result: BigUint64Array;
}

function prepare(
  node: string | null,
  service: string | null,
  hints: AddrInfoHints,
): PreparedLookup {
  if (node === null && service === null) {
    throw new TypeError("getaddrinfo: node and service cannot both be null");
  }
  if (typeof hints !== "object" || hints === null) throw new TypeError("hints must be an object");
  const hintBytes = new Uint8Array(ADDRINFO.size);
  const hv = new DataView(hintBytes.buffer);
  hv.setInt32(ADDRINFO.ai_flags, checkInt(hints.flags ?? 0, "hints.flags"), true);
  hv.setInt32(ADDRINFO.ai_family, checkInt(hints.family ?? 0, "hints.family"), true);
  hv.setInt32(ADDRINFO.ai_socktype, checkInt(hints.socktype ?? 0, "hints.socktype"), true);
  hv.setInt32(ADDRINFO.ai_protocol, checkInt(hints.protocol ?? 0, "hints.protocol"), true);
  return {
    node: node === null ? null : cStringBytes(node, "node"),
    service: service === null ? null : cStringBytes(service, "service"),
    hints: hintBytes,
    result: new BigUint64Array(1),
  };
}

/**
 * Copies the result list out of C memory and frees it. The list is walked
 * by address, with libc's own memcpy and strlen, so that
 * `--allow-ffi=<libc path>` is enough (pointer objects need a plain
 * `--allow-ffi`). Every length read from C memory is bounded before a copy.
 */
function collect(rc: number, node: string | null, resultCell: BigUint64Array): AddrInfo[] {
  if (rc !== 0) {
    // EAI_SYSTEM's detail is in errno, which a helper thread's call leaves out of reach.
    throw new AddrInfoError(rc === EAI_SYSTEM ? EAI_SYSTEM : rc, node);
  }
  const c = libc();
  const head = resultCell[0];
  const out: AddrInfo[] = [];
  const entryBytes = new Uint8Array(ADDRINFO.size);
  const entry = new DataView(entryBytes.buffer);
  try {
    // A resolver's list is short; a cycle or a corrupt list must not loop forever.
    for (let p = head, n = 0; p !== 0n && n < MAX_ENTRIES; n++) {
      c.memcpy_from_address(entryBytes, p, ADDRINFO.size);
      const addrlen = entry.getUint32(ADDRINFO.ai_addrlen, true);
      const addrAt = entry.getBigUint64(ADDRINFO.ai_addr, true);
      const canonAt = entry.getBigUint64(ADDRINFO.ai_canonname, true);
      if (addrlen > SOCKADDR_MAX) {
        throw new RangeError(`getaddrinfo gave a ${addrlen}-byte address`);
      }
      const address = new Uint8Array(addrlen);
      if (addrAt !== 0n && addrlen > 0) c.memcpy_from_address(address, addrAt, addrlen);
      const info: AddrInfo = {
        family: entry.getInt32(ADDRINFO.ai_family, true),
        socktype: entry.getInt32(ADDRINFO.ai_socktype, true),
        protocol: entry.getInt32(ADDRINFO.ai_protocol, true),
        address,
      };
      if (canonAt !== 0n) {
        const name = new Uint8Array(Math.min(c.strlen_address(canonAt), 1025));
        c.memcpy_from_address(name, canonAt, name.byteLength);
        info.canonname = utf8.decode(name);
      }
      out.push(info);
      p = entry.getBigUint64(ADDRINFO.ai_next, true);
    }
  } finally {
    if (head !== 0n) c.freeaddrinfo_address(head);
  }
  return out;
}

// sockaddr_storage; and more entries than any resolver returns.
const SOCKADDR_MAX = 128;
const MAX_ENTRIES = 1024;
const utf8 = new TextDecoder();

/**
 * `if_nametoindex(3)`: the index of a network interface.
 *
 * @param name an interface name such as `"lo"`.
 * @returns the index, or 0 when there is no such interface.
 * @throws {TypeError | RangeError} when `name` is not a string of at most 15 bytes.
 * @example
 * ```ts
 * import { if_nametoindex } from "./mod.ts";
 * if_nametoindex("lo"); // 1 on most Linux systems
 * ```
 */
export function if_nametoindex(name: string): number {
  const bytes = cStringBytes(name, "name");
  if (bytes.byteLength > 16) throw new RangeError("name is longer than IF_NAMESIZE - 1 (15) bytes");
  return libc().if_nametoindex(bytes);
}
