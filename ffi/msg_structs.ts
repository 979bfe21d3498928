/**
 * Declared layouts of the message calls (`sendmsg(2)`, `recvmsg(2)`):
 * `struct iovec`, `struct msghdr`, `struct cmsghdr`, and the payloads of the
 * control messages the module decodes (`struct ucred`, `struct in_pktinfo`,
 * `struct in6_pktinfo`), with glibc's `CMSG_ALIGN`, `CMSG_SPACE`,
 * `CMSG_LEN`, `CMSG_FIRSTHDR` and `CMSG_NXTHDR` as pure functions over
 * offsets into a control buffer.
 *
 * The layouts are those of glibc on 64-bit Linux (x86_64 and aarch64 agree:
 * pointers and `size_t` are 8 bytes, `cmsghdr` data is aligned to 8).
 *
 * @module
 */

import { byteLengthOf, checkInteger, plainView } from "./checks.ts";
import { StructLayout } from "./structs.ts";

// The largest payload length the CMSG_* arithmetic takes: it stays an exact integer.
const CMSG_MAX = 0x7fffffff - 64;

/**
 * Fields of `struct iovec`.
 *
 * @category Messages
 * @example
 * ```ts
 * import { type Iovec, iovec } from "./msg_structs.ts";
 * const v: Iovec = { iov_base: 0n, iov_len: 0n };
 * iovec.encode(v).length; // 16
 * ```
 */
export interface Iovec extends Record<string, number | bigint | Uint8Array> {
  /** The buffer's address. */
  iov_base: bigint;
  /** The buffer's length in bytes. */
  iov_len: bigint;
}
/**
 * `struct iovec` (16 bytes): one scatter/gather buffer.
 *
 * @category Messages
 * @example
 * ```ts
 * import { iovec } from "./msg_structs.ts";
 * iovec.decode(iovec.encode({ iov_len: 5n })).iov_len; // 5n
 * ```
 */
export const iovec: StructLayout<Iovec> = new StructLayout("struct iovec", 16, [
  ["iov_base", 0, 8, "u64"],
  ["iov_len", 8, 8, "u64"],
]);

/**
 * Fields of `struct msghdr`.
 *
 * @category Messages
 * @example
 * ```ts
 * import { type Msghdr, msghdr } from "./msg_structs.ts";
 * const m: Partial<Msghdr> = { msg_iovlen: 0n, msg_flags: 0 };
 * msghdr.encode(m).length; // 56
 * ```
 */
export interface Msghdr extends Record<string, number | bigint | Uint8Array> {
  /** Address of the peer address buffer (or 0). */
  msg_name: bigint;
  /** Its length (`socklen_t`). */
  msg_namelen: number;
  /** Address of the `iovec` array. */
  msg_iov: bigint;
  /** How many `iovec`s. */
  msg_iovlen: bigint;
  /** Address of the control (ancillary data) buffer (or 0). */
  msg_control: bigint;
  /** Its length. */
  msg_controllen: bigint;
  /** Flags the kernel reports on receive (`MSG_TRUNC`, `MSG_CTRUNC`, ...). */
  msg_flags: number;
}
/**
 * `struct msghdr` (56 bytes).
 *
 * @category Messages
 * @example
 * ```ts
 * import { msghdr } from "./msg_structs.ts";
 * msghdr.field("msg_controllen").offset; // 40
 * ```
 */
export const msghdr: StructLayout<Msghdr> = new StructLayout("struct msghdr", 56, [
  ["msg_name", 0, 8, "u64"],
  ["msg_namelen", 8, 4, "u32"],
  ["msg_iov", 16, 8, "u64"],
  ["msg_iovlen", 24, 8, "u64"],
  ["msg_control", 32, 8, "u64"],
  ["msg_controllen", 40, 8, "u64"],
  ["msg_flags", 48, 4, "i32"],
]);

/**
 * Fields of `struct cmsghdr`.
 *
 * @category Messages
 * @example
 * ```ts
 * import { type Cmsghdr, cmsghdr } from "./msg_structs.ts";
 * const h: Cmsghdr = { cmsg_len: 20n, cmsg_level: 1, cmsg_type: 1 };
 * cmsghdr.encode(h).length; // 16
 * ```
 */
