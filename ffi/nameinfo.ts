/**
 * Address-to-name translation through libc's `getnameinfo`, blocking or on a
 * helper thread (a reverse lookup may go to DNS), as `getaddrinfo` has in
 * `resolve.ts`; and the `NI_*` flags.
 *
 * @module
 */

import { checkInt, plainView } from "./checks.ts";
import { AF_INET, AF_INET6 } from "./constants.ts";
import { inet_ntop } from "./convert.ts";
import { libc } from "./libc.ts";
import { AddrInfoError } from "./resolve.ts";

/**
 * `getnameinfo` flags (glibc's `<netdb.h>` values): `NI_NUMERICHOST` gives the
 * numeric address instead of a name, `NI_NUMERICSERV` the port number instead
 * of a service name, `NI_NOFQDN` only the host part of a local name,
 * `NI_NAMEREQD` an error (`EAI_NONAME`) instead of the numeric address when no
 * name is found, `NI_DGRAM` the UDP service name (where it differs from TCP's),
 * `NI_IDN` the name decoded from IDNA.
 *
 * @category Lookups
 * @example
 * ```ts
 * import { getnameinfoSync, NI_NUMERICHOST, NI_NUMERICSERV } from "./nameinfo.ts";
 * import { sockaddr_in } from "./structs.ts";
 * import { AF_INET, INADDR_LOOPBACK } from "./constants.ts";
 * const address = sockaddr_in.encode({ sin_family: AF_INET, sin_port: 80, sin_addr: INADDR_LOOPBACK });
 * getnameinfoSync(address, NI_NUMERICHOST | NI_NUMERICSERV); // { host: "127.0.0.1", service: "80" }
 * ```
 */
export const NI_NUMERICHOST = 1,
  NI_NUMERICSERV = 2,
  NI_NOFQDN = 4,
  NI_NAMEREQD = 8,
  NI_DGRAM = 16,
  NI_IDN = 32;

/**
 * The largest host name (`NI_MAXHOST`, with its NUL) and service name
 * (`NI_MAXSERV`) `getnameinfo` writes; the buffers used here are this big.
 *
 * @category Lookups
 * @example
 * ```ts
 * import { NI_MAXHOST, NI_MAXSERV } from "./nameinfo.ts";
 * console.log(NI_MAXHOST, NI_MAXSERV); // 1025 32
 * ```
 */
export const NI_MAXHOST = 1025, NI_MAXSERV = 32;

/**
 * What `getnameinfo` found for an address: the host (a name, or the numeric
 * address) and the service (a name such as `"http"`, or the port number).
 *
 * @category Lookups
 * @example
 * ```ts
 * import { getnameinfoSync, type NameInfo, NI_NUMERICHOST } from "./nameinfo.ts";
 * import { sockaddr_in } from "./structs.ts";
 * import { AF_INET, INADDR_LOOPBACK } from "./constants.ts";
 * const address = sockaddr_in.encode({ sin_family: AF_INET, sin_port: 22, sin_addr: INADDR_LOOPBACK });
 * const info: NameInfo = getnameinfoSync(address, NI_NUMERICHOST);
 * info.service; // "ssh"
 * ```
 */
export interface NameInfo {
  /** The host name, or the numeric address (`NI_NUMERICHOST`, or when no name is found). */
  host: string;
  /** The service name, or the port number as text (`NI_NUMERICSERV`, or when it has no name). */
  service: string;
}

/**
 * A failed `getnameinfo`: `code` is the `EAI_*` value (an {@linkcode AddrInfoError}, so one
 * `catch` handles both lookups), `message` from `gai_strerror`, `hostname` the numeric address.
 *
 * @category Lookups
 * @example
 * ```ts
 * import { getnameinfoSync, NameInfoError, NI_NAMEREQD, NI_NUMERICSERV } from "./nameinfo.ts";
 * import { sockaddr_in } from "./structs.ts";
 * import { AF_INET } from "./constants.ts";
 * try {
 *   // A family getnameinfo does not know fails at once, without any lookup.
 *   const address = sockaddr_in.encode({ sin_family: AF_INET, sin_port: 1, sin_addr: 0 });
 *   address[0] = 99;
 *   getnameinfoSync(address, NI_NAMEREQD | NI_NUMERICSERV);
 * } catch (e) {
 *   if (e instanceof NameInfoError) console.log(e.code); // -6: EAI_FAMILY
 * }
 * ```
 */
export class NameInfoError extends AddrInfoError {
  /**
   * Creates the error; the message comes from `gai_strerror`.
   *
   * @param code the `EAI_*` code.
   * @param address the address looked up, as text.
   */
  constructor(code: number, address: string) {
    if (typeof address !== "string") throw new TypeError("address must be a string");
    super(code, address);
    this.name = "NameInfoError";
    this.message = this.message.replace(/^getaddrinfo/, "getnameinfo");
  }
}

// sockaddr_storage.
const SOCKADDR_MAX = 128;
const decoder = new TextDecoder();

interface PreparedNameInfo {
  address: Uint8Array;
  host: Uint8Array;
  service: Uint8Array;
  flags: number;
  text: string;
}

