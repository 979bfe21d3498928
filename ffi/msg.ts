/**
 * `sendmsg(2)` and `recvmsg(2)`, C-faithful: the caller gives the parts of a
 * `struct msghdr` (an address buffer, scatter/gather buffers, a control
 * buffer) as `Uint8Array`s, and the wrapper builds the `msghdr` and the
 * `iovec` array from them.
 *
 * ## Safety
 *
 * A `msghdr` holds pointers, so the wrapper (not the caller) writes them:
 * - every field of the caller's object, and every element of `iov`, is read
 *   once, first; then every buffer is measured through the built-in
 *   getters ({@linkcode byteLengthOf}), after which no caller code runs
 *   before the call. The kernel is never told a length larger than the
 *   buffer it describes.
 * - the buffers stay referenced until the synchronous call returns.
 * - what the kernel writes back (`msg_namelen`, `msg_controllen`) is
 *   bounds-checked against the buffers before the result reports it.
 *
 * Addresses are taken with `Deno.UnsafePointer.of`, which Deno allows only
 * under a plain `--allow-ffi` (not `--allow-ffi=<libc path>`): without it
 * the calls throw `Deno.errors.NotCapable` naming the flag.
 *
 * @module
 */

import { byteLengthOf, checkFd, checkInt, checkInteger, describe, plainView } from "./checks.ts";
import { EINTR, MSG_CTRUNC } from "./constants.ts";
import { SocketError } from "./errors.ts";
import { errno, libc } from "./libc.ts";
import { iovec, msghdr, UIO_MAXIOV } from "./msg_structs.ts";

/**
 * The parts of a `struct msghdr`, for {@linkcode sendmsg} and
 * {@linkcode recvmsg}.
 *
 * @category Messages
 * @example
 * ```ts
 * import type { MsgHdr } from "./msg.ts";
 * const msg: MsgHdr = { iov: [new Uint8Array(16)], control: new Uint8Array(64) };
 * ```
 */
export interface MsgHdr {
  /** Send: the destination address; receive: room for the source address. */
  name?: Uint8Array | null;
  /** Bytes of `name` to use; defaults to `name.byteLength`. */
  namelen?: number;
  /** The scatter/gather buffers (at most `UIO_MAXIOV`, 1024). */
  iov: readonly Uint8Array[];
  /** Send: encoded control messages; receive: room for them. */
  control?: Uint8Array | null;
  /** Bytes of `control` to use; defaults to `control.byteLength`. */
  controllen?: number;
}

/**
 * What {@linkcode recvmsg} reports: C's return value and the `msghdr`
 * fields the kernel wrote back, checked.
 *
 * @category Messages
 * @example
 * ```ts
 * import type { RecvMsgResult } from "./msg.ts";
 * const r: RecvMsgResult = { bytes: 0, namelen: 0, controllen: 0, flags: 0 };
 * ```
 */
export interface RecvMsgResult {
  /** Bytes received (with `MSG_TRUNC` in `flags`: possibly the datagram's full length). */
  bytes: number;
  /** Valid bytes of `name` (never more than its length; the kernel may say more if it cut the address). */
  namelen: number;
  /** Valid bytes of `control` (never more than the length given). */
  controllen: number;
  /** `msg_flags`: `MSG_TRUNC`, `MSG_CTRUNC`, `MSG_EOR`, ... */
  flags: number;
}

/**
 * Throws unless Deno lets us take buffer addresses (a plain `--allow-ffi`).
 *
 * @throws {Deno.errors.NotCapable} naming the flag.
 * @category Messages
 * @example
 * ```ts
 * import { requirePointerAccess } from "./msg.ts";
 * requirePointerAccess("sendmsg"); // passes under a plain --allow-ffi
 * ```
 */
export function requirePointerAccess(what: string): void {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `${what} builds a struct msghdr of buffer addresses (Deno.UnsafePointer.of), which Deno ` +
        "allows only with a plain --allow-ffi (not --allow-ffi=<libc path>): run with --allow-ffi",
    );
  }
}

interface Parts {
  name: Uint8Array | null;
  namelen: number | undefined;
  iov: unknown[];
  control: Uint8Array | null;
  controllen: number | undefined;
}

/** Reads every field of the caller's object once; nothing is measured yet. */
function readParts(msg: MsgHdr, what: string): Parts {
  if (typeof msg !== "object" || msg === null) {
    throw new TypeError(`${what}: msg must be an object, got ${describe(msg)}`);
  }
  const { name = null, namelen, iov, control = null, controllen } = msg;
  if (!Array.isArray(iov)) throw new TypeError(`${what}: msg.iov must be an Array`);
  const count = iov.length;
  if (!Number.isInteger(count) || count > UIO_MAXIOV) {
    throw new RangeError(`${what}: msg.iov holds ${count} buffers, at most ${UIO_MAXIOV}`);
  }
  const buffers: unknown[] = [];
  for (let i = 0; i < count; i++) buffers.push(iov[i]);
  return { name, namelen, iov: buffers, control, controllen };
}

