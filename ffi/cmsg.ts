/**
 * Typed control messages (ancillary data) for `sendmsg` and `recvmsg`
 * (`./msg.ts`): `SCM_RIGHTS` (descriptors), `SCM_CREDENTIALS`
 * (`struct ucred`), `IP_PKTINFO` and `IPV6_PKTINFO`. Any other level and
 * type is carried as `{ kind: "unknown", level, type, data }`.
 *
 * Decoding never trusts a length: `controllen` must fit the buffer, each
 * `cmsg_len` must cover its header and lie inside the remaining space
 * (`CMSG_NXTHDR` semantics); a header that does not is reported as
 * `malformed` and decoding stops there. Decoding is pure: it never closes
 * a descriptor (the bytes may not have come from the kernel); the receive
 * path of `net/ancillary.ts` does.
 *
 * @module
 */

import { byteLengthOf, checkFd, checkInteger, describe, plainView } from "./checks.ts";
import { IP_PKTINFO, IPPROTO_IP, IPPROTO_IPV6, IPV6_PKTINFO, SOL_SOCKET } from "./constants.ts";
import {
  CMSG_DATA_OFFSET,
  CMSG_FIRSTHDR,
  CMSG_LEN,
  CMSG_NXTHDR,
  CMSG_SPACE,
  cmsghdr,
  cmsgLenAt,
  in6_pktinfo,
  in_pktinfo,
  SCM_CREDENTIALS,
  SCM_MAX_FD,
  SCM_RIGHTS,
  ucred,
} from "./msg_structs.ts";

/**
 * One control message, typed by `kind`.
 *
 * @category Messages
 * @example
 * ```ts
 * import type { ControlMessage } from "./cmsg.ts";
 * const rights: ControlMessage = { kind: "rights", fds: [0] };
 * ```
 */
export type ControlMessage =
  | { kind: "rights"; fds: number[] }
  | { kind: "credentials"; pid: number; uid: number; gid: number }
  | { kind: "pktinfo"; ifindex: number; specDst: number; addr: number }
  | { kind: "pktinfo6"; addr: Uint8Array; ifindex: number }
  | { kind: "unknown"; level: number; type: number; data: Uint8Array };

/**
 * What {@linkcode decodeControlMessages} found.
 *
 * @category Messages
 * @example
 * ```ts
 * import type { DecodedControl } from "./cmsg.ts";
 * const none: DecodedControl = { messages: [], malformed: false };
 * ```
 */
export interface DecodedControl {
  /** The messages, in order. */
  messages: ControlMessage[];
  /**
   * Whether a header with an impossible `cmsg_len` (shorter than a header,
   * or past `controllen`) or bytes too short for one stopped decoding. The
   * descriptors of a `SCM_RIGHTS` header cut this way that lie wholly inside
   * `controllen` are still listed (as a `"rights"` message), so that the
   * receiver can close them.
   */
  malformed: boolean;
}

// Largest control buffer encoded: far above net.core.optmem_max (20 KiB by default).
const MAX_CONTROL = 1 << 20;

function payloadOf(message: ControlMessage, index: number): {
  level: number;
  type: number;
  data: Uint8Array;
} {
  if (typeof message !== "object" || message === null) {
    throw new TypeError(`messages[${index}] must be an object, got ${describe(message)}`);
  }
  const kind = message.kind;
  switch (kind) {
    case "rights": {
      const fds = message.fds;
      if (!Array.isArray(fds)) throw new TypeError(`messages[${index}].fds must be an Array`);
      const count = fds.length;
      if (count > SCM_MAX_FD) {
        throw new RangeError(
          `messages[${index}].fds holds ${count} descriptors; Linux takes at most ${SCM_MAX_FD} (SCM_MAX_FD) in one message`,
        );
      }
      const data = new Uint8Array(count * 4);
      const view = new DataView(data.buffer);
      for (let i = 0; i < count; i++) {
        view.setInt32(i * 4, checkFd(fds[i], `messages[${index}].fds[${i}]`), true);
      }
      return { level: SOL_SOCKET, type: SCM_RIGHTS, data };
    }
    case "credentials": {
      const { pid, uid, gid } = message;
      return {
        level: SOL_SOCKET,
        type: SCM_CREDENTIALS,
        data: ucred.encode({
          pid: checkInteger(pid, `messages[${index}].pid`, 0, 0x7fffffff),
          uid: checkInteger(uid, `messages[${index}].uid`, 0, 0xffffffff),
          gid: checkInteger(gid, `messages[${index}].gid`, 0, 0xffffffff),
        }),
      };
    }
    case "pktinfo": {
      const { ifindex, specDst, addr } = message;
      return {
        level: IPPROTO_IP,
        type: IP_PKTINFO,
        data: in_pktinfo.encode({
          ipi_ifindex: checkInteger(ifindex, `messages[${index}].ifindex`, 0, 0x7fffffff),
          ipi_spec_dst: checkInteger(specDst, `messages[${index}].specDst`, 0, 0xffffffff),
          ipi_addr: checkInteger(addr, `messages[${index}].addr`, 0, 0xffffffff),
        }),
      };
    }
    case "pktinfo6": {
      const { addr, ifindex } = message;
      const bytes = plainView(addr, `messages[${index}].addr`);
      if (bytes.byteLength !== 16) {
        throw new RangeError(`messages[${index}].addr must be 16 bytes, got ${bytes.byteLength}`);
      }
      return {
        level: IPPROTO_IPV6,
        type: IPV6_PKTINFO,
        data: in6_pktinfo.encode({
          ipi6_addr: bytes.slice(),
          ipi6_ifindex: checkInteger(ifindex, `messages[${index}].ifindex`, 0, 0xffffffff),
        }),
      };
    }
    case "unknown": {
      const { level, type, data } = message;
      const l = checkInteger(level, `messages[${index}].level`, -0x80000000, 0x7fffffff);
      const t = checkInteger(type, `messages[${index}].type`, -0x80000000, 0x7fffffff);
      const copy = plainView(data, `messages[${index}].data`).slice();
      return { level: l, type: t, data: copy };
    }
    default:
      throw new TypeError(`messages[${index}].kind is not a known kind: ${describe(kind)}`);
  }
}

