/**
 * Linux option numbers the generated constant tables do not carry yet
 * (`tools/gen_constants.py` reads older headers): values from
 * include/uapi/linux/tcp.h and include/uapi/linux/in6.h, the same on every
 * Linux architecture.
 *
 * @module
 */

/**
 * `TCP_FASTOPEN_CONNECT` (Linux 4.11): a client's `connect` returns at once and
 * the first write goes out with the SYN (a bool, at level `IPPROTO_TCP`).
 *
 * @category Constants
 * @example
 * ```ts
 * import { TCP_FASTOPEN_CONNECT } from "./constants_options.ts";
 * TCP_FASTOPEN_CONNECT; // 30
 * ```
 */
export const TCP_FASTOPEN_CONNECT = 30;

/**
 * `IPV6_FREEBIND` (Linux 4.15): bind an IPv6 address not (yet) assigned to an
 * interface (a bool, at level `IPPROTO_IPV6`).
 *
 * @category Constants
 * @example
 * ```ts
 * import { IPV6_FREEBIND } from "./constants_options.ts";
 * IPV6_FREEBIND; // 78
 * ```
 */
export const IPV6_FREEBIND = 78;
