/**
 * The typed options issue 13 added, whose set-and-read-back cases live in
 * tests/options_more_test.ts; tests/options_test.ts covers the rest, and the
 * two tables together must cover SOCKET_OPTIONS exactly.
 *
 * @module
 */

/** The names tests/options_more_test.ts covers. */
export const MORE_OPTION_NAMES = [
  "TCP_DEFER_ACCEPT",
  "TCP_FASTOPEN",
  "TCP_FASTOPEN_CONNECT",
  "SO_MARK",
  "SO_INCOMING_CPU",
  "SO_BUSY_POLL",
  "IP_TRANSPARENT",
  "IP_BIND_ADDRESS_NO_PORT",
  "IPV6_FREEBIND",
  "IP_MTU",
] as const;

/** One of {@linkcode MORE_OPTION_NAMES}. */
export type MoreOptionName = typeof MORE_OPTION_NAMES[number];
