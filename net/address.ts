/**
 * Host names to IP endpoints: numeric addresses parsed directly, anything
 * else resolved with `getaddrinfo`, and the net permission checked on the
 * name as written and on every address it yields (as Deno 2.9 does). The
 * `sockaddr` encodings live in `net/families/`.
 *
 * @module
 */

import { checkInteger } from "../ffi/checks.ts";
import { AF_INET, AF_INET6, AF_UNSPEC } from "../ffi/constants.ts";
import { inet_pton } from "../ffi/convert.ts";
import { type AddrInfo, AddrInfoError, getaddrinfo, getaddrinfoSync } from "../ffi/resolve.ts";
import { decodeIp, type IpEndpoint } from "./families/mod.ts";
import { validateHostname } from "./hostname.ts";
import { checkNet, checkNetAddress } from "./permissions.ts";

export type { IpEndpoint };

/**
 * Checks a port number as Deno does.
 *
 * @param port the value.
 * @param name the option name.
 * @returns the port.
 * @throws {TypeError | RangeError} when not an integer in 0..65535.
 */
export function checkPort(port: unknown, name = "port"): number {
  return checkInteger(port, name, 0, 65535);
}

/**
 * A port option as `Deno.listen`/`Deno.connect` take it: a number or a
 * numeric string; a server may omit it (any free port, 0), a client may
 * not, and may not connect to port 0. Deno's messages, word for word.
 *
 * @param maybePort the option as given.
 * @param isServer whether the port is one to bind.
 * @returns the port.
 * @throws {TypeError} for a missing, non-numeric or non-integer port.
 * @throws {RangeError} for a port out of range.
 * @example
 * ```ts
 * import { optionPort } from "./address.ts";
 * optionPort("8080", false); // 8080
 * optionPort(undefined, true); // 0: any free port
 * ```
 */
export function optionPort(maybePort: unknown, isServer: boolean): number {
  if (isServer && (maybePort === null || maybePort === undefined)) maybePort = 0;
  if (typeof maybePort !== "number" && typeof maybePort !== "string") {
    throw new TypeError(`Invalid port (expected number): ${String(maybePort)}`);
  }
  if (maybePort === "") throw new TypeError("Invalid port: ''");
  const port = Number(maybePort);
  if (!Number.isInteger(port)) {
    throw new TypeError(
      Number.isNaN(port) && !Number.isNaN(maybePort)
        ? `Invalid port: '${maybePort}'`
        : `Invalid port: ${maybePort}`,
    );
  }
  if (port < (isServer ? 0 : 1) || port > 65535) {
    throw new RangeError(`Invalid port (out of range): ${maybePort}`);
  }
  return port === 0 ? 0 : port; // never -0
}

/** Strips the brackets of `"[::1]"`. */
function unbracket(hostname: string): string {
  return hostname.length > 1 && hostname[0] === "[" && hostname[hostname.length - 1] === "]"
    ? hostname.slice(1, -1)
    : hostname;
}

/**
 * Parses a numeric IPv4 or IPv6 address (IPv6 with optional brackets and
 * `%scope`), without any lookup. Only the strict forms count: `127.1` or
 * `0x7f000001` are names (libc resolves them), `[127.0.0.1]` and anything
 * holding a NUL are not addresses at all.
 *
 * @param hostname the text.
 * @returns family and bytes, or null when it is not a numeric address.
 * @example
 * ```ts
 * import { parseNumericHost } from "./address.ts";
 * parseNumericHost("[::1]")?.family; // 10 (AF_INET6)
 * parseNumericHost("[127.0.0.1]"); // null
 * ```
 */
