/**
 * The family seam: every address family the ergonomic layer speaks, each
 * owning its `sockaddr` encoding and decoding (derived from the
 * `ffi/structs.ts` layouts), its Deno address shape and its permission
 * check. A new family (vsock, packet, netlink) is one more file here and
 * one more branch in {@linkcode decodeSockaddr}.
 *
 * @module
 */

import { AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC } from "../../ffi/constants.ts";
import { inet_ntop } from "../../ffi/convert.ts";
import { familyOf } from "./family.ts";
import { decodeIp } from "./inet.ts";
import { decodeUnix } from "./unix.ts";

export * from "./family.ts";
export * from "./inet.ts";
export * from "./unix.ts";

/** A decoded socket address of any family the layer knows. */
export interface DecodedSockaddr {
  /** The family. */
  family: number;
  /** IP address bytes. */
  bytes?: Uint8Array;
  /** IP port. */
  port?: number;
  /** IPv6 scope. */
  scopeId?: number;
  /** Unix path (`""` for an unnamed socket, leading `"\0"` for an abstract name). */
  path?: string;
}

/**
 * Decodes the first `length` bytes of a `struct sockaddr_*`.
 *
 * @param bytes the buffer.
 * @param length the length the kernel reported.
 * @returns the decoded fields (only `family` for a family this layer does not know).
 */
export function decodeSockaddr(bytes: Uint8Array, length: number): DecodedSockaddr {
  const family = familyOf(bytes, length);
  if (family === -1) return { family: AF_UNSPEC, path: "" };
  if (family === AF_INET || family === AF_INET6) {
    const ip = decodeIp(bytes, length);
    if (ip === null) return { family };
    return family === AF_INET6
      ? { family, port: ip.port, bytes: ip.address, scopeId: ip.scopeId }
      : { family, port: ip.port, bytes: ip.address };
  }
  if (family === AF_UNIX) return { family, path: decodeUnix(bytes, length) };
  return { family };
}

/**
 * Decoded address fields in Deno's address shape.
 *
 * @param decoded the fields.
 * @param transport the transport to report.
 * @returns a `Deno.NetAddr` or `Deno.UnixAddr`.
 */
export function toDenoAddr(
  decoded: DecodedSockaddr,
  transport: "tcp" | "udp" | "unix" | "unixpacket",
): Deno.NetAddr | Deno.UnixAddr {
  if (decoded.family === AF_INET || decoded.family === AF_INET6) {
    return {
      transport: transport as "tcp" | "udp",
      hostname: inet_ntop(decoded.family, decoded.bytes!),
      port: decoded.port!,
    };
  }
  return { transport: transport as "unix" | "unixpacket", path: decoded.path ?? "" };
}