function addressOf(view: Uint8Array): bigint {
  if (view.byteLength === 0) return 0n;
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
}

/** One optional buffer and its length, checked; the view is plain (built-in getters). */
function optionalBuffer(
  buffer: unknown,
  len: unknown,
  what: string,
  name: string,
): { view: Uint8Array | null; len: number } {
  if (buffer === null) {
    if (len !== undefined && len !== 0) {
      throw new RangeError(`${what}: msg.${name}len must be 0 when msg.${name} is null`);
    }
    return { view: null, len: 0 };
  }
  const view = plainView(buffer, `${what}: msg.${name}`);
  const capacity = view.byteLength;
  if (len === undefined) return { view, len: capacity };
  const n = checkInteger(len, `${what}: msg.${name}len`, 0, 0xffffffff);
  if (n > capacity) {
    throw new RangeError(
      `${what}: msg.${name}len (${n}) is larger than msg.${name}.byteLength (${capacity})`,
    );
  }
  return { view, len: n };
}

/** The msghdr and iovec bytes, built from checked parts; `keep` holds every view. */
function build(
  parts: Parts,
  what: string,
): { header: Uint8Array; keep: Uint8Array[]; nameCapacity: number; controlCapacity: number } {
  // Scalars first (checkInteger reads primitives only, never coerces).
  if (parts.namelen !== undefined) {
    checkInteger(parts.namelen, `${what}: msg.namelen`, 0, 0xffffffff);
  }
  if (parts.controllen !== undefined) {
    checkInteger(parts.controllen, `${what}: msg.controllen`, 0, 0xffffffff);
  }
  // Then the buffers: from here on no caller code runs until the call.
  const keep: Uint8Array[] = [];
  const vectors = new Uint8Array(new ArrayBuffer(Math.max(parts.iov.length, 1) * iovec.size));
  const vectorView = new DataView(vectors.buffer);
  for (let i = 0; i < parts.iov.length; i++) {
    const view = plainView(parts.iov[i], `${what}: msg.iov[${i}]`);
    keep.push(view);
    vectorView.setBigUint64(i * 16, addressOf(view), true);
    vectorView.setBigUint64(i * 16 + 8, BigInt(view.byteLength), true);
  }
  keep.push(vectors);
  const name = optionalBuffer(parts.name, parts.namelen, what, "name");
  const control = optionalBuffer(parts.control, parts.controllen, what, "control");
  if (name.view) keep.push(name.view);
  if (control.view) keep.push(control.view);
  const header = new Uint8Array(new ArrayBuffer(msghdr.size));
  msghdr.encode({
    msg_name: name.view && name.len > 0 ? addressOf(name.view) : 0n,
    msg_namelen: name.len,
    msg_iov: parts.iov.length > 0 ? addressOf(vectors) : 0n,
    msg_iovlen: BigInt(parts.iov.length),
    msg_control: control.view && control.len > 0 ? addressOf(control.view) : 0n,
    msg_controllen: BigInt(control.len),
    msg_flags: 0,
  }, header);
  return { header, keep, nameCapacity: name.len, controlCapacity: control.len };
}