export interface Cmsghdr extends Record<string, number | bigint | Uint8Array> {
  /** Header plus data length (`CMSG_LEN(data)`), not including trailing padding. */
  cmsg_len: bigint;
  /** The protocol level (`SOL_SOCKET`, `IPPROTO_IP`, ...). */
  cmsg_level: number;
  /** The type within the level (`SCM_RIGHTS`, `IP_PKTINFO`, ...). */
  cmsg_type: number;
}
/**
 * `struct cmsghdr` (16 bytes), the header of each control message.
 *
 * @category Messages
 * @example
 * ```ts
 * import { cmsghdr } from "./msg_structs.ts";
 * cmsghdr.field("cmsg_type").offset; // 12
 * ```
 */
export const cmsghdr: StructLayout<Cmsghdr> = new StructLayout("struct cmsghdr", 16, [
  ["cmsg_len", 0, 8, "u64"],
  ["cmsg_level", 8, 4, "i32"],
  ["cmsg_type", 12, 4, "i32"],
]);

/**
 * Fields of `struct ucred` (`SO_PEERCRED`, `SCM_CREDENTIALS`).
 *
 * @category Messages
 * @example
 * ```ts
 * import { type Ucred, ucred } from "./msg_structs.ts";
 * const me: Ucred = { pid: Deno.pid, uid: 0, gid: 0 };
 * ucred.decode(ucred.encode(me)).pid === Deno.pid; // true
 * ```
 */
export interface Ucred extends Record<string, number | bigint | Uint8Array> {
  /** Process id. */
  pid: number;
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
}
/**
 * `struct ucred` (12 bytes).
 *
 * @category Messages
 * @example
 * ```ts
 * import { ucred } from "./msg_structs.ts";
 * ucred.size; // 12
 * ```
 */
export const ucred: StructLayout<Ucred> = new StructLayout("struct ucred", 12, [
  ["pid", 0, 4, "i32"],
  ["uid", 4, 4, "u32"],
  ["gid", 8, 4, "u32"],
]);

/**
 * Fields of `struct in_pktinfo` (`IP_PKTINFO`). Addresses are host-order
 * numbers, as in `sockaddr_in` (the layout stores them big-endian).
 *
 * @category Messages
 * @example
 * ```ts
 * import { type InPktinfo, in_pktinfo } from "./msg_structs.ts";
 * const p: InPktinfo = { ipi_ifindex: 1, ipi_spec_dst: 0x7f000001, ipi_addr: 0x7f000002 };
 * in_pktinfo.encode(p).length; // 12
 * ```
 */
export interface InPktinfo extends Record<string, number | bigint | Uint8Array> {
  /** Interface index. */
  ipi_ifindex: number;
  /** Local address (on receive: the address the route chose; on send: the source). */
  ipi_spec_dst: number;
  /** Header destination address (on receive). */
  ipi_addr: number;
}
/**
 * `struct in_pktinfo` (12 bytes).
 *
 * @category Messages
 * @example
 * ```ts
 * import { in_pktinfo } from "./msg_structs.ts";
 * in_pktinfo.field("ipi_addr").offset; // 8
 * ```
 */
export const in_pktinfo: StructLayout<InPktinfo> = new StructLayout("struct in_pktinfo", 12, [
  ["ipi_ifindex", 0, 4, "i32"],
  ["ipi_spec_dst", 4, 4, "u32", "network"],
  ["ipi_addr", 8, 4, "u32", "network"],
]);

/**
 * Fields of `struct in6_pktinfo` (`IPV6_PKTINFO`).
 *
 * @category Messages
 * @example
 * ```ts
 * import { type In6Pktinfo, in6_pktinfo } from "./msg_structs.ts";
 * const p: In6Pktinfo = { ipi6_addr: new Uint8Array(16), ipi6_ifindex: 1 };
 * in6_pktinfo.encode(p).length; // 20
 * ```
 */