/** The address as text for messages: `127.0.0.1:80`, `[::1]:22`, or its family. */
function describeAddress(address: Uint8Array): string {
  const view = new DataView(address.buffer, address.byteOffset, address.byteLength);
  const family = address.byteLength >= 2 ? view.getUint16(0, true) : -1;
  try {
    if (family === AF_INET && address.byteLength >= 16) {
      return `${inet_ntop(AF_INET, address.subarray(4, 8))}:${view.getUint16(2)}`;
    }
    if (family === AF_INET6 && address.byteLength >= 28) {
      const scope = view.getUint32(24, true);
      const ip = inet_ntop(AF_INET6, address.subarray(8, 24));
      return `[${ip}${scope ? `%${scope}` : ""}]:${view.getUint16(2)}`;
    }
  } catch {
    // fall through to the family
  }
  return `family ${family}, ${address.byteLength} bytes`;
}

function prepare(address: Uint8Array, flags: number): PreparedNameInfo {
  const bytes = plainView(address, "address");
  if (bytes.byteLength < 2 || bytes.byteLength > SOCKADDR_MAX) {
    throw new RangeError(
      `address must be a sockaddr of 2..${SOCKADDR_MAX} bytes, got ${bytes.byteLength}`,
    );
  }
  const checkedFlags = checkInt(flags, "flags");
  // A copy: the caller may reuse its buffer while the helper thread reads ours.
  const copy = new Uint8Array(bytes);
  return {
    address: copy,
    host: new Uint8Array(NI_MAXHOST),
    service: new Uint8Array(NI_MAXSERV),
    flags: checkedFlags,
    text: describeAddress(copy),
  };
}

function cText(buffer: Uint8Array): string {
  const nul = buffer.indexOf(0);
  return decoder.decode(nul === -1 ? buffer : buffer.subarray(0, nul));
}

function collect(rc: number, args: PreparedNameInfo): NameInfo {
  // EAI_SYSTEM's detail is in errno, which a helper thread's call leaves out of reach.
  if (rc !== 0) throw new NameInfoError(rc, args.text);
  return { host: cText(args.host), service: cText(args.service) };
}

/**
 * `getnameinfo(3)`: the host and service names of a socket address. Runs on a
 * helper thread, as a reverse lookup may query DNS.
 *
 * A lookup cannot be cancelled once it runs: with `signal`, an abort rejects
 * at once with `signal.reason`, and the lookup is left to finish on its thread.
 *
 * @category Lookups
 * @param address an encoded `struct sockaddr_in`/`sockaddr_in6` (2..128 bytes).
 * @param flags `NI_*` flags, or-ed (default 0).
 * @param signal rejects the lookup early when aborted.
 * @returns the host and the service.
 * @throws {NameInfoError} when the lookup fails (`EAI_NONAME` under `NI_NAMEREQD`, `EAI_FAMILY`...).
 * @throws {TypeError | RangeError} on a bad address or flags, before libc is called.
 * @example
 * ```ts
 * import { getnameinfo, NI_NUMERICHOST, NI_NUMERICSERV } from "./nameinfo.ts";
 * import { sockaddr_in6 } from "./structs.ts";
 * import { AF_INET6, inet_pton } from "./mod.ts";
 * const address = sockaddr_in6.encode({
 *   sin6_family: AF_INET6,
 *   sin6_port: 443,
 *   sin6_flowinfo: 0,
 *   sin6_addr: inet_pton(AF_INET6, "::1")!,
 *   sin6_scope_id: 0,
 * });
 * await getnameinfo(address, NI_NUMERICHOST | NI_NUMERICSERV); // { host: "::1", service: "443" }
 * ```
 */
export function getnameinfo(
  address: Uint8Array,
  flags = 0,
  signal?: AbortSignal,
): Promise<NameInfo> {
  try {
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError("signal must be an AbortSignal");
    }
    signal?.throwIfAborted();
    const args = prepare(address, flags);
    // The closure keeps the buffers alive while the helper thread writes them.
    const lookup = libc().getnameinfo(
      args.address,
      args.address.byteLength,
      args.host,
      args.host.byteLength,
      args.service,
      args.service.byteLength,
      args.flags,
    ).then((rc) => collect(rc, args));
    if (signal === undefined) return lookup;
    return new Promise<NameInfo>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      lookup.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * `getnameinfo(3)` on the calling thread: blocks it until the lookup ends.
 * With `NI_NUMERICHOST` (and `NI_NUMERICSERV`) nothing is looked up, and for
 * names in `/etc/hosts` it is immediate; prefer {@linkcode getnameinfo}
 * for anything that may go to DNS.
 *
 * @category Lookups
 * @param address an encoded `struct sockaddr_in`/`sockaddr_in6` (2..128 bytes).
 * @param flags `NI_*` flags, or-ed (default 0).
 * @returns the host and the service.
 * @throws {NameInfoError} when the lookup fails.
 * @throws {TypeError | RangeError} on a bad address or flags, before libc is called.
 * @example
 * ```ts
 * import { getnameinfoSync, NI_DGRAM, NI_NUMERICHOST } from "./nameinfo.ts";
 * import { sockaddr_in } from "./structs.ts";
 * import { AF_INET, INADDR_LOOPBACK } from "./constants.ts";
 * const address = sockaddr_in.encode({ sin_family: AF_INET, sin_port: 53, sin_addr: INADDR_LOOPBACK });
 * getnameinfoSync(address, NI_NUMERICHOST | NI_DGRAM).service; // "domain"
 * ```
 */
export function getnameinfoSync(address: Uint8Array, flags = 0): NameInfo {
  const args = prepare(address, flags);
  const rc = libc().getnameinfo_sync(
    args.address,
    args.address.byteLength,
    args.host,
    args.host.byteLength,
    args.service,
    args.service.byteLength,
    args.flags,
  );
  return collect(rc, args);
}