/**
 * `sendmsg(2)`: sends the bytes of `msg.iov` (gathered in order), with the
 * control messages in `msg.control` (see `encodeControlMessages` in
 * `./cmsg.ts`), to `msg.name` (or the connected peer).
 *
 * @param fd the socket.
 * @param msg the message parts.
 * @param flags `MSG_*` flags (`MSG_NOSIGNAL`, `MSG_DONTWAIT`, ...).
 * @returns bytes sent.
 * @throws {SocketError} e.g. `EAGAIN`, `EPIPE`, `EINVAL` (a malformed control buffer).
 * @throws {TypeError | RangeError} for bad arguments, before libc is called.
 * @throws {Deno.errors.NotCapable} without a plain `--allow-ffi`.
 * @category Messages
 * @example
 * ```ts
 * import { sendmsg } from "./msg.ts";
 * import { AF_UNIX, close, read, SOCK_STREAM, socketpair } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * const enc = new TextEncoder();
 * sendmsg(sv[0], { iov: [enc.encode("hel"), enc.encode("lo")] }); // 5
 * const buf = new Uint8Array(8);
 * read(sv[1], buf); // 5: "hello"
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function sendmsg(fd: number, msg: MsgHdr, flags = 0): number {
  const f = checkFd(fd);
  const fl = checkInt(flags, "flags");
  const parts = readParts(msg, "sendmsg");
  requirePointerAccess("sendmsg");
  const c = libc();
  const { header, keep } = build(parts, "sendmsg");
  let r: number;
  do r = c.sendmsg(f, header, fl); while (r === -1 && errno() === EINTR);
  const e = r === -1 ? errno() : 0;
  keep.length = 0; // the views were alive for the call
  if (r === -1) throw new SocketError(e, "sendmsg");
  return r;
}

/**
 * `recvmsg(2)`: receives into the buffers of `msg.iov` (scattered in
 * order), the source address into `msg.name` and control messages into
 * `msg.control` (decode them with `decodeControlMessages` from `./cmsg.ts`,
 * passing `controllen`). The caller's object is not written to: the fields
 * the kernel wrote back come in the result, bounds-checked.
 *
 * Pass `MSG_CMSG_CLOEXEC` so that descriptors received with `SCM_RIGHTS`
 * are close-on-exec. Descriptors that arrive are the caller's to close,
 * also when `MSG_CTRUNC` is reported.
 *
 * @param fd the socket.
 * @param msg the message parts.
 * @param flags `MSG_*` flags (`MSG_CMSG_CLOEXEC`, `MSG_PEEK`, `MSG_DONTWAIT`, `MSG_TRUNC`, ...).
 * @returns bytes received and the fields the kernel wrote back.
 * @throws {SocketError} e.g. `EAGAIN`.
 * @throws {TypeError | RangeError} for bad arguments, before libc is called.
 * @throws {Deno.errors.NotCapable} without a plain `--allow-ffi`.
 * @category Messages
 * @example
 * ```ts
 * import { recvmsg } from "./msg.ts";
 * import { AF_UNIX, close, MSG_CMSG_CLOEXEC, SOCK_DGRAM, socketpair, write } from "./mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
 * write(sv[0], new Uint8Array([1, 2, 3]));
 * const head = new Uint8Array(2), tail = new Uint8Array(8);
 * const r = recvmsg(sv[1], { iov: [head, tail], control: new Uint8Array(64) }, MSG_CMSG_CLOEXEC);
 * r.bytes; // 3: [1, 2] in head, [3] in tail
 * r.controllen; // 0: no control messages
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function recvmsg(fd: number, msg: MsgHdr, flags = 0): RecvMsgResult {
  const f = checkFd(fd);
  const fl = checkInt(flags, "flags");
  const parts = readParts(msg, "recvmsg");
  requirePointerAccess("recvmsg");
  const c = libc();
  const { header, keep, nameCapacity, controlCapacity } = build(parts, "recvmsg");
  let r: number;
  do r = c.recvmsg(f, header, fl); while (r === -1 && errno() === EINTR);
  const e = r === -1 ? errno() : 0;
  keep.length = 0;
  if (r === -1) throw new SocketError(e, "recvmsg");
  return checkWrittenBack(header, r, nameCapacity, controlCapacity);
}

/**
 * The `msghdr` fields the kernel wrote back, bounds-checked: a `namelen`
 * above the name buffer's capacity (the kernel reports an address it cut
 * at its full length) is clamped; a `controllen` above the control
 * capacity (no kernel does that) is clamped and reported as `MSG_CTRUNC`.
 *
 * @param header the 56 bytes of `msghdr` after the call.
 * @param bytes the call's result.
 * @param nameCapacity bytes of the name buffer given to the kernel.
 * @param controlCapacity bytes of the control buffer given to the kernel.
 * @returns the checked result.
 * @category Messages
 * @example
 * ```ts
 * import { checkWrittenBack } from "./msg.ts";
 * import { msghdr } from "./msg_structs.ts";
 * const lying = msghdr.encode({ msg_namelen: 4096, msg_controllen: 1n << 40n });
 * const r = checkWrittenBack(lying, 0, 16, 64);
 * r.namelen; // 16
 * r.controllen; // 64, and flags has MSG_CTRUNC
 * ```
 */
export function checkWrittenBack(
  header: Uint8Array,
  bytes: number,
  nameCapacity: number,
  controlCapacity: number,
): RecvMsgResult {
  byteLengthOf(header, "header");
  const out = msghdr.decode(header);
  let flags = out.msg_flags;
  const namelen = Math.min(out.msg_namelen, nameCapacity);
  let controllen = controlCapacity;
  if (out.msg_controllen <= BigInt(controlCapacity)) controllen = Number(out.msg_controllen);
  else flags |= MSG_CTRUNC;
  return { bytes, namelen, controllen, flags };
}