/**
 * Encodes control messages into a control buffer for `sendmsg`: each one a
 * `cmsghdr` with `cmsg_len = CMSG_LEN(data)` at a `CMSG_SPACE`-aligned
 * offset, padding zeroed.
 *
 * @param messages the messages.
 * @returns the control bytes (empty for none).
 * @throws {RangeError} for more than `SCM_MAX_FD` (253) descriptors in one
 *   message, a value out of range, or a buffer above 1 MiB.
 * @throws {TypeError} for a wrong type.
 * @category Messages
 * @example
 * ```ts
 * import { decodeControlMessages, encodeControlMessages } from "./cmsg.ts";
 * const control = encodeControlMessages([{ kind: "rights", fds: [0, 1] }]);
 * control.length; // 24: CMSG_SPACE(8)
 * decodeControlMessages(control, control.length).messages; // [{ kind: "rights", fds: [0, 1] }]
 * ```
 */
export function encodeControlMessages(messages: readonly ControlMessage[]): Uint8Array {
  if (!Array.isArray(messages)) {
    throw new TypeError(`messages must be an Array, got ${describe(messages)}`);
  }
  const count = messages.length;
  if (count > 1024) throw new RangeError(`at most 1024 control messages, got ${count}`);
  const payloads = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const payload = payloadOf(messages[i], i);
    total += CMSG_SPACE(payload.data.byteLength);
    if (total > MAX_CONTROL) throw new RangeError(`control messages above ${MAX_CONTROL} bytes`);
    payloads.push(payload);
  }
  const control = new Uint8Array(total);
  let offset = 0;
  for (const { level, type, data } of payloads) {
    cmsghdr.encode(
      { cmsg_len: BigInt(CMSG_LEN(data.byteLength)), cmsg_level: level, cmsg_type: type },
      control.subarray(offset),
    );
    control.set(data, offset + CMSG_DATA_OFFSET);
    offset += CMSG_SPACE(data.byteLength);
  }
  return control;
}

/**
 * The control buffer size that holds the given data sizes (`CMSG_SPACE` of
 * each, summed): e.g. `controlSpace(4 * 253)` for a full `SCM_RIGHTS`.
 *
 * @param dataSizes the data bytes of each expected message.
 * @returns the bytes to allocate.
 * @category Messages
 * @example
 * ```ts
 * import { controlSpace } from "./cmsg.ts";
 * controlSpace(4, 12); // 24 + 32: one descriptor and a ucred
 * ```
 */
export function controlSpace(...dataSizes: number[]): number {
  let total = 0;
  for (const size of dataSizes) {
    total += CMSG_SPACE(checkInteger(size, "size", 0, MAX_CONTROL));
  }
  return total;
}

/**
 * Decodes the first `controllen` bytes of a control buffer (what `recvmsg`
 * reported). Every header is bounds-checked before it is read.
 *
 * @param control the control buffer.
 * @param controllen its valid bytes (`RecvMsgResult.controllen`).
 * @returns the messages, and whether a malformed header stopped the walk.
 * @throws {RangeError} when `controllen` exceeds the buffer.
 * @category Messages
 * @example
 * ```ts
 * import { decodeControlMessages } from "./cmsg.ts";
 * const lying = new Uint8Array(24);
 * new DataView(lying.buffer).setBigUint64(0, 1000n, true); // cmsg_len past the end
 * decodeControlMessages(lying, 24).malformed; // true
 * ```
 */