export interface In6Pktinfo extends Record<string, number | bigint | Uint8Array> {
  /** The destination (receive) or source (send) address, 16 bytes. */
  ipi6_addr: Uint8Array;
  /** Interface index. */
  ipi6_ifindex: number;
}
/**
 * `struct in6_pktinfo` (20 bytes).
 *
 * @category Messages
 * @example
 * ```ts
 * import { in6_pktinfo } from "./msg_structs.ts";
 * in6_pktinfo.field("ipi6_ifindex").offset; // 16
 * ```
 */
export const in6_pktinfo: StructLayout<In6Pktinfo> = new StructLayout("struct in6_pktinfo", 20, [
  ["ipi6_addr", 0, 16, "bytes"],
  ["ipi6_ifindex", 16, 4, "u32"],
]);

/**
 * The most descriptors Linux accepts in one `SCM_RIGHTS` message
 * (`SCM_MAX_FD`); the module refuses more before calling the kernel.
 *
 * @category Messages
 * @example
 * ```ts
 * import { SCM_MAX_FD } from "./msg_structs.ts";
 * SCM_MAX_FD; // 253
 * ```
 */
export const SCM_MAX_FD: number = 253;

/**
 * The most `iovec`s one call takes (`UIO_MAXIOV`).
 *
 * @category Messages
 * @example
 * ```ts
 * import { UIO_MAXIOV } from "./msg_structs.ts";
 * UIO_MAXIOV; // 1024
 * ```
 */
export const UIO_MAXIOV: number = 1024;

const ALIGN = 8; // sizeof(size_t)
const HEADER = 16; // sizeof(struct cmsghdr), already aligned

/**
 * `CMSG_ALIGN(len)`: `len` rounded up to the control-message alignment (8).
 *
 * @param len a length in bytes.
 * @returns the aligned length.
 * @category Messages
 * @example
 * ```ts
 * import { CMSG_ALIGN } from "./msg_structs.ts";
 * CMSG_ALIGN(12); // 16
 * ```
 */
export function CMSG_ALIGN(len: number): number {
  const n = checkInteger(len, "len", 0, CMSG_MAX);
  return Math.ceil(n / ALIGN) * ALIGN;
}

/**
 * `CMSG_LEN(len)`: the `cmsg_len` of a message carrying `len` data bytes.
 *
 * @param len data bytes.
 * @returns header plus data, unpadded.
 * @category Messages
 * @example
 * ```ts
 * import { CMSG_LEN } from "./msg_structs.ts";
 * CMSG_LEN(4); // 20: one descriptor
 * ```
 */
export function CMSG_LEN(len: number): number {
  return HEADER + checkInteger(len, "len", 0, CMSG_MAX);
}

/**
 * `CMSG_SPACE(len)`: the bytes a message carrying `len` data bytes takes in
 * a control buffer, padding included.
 *
 * @param len data bytes.
 * @returns header plus padded data.
 * @category Messages
 * @example
 * ```ts
 * import { CMSG_SPACE } from "./msg_structs.ts";
 * CMSG_SPACE(4); // 24
 * ```
 */
export function CMSG_SPACE(len: number): number {
  return HEADER + CMSG_ALIGN(len);
}

/**
 * `CMSG_DATA`: the offset of a message's data from its header.
 *
 * @category Messages
 * @example
 * ```ts
 * import { CMSG_DATA_OFFSET } from "./msg_structs.ts";
 * CMSG_DATA_OFFSET; // 16
 * ```
 */
export const CMSG_DATA_OFFSET: number = HEADER;

/**
 * `CMSG_FIRSTHDR`: the offset of the first header in a control buffer of
 * `controllen` valid bytes, or -1 when it cannot hold one.
 *
 * @param controllen the valid length (`msg_controllen`).
 * @returns 0 or -1.
 * @category Messages
 * @example
 * ```ts
 * import { CMSG_FIRSTHDR } from "./msg_structs.ts";
 * CMSG_FIRSTHDR(24); // 0
 * CMSG_FIRSTHDR(8); // -1
 * ```
 */
export function CMSG_FIRSTHDR(controllen: number): number {
  return checkInteger(controllen, "controllen", 0, 0xffffffff) >= HEADER ? 0 : -1;
}

