/**
 * Host resolution shared by the ping and traceroute examples: a numeric
 * address as given, anything else through libc's `getaddrinfo`.
 *
 * @module
 */

import { AF_INET, AF_INET6, getaddrinfo, inet_ntop, inet_pton } from "../ffi/mod.ts";

/** A resolved target: family and the address as text. */
export interface ResolvedHost {
  /** `AF_INET` or `AF_INET6`. */
  family: number;
  /** The numeric address. */
  address: string;
}

/**
 * Resolves `host` to one address, of `family` when it is not 0.
 *
 * @param host a name or numeric address.
 * @param family `AF_INET`, `AF_INET6`, or 0 for either.
 * @param socktype the socket type to ask the resolver for.
 * @returns the first matching address.
 * @throws {Error} when nothing matches.
 */
export async function resolveHost(
  host: string,
  family: number,
  socktype: number,
): Promise<ResolvedHost> {
  for (const candidate of [AF_INET, AF_INET6]) {
    if ((family === 0 || family === candidate) && inet_pton(candidate, host)) {
      return { family: candidate, address: host };
    }
  }
  const entries = await getaddrinfo(host, null, { family, socktype });
  const entry = entries.find((e) => e.family === AF_INET || e.family === AF_INET6);
  if (!entry) throw new Error(`no address for ${host}`);
  const bytes = entry.family === AF_INET
    ? entry.address.subarray(4, 8)
    : entry.address.subarray(8, 24);
  return { family: entry.family, address: inet_ntop(entry.family, bytes) };
}