export function parseNumericHost(
  hostname: string,
): { family: number; address: Uint8Array; scopeId?: number } | null {
  // inet_pton reads a C string: "127.0.0.1\0.evil" would be 127.0.0.1.
  if (typeof hostname !== "string" || hostname.includes("\0")) return null;
  const host = unbracket(hostname);
  const bracketed = host !== hostname;
  const v4 = bracketed ? null : inet_pton(AF_INET, host);
  if (v4) return { family: AF_INET, address: v4 };
  let text = host;
  let scopeId: number | undefined;
  const percent = host.indexOf("%");
  if (percent !== -1) {
    text = host.slice(0, percent);
    const scope = host.slice(percent + 1);
    if (!/^\d+$/.test(scope)) return null;
    scopeId = Number(scope);
    if (scopeId > 0xffffffff) return null;
  }
  const v6 = inet_pton(AF_INET6, text);
  if (v6) {
    return scopeId === undefined
      ? { family: AF_INET6, address: v6 }
      : { family: AF_INET6, address: v6, scopeId };
  }
  return null;
}

/**
 * Resolves a host name to IP endpoints as Deno does before it connects,
 * binds or sends: the hostname validated (`validateHostname`), checked as
 * written (`checkNet`), resolved (numeric addresses directly, anything else
 * with `getaddrinfo`, which also reads `127.1`-style forms), and the
 * address checked against the deny list (`checkNetAddress`).
 *
 * Which addresses are checked follows Deno 2.9: `Deno.connect` races every
 * address a name resolves to (Happy Eyeballs), so for `SOCK_STREAM` every
 * one is checked and any denied one refuses the call; listen, bind and
 * datagram sends use the first address only, so for the others (and in
 * {@linkcode resolveSync}) a denied first address refuses and a later
 * denied one is dropped, so that no fallback reaches it.
 *
 * @param hostname a name or numeric address.
 * @param port the port.
 * @param socktype `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_RAW` (filters duplicates).
 * @param signal aborts the lookup: an aborted signal rejects with its reason
 *   at once; an abort while the name resolves rejects as soon as it fires.
 * @returns the endpoints, in resolver order (never empty).
 * @throws {TypeError} for a hostname Deno refuses.
 * @throws {Deno.errors.NotCapable} when `--allow-net`/`--deny-net` refuse it.
 * @throws {Deno.errors.NotFound} when the name does not resolve.
 * @example
 * ```ts
 * import { resolve } from "./address.ts";
 * const [first] = await resolve("localhost", 80, 1); // 1: SOCK_STREAM
 * first.port; // 80
 * ```
 */
export async function resolve(
  hostname: string,
  port: number,
  socktype: number,
  signal?: AbortSignal,
): Promise<IpEndpoint[]> {
  checkSignal(signal);
  const numeric = numericOrCheck(hostname, port);
  if (numeric) return numeric;
  const entries = await lookup(hostname, socktype, signal);
  return endpointsOf(hostname, entries, port, socktype === 1 /* SOCK_STREAM */);
}

/**
 * {@linkcode resolve} on the calling thread (for `listen`, which is
 * synchronous like `Deno.listen`).
 *
 * @param hostname a name or numeric address.
 * @param port the port.
 * @param socktype `SOCK_STREAM` (the default) or `SOCK_DGRAM`.
 * @returns the endpoints (never empty).
 * @throws {TypeError} for a hostname Deno refuses.
 * @throws {Deno.errors.NotCapable} when `--allow-net`/`--deny-net` refuse it.
 * @throws {Deno.errors.NotFound} when the name does not resolve.
 * @example
 * ```ts
 * import { resolveSync } from "./address.ts";
 * resolveSync("127.0.0.1", 80)[0].address; // Uint8Array [127, 0, 0, 1]
 * ```
 */
export function resolveSync(hostname: string, port: number, socktype = 1): IpEndpoint[] {
  const numeric = numericOrCheck(hostname, port);
  if (numeric) return numeric;
  let entries: AddrInfo[];
  try {
    entries = getaddrinfoSync(hostname, null, { family: AF_UNSPEC, socktype });
  } catch (cause) {
    throw lookupFailed(hostname, cause);
  }
  return endpointsOf(hostname, entries, port, false);
}