/**
 * `CMSG_NXTHDR`, as glibc computes it: the offset of the header after the
 * one at `offset`, or -1 when there is none. Stricter than C where C would
 * read out of bounds: the header at `offset` must lie inside the buffer and
 * have a `cmsg_len` of at least a header; the next one must fit whole
 * (header and its own `cmsg_len`) inside `controllen`.
 *
 * @param control the control buffer.
 * @param controllen its valid length (no larger than `control.byteLength`).
 * @param offset the current header's offset.
 * @returns the next header's offset, or -1.
 * @throws {RangeError} when `controllen` exceeds the buffer.
 * @category Messages
 * @example
 * ```ts
 * import { CMSG_LEN, CMSG_NXTHDR, CMSG_SPACE, cmsghdr } from "./msg_structs.ts";
 * const control = new Uint8Array(CMSG_SPACE(4) * 2);
 * cmsghdr.encode({ cmsg_len: BigInt(CMSG_LEN(4)), cmsg_level: 1, cmsg_type: 1 }, control);
 * cmsghdr.encode(
 *   { cmsg_len: BigInt(CMSG_LEN(4)), cmsg_level: 1, cmsg_type: 1 },
 *   control.subarray(CMSG_SPACE(4)),
 * );
 * CMSG_NXTHDR(control, control.length, 0); // 24
 * CMSG_NXTHDR(control, control.length, 24); // -1
 * ```
 */
export function CMSG_NXTHDR(control: Uint8Array, controllen: number, offset: number): number {
  const capacity = byteLengthOf(control, "control");
  checkInteger(offset, "offset", 0, 0xffffffff);
  if (!Number.isInteger(controllen) || controllen < 0 || controllen > capacity) {
    throw new RangeError(`controllen (${controllen}) must be in 0..${capacity}`);
  }
  const current = cmsgLenAt(control, controllen, offset);
  if (current < HEADER) return -1;
  const next = offset + CMSG_ALIGN(current);
  const len = cmsgLenAt(control, controllen, next);
  if (len < HEADER || next + len > controllen) return -1;
  return next;
}

/**
 * The `cmsg_len` of the header at `offset`, or -1 when no whole header lies
 * there inside `controllen`. (A `cmsg_len` above 2^53 reads as -1 too.)
 *
 * @param control the control buffer (its true length already checked).
 * @param controllen the valid length.
 * @param offset the header's offset.
 * @returns the length, or -1.
 * @category Messages
 * @example
 * ```ts
 * import { cmsgLenAt, CMSG_LEN, cmsghdr } from "./msg_structs.ts";
 * const control = cmsghdr.encode({ cmsg_len: BigInt(CMSG_LEN(0)), cmsg_level: 1, cmsg_type: 1 });
 * cmsgLenAt(control, 16, 0); // 16
 * cmsgLenAt(control, 8, 0); // -1
 * ```
 */
export function cmsgLenAt(control: Uint8Array, controllen: number, offset: number): number {
  const plain = plainView(control, "control");
  const capacity = plain.byteLength;
  if (!Number.isInteger(offset) || offset < 0 || offset + HEADER > Math.min(controllen, capacity)) {
    return -1;
  }
  const view = new DataView(plain.buffer, plain.byteOffset, capacity);
  const len = view.getBigUint64(offset, true);
  return len > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(len);
}

/**
 * `SCM_RIGHTS` (Linux: 1): the `cmsg_type` at level `SOL_SOCKET` that
 * carries descriptors. (Here until the generated constants table has it.)
 *
 * @category Messages
 * @example
 * ```ts
 * import { SCM_RIGHTS } from "./msg_structs.ts";
 * SCM_RIGHTS; // 1
 * ```
 */
export const SCM_RIGHTS: number = 1;

/**
 * `SCM_CREDENTIALS` (Linux: 2): the `cmsg_type` at level `SOL_SOCKET` that
 * carries a `struct ucred` (received once `SO_PASSCRED` is on).
 *
 * @category Messages
 * @example
 * ```ts
 * import { SCM_CREDENTIALS } from "./msg_structs.ts";
 * SCM_CREDENTIALS; // 2
 * ```
 */
export const SCM_CREDENTIALS: number = 2;