export function decodeControlMessages(control: Uint8Array, controllen: number): DecodedControl {
  const plain = plainView(control, "control");
  const capacity = byteLengthOf(plain, "control");
  const valid = checkInteger(controllen, "controllen", 0, capacity);
  const messages: ControlMessage[] = [];
  const view = new DataView(plain.buffer, plain.byteOffset, capacity);
  let malformed = false;
  let offset = CMSG_FIRSTHDR(valid);
  // A few trailing bytes too short for a header are padding, not an error.
  while (offset >= 0) {
    const len = cmsgLenAt(plain, valid, offset);
    const level = view.getInt32(offset + 8, true);
    const type = view.getInt32(offset + 12, true);
    if (len < CMSG_DATA_OFFSET || offset + len > valid) {
      malformed = true;
      if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        // The descriptors wholly inside the valid bytes, for the receiver to close.
        const room = Math.floor((valid - offset - CMSG_DATA_OFFSET) / 4);
        messages.push({ kind: "rights", fds: readFds(view, offset, Math.max(room, 0)) });
      }
      break;
    }
    const dataLen = len - CMSG_DATA_OFFSET;
    const data = plain.subarray(offset + CMSG_DATA_OFFSET, offset + len);
    messages.push(decodeOne(view, offset, level, type, dataLen, data));
    const next = CMSG_NXTHDR(plain, valid, offset);
    if (next < 0) {
      // Stopped: fine if what is left cannot hold a header, malformed otherwise.
      const after = offset + Math.ceil(len / 8) * 8;
      if (after + CMSG_DATA_OFFSET <= valid) {
        const nextLen = cmsgLenAt(plain, valid, after);
        const nextLevel = view.getInt32(after + 8, true);
        const nextType = view.getInt32(after + 12, true);
        malformed = true;
        if (nextLevel === SOL_SOCKET && nextType === SCM_RIGHTS && nextLen !== 0) {
          const room = Math.floor((valid - after - CMSG_DATA_OFFSET) / 4);
          messages.push({ kind: "rights", fds: readFds(view, after, Math.max(room, 0)) });
        }
      }
      break;
    }
    offset = next;
  }
  return { messages, malformed };
}

function readFds(view: DataView, offset: number, count: number): number[] {
  const fds: number[] = [];
  for (let i = 0; i < count; i++) {
    const fd = view.getInt32(offset + CMSG_DATA_OFFSET + i * 4, true);
    if (fd >= 0) fds.push(fd);
  }
  return fds;
}

function decodeOne(
  view: DataView,
  offset: number,
  level: number,
  type: number,
  dataLen: number,
  data: Uint8Array,
): ControlMessage {
  if (level === SOL_SOCKET && type === SCM_RIGHTS) {
    return { kind: "rights", fds: readFds(view, offset, Math.floor(dataLen / 4)) };
  }
  if (level === SOL_SOCKET && type === SCM_CREDENTIALS && dataLen >= ucred.size) {
    const { pid, uid, gid } = ucred.decode(data);
    return { kind: "credentials", pid, uid, gid };
  }
  if (level === IPPROTO_IP && type === IP_PKTINFO && dataLen >= in_pktinfo.size) {
    const p = in_pktinfo.decode(data);
    return { kind: "pktinfo", ifindex: p.ipi_ifindex, specDst: p.ipi_spec_dst, addr: p.ipi_addr };
  }
  if (level === IPPROTO_IPV6 && type === IPV6_PKTINFO && dataLen >= in6_pktinfo.size) {
    const p = in6_pktinfo.decode(data);
    return { kind: "pktinfo6", addr: p.ipi6_addr, ifindex: p.ipi6_ifindex };
  }
  return { kind: "unknown", level, type, data: data.slice() };
}

/**
 * Every descriptor in `SCM_RIGHTS` messages, in order.
 *
 * @param messages decoded messages.
 * @returns the descriptors.
 * @category Messages
 * @example
 * ```ts
 * import { descriptorsOf } from "./cmsg.ts";
 * descriptorsOf([{ kind: "rights", fds: [5, 6] }, { kind: "rights", fds: [7] }]); // [5, 6, 7]
 * ```
 */
export function descriptorsOf(messages: readonly ControlMessage[]): number[] {
  const fds: number[] = [];
  for (const m of messages) if (m.kind === "rights") fds.push(...m.fds);
  return fds;
}