/**
 * Resolves a host name with no permission check, for a caller that checks
 * each destination itself once it knows the port (a raw socket: see
 * `checkRawDestination`, which wants the hostname too). The hostname is
 * still validated as Deno validates it.
 *
 * @param hostname a name or numeric address.
 * @param socktype `SOCK_RAW` (3), `SOCK_DGRAM` or `SOCK_STREAM`.
 * @param signal aborts the lookup, as for {@linkcode resolve}.
 * @returns the endpoints, port 0, in resolver order (never empty).
 * @throws {TypeError} for a hostname Deno refuses.
 * @throws {Deno.errors.NotFound} when the name does not resolve.
 * @example
 * ```ts
 * import { resolveUnchecked } from "./address.ts";
 * const [first] = await resolveUnchecked("127.0.0.1", 3);
 * first.address; // Uint8Array [127, 0, 0, 1]
 * ```
 */
export async function resolveUnchecked(
  hostname: string,
  socktype: number,
  signal?: AbortSignal,
): Promise<IpEndpoint[]> {
  checkSignal(signal);
  validateHostname(hostname);
  const numeric = parseNumericHost(hostname);
  if (numeric) return [{ ...numeric, port: 0 }];
  const endpoints = ipEndpoints(await lookup(hostname, socktype, signal), 0);
  if (endpoints.length === 0) throw new Deno.errors.NotFound(`no address found for ${hostname}`);
  return endpoints;
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
  signal?.throwIfAborted();
}

/** The off-thread getaddrinfo, its failure in Deno's words; an abort rejects with its reason. */
async function lookup(
  hostname: string,
  socktype: number,
  signal: AbortSignal | undefined,
): Promise<AddrInfo[]> {
  try {
    return await getaddrinfo(hostname, null, { family: AF_UNSPEC, socktype }, signal);
  } catch (cause) {
    if (signal?.aborted && cause === signal.reason) throw cause;
    throw lookupFailed(hostname, cause);
  }
}

/** The IP endpoints of a resolver's answer, in its order, with `port`. */
function ipEndpoints(entries: AddrInfo[], port: number): IpEndpoint[] {
  const out: IpEndpoint[] = [];
  for (const entry of entries) {
    const decoded = decodeIp(entry.address, entry.address.byteLength);
    if (decoded === null) continue;
    const endpoint: IpEndpoint = { family: decoded.family, address: decoded.address, port };
    if (decoded.scopeId) endpoint.scopeId = decoded.scopeId;
    out.push(endpoint);
  }
  return out;
}

/** Validates and checks the name as written; a numeric address is resolved and checked here. */
function numericOrCheck(hostname: string, port: number): IpEndpoint[] | null {
  validateHostname(hostname);
  checkNet(hostname, port);
  const numeric = parseNumericHost(hostname);
  if (numeric === null) return null;
  checkNetAddress(numeric.family, numeric.address, port);
  return [{ ...numeric, port }];
}

/** Deno's words for a failed lookup, in a `Deno.errors` class. */
function lookupFailed(hostname: string, cause: unknown): Error {
  // A missing --allow-ffi is not a name that failed to resolve: say which flag is missing.
  if (cause instanceof Deno.errors.NotCapable) return cause;
  const detail = cause instanceof AddrInfoError
    ? cause.message.slice(cause.message.indexOf("): ") + 3)
    : (cause as Error)?.message;
  return new Deno.errors.NotFound(
    `failed to lookup address information: ${detail} (${JSON.stringify(hostname)})`,
    { cause },
  );
}

function endpointsOf(
  hostname: string,
  entries: AddrInfo[],
  port: number,
  checkEvery: boolean,
): IpEndpoint[] {
  const out: IpEndpoint[] = [];
  for (const endpoint of ipEndpoints(entries, port)) {
    // An address Deno would use refuses the call when denied; another is only dropped.
    if (out.length === 0 || checkEvery) checkNetAddress(endpoint.family, endpoint.address, port);
    else if (!permittedAddress(endpoint)) continue;
    out.push(endpoint);
  }
  if (out.length === 0) throw new Deno.errors.NotFound(`no address found for ${hostname}`);
  return out;
}

function permittedAddress(endpoint: IpEndpoint): boolean {
  try {
    checkNetAddress(endpoint.family, endpoint.address, endpoint.port);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return false;
    throw error;
  }
}
