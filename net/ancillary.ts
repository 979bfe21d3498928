/**
 * Descriptor passing and peer credentials on Unix sockets (stream,
 * seqpacket and datagram), over the C-faithful `ffi/msg.ts` and
 * `ffi/cmsg.ts`:
 *
 * - {@linkcode sendFds} sends descriptors (numbers, or this module's
 *   socket objects: their `.fd`) with a message (`SCM_RIGHTS`);
 * - {@linkcode receiveFds} receives them as raw descriptors, always
 *   close-on-exec (`MSG_CMSG_CLOEXEC`); {@linkcode adoptReceived} makes them
 *   socket objects (`adoptSocket`);
 * - {@linkcode peerCredentials} reads `SO_PEERCRED` as `{ pid, uid, gid }`.
 *
 * A control message the kernel cut short (`MSG_CTRUNC`, a control buffer
 * too small) or that is malformed never leaks: every descriptor that did
 * arrive is closed, and the result says so (`controlTruncated`, `discarded`).
 *
 * Needs a plain `--allow-ffi` (the message header holds buffer addresses;
 * see `ffi/msg.ts`). Waiting for readiness uses `poll(2)` on a helper
 * thread in 50 ms slices (a socket object closed meanwhile ends the wait
 * within one slice).
 *
 * @module
 */

import { checkFd, checkInteger, describe } from "../ffi/checks.ts";
import {
  EAGAIN,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SOL_SOCKET,
} from "../ffi/constants.ts";
import { MSG_CMSG_CLOEXEC, SO_PEERCRED } from "../ffi/constants_linux.ts";
import {
  type ControlMessage,
  decodeControlMessages,
  descriptorsOf,
  encodeControlMessages,
} from "../ffi/cmsg.ts";
import { SocketError } from "../ffi/errors.ts";
import { recvmsg, requirePointerAccess, sendmsg } from "../ffi/msg.ts";
import { CMSG_SPACE, SCM_MAX_FD, ucred } from "../ffi/msg_structs.ts";
import { pollfd } from "../ffi/structs.ts";
import { getsockopt, pollAsync } from "../ffi/syscalls.ts";
import { type AdoptedSocket, adoptSocket } from "./adopt.ts";
import { lib, SocketHandle, waitReady } from "./socket.ts";

/**
 * Something that is, or holds, a descriptor: a number, or a socket object
 * of this module (its `.fd` is used; it keeps owning it).
 *
 * @category Messages
 * @example
 * ```ts
 * import type { FdLike } from "../mod.ts";
 * const stdin: FdLike = 0;
 * ```
 */
export type FdLike = number | { readonly fd: number };

/**
 * A socket to send or receive on: a socket object or a descriptor number.
 *
 * @category Messages
 * @example
 * ```ts
 * import type { MessageTarget } from "../mod.ts";
 * const target: MessageTarget = 3;
 * ```
 */
export type MessageTarget = SocketHandle | number;

const SLICE_MS = 50;

function fdOf(target: MessageTarget, name: string): number {
  if (target instanceof SocketHandle) return target.fd; // BadResource once closed
  return checkFd(target, name);
}

/**
 * Waits until `target` is readable or writable: a socket object through the
 * reactor; a bare descriptor, which the reactor does not know, with poll on a
 * helper thread, in slices.
 */
async function ready(target: MessageTarget, events: number): Promise<void> {
  if (target instanceof SocketHandle) return await waitReady(target, events === POLLOUT);
  const set = new Uint8Array(pollfd.size);
  for (;;) {
    const fd = fdOf(target, "socket");
    pollfd.encode({ fd, events }, set);
    const n = await pollAsync(set, 1, SLICE_MS);
    if (n > 0) {
      const revents = pollfd.decode(set).revents;
      if (revents & POLLNVAL) throw new Deno.errors.BadResource(`fd ${fd} is not open`);
      return;
    }
  }
}

/**
 * Sends `fds` with a message (`sendmsg` with one `SCM_RIGHTS` control
 * message). On a stream socket at least one byte must go with them:
 * `data` defaults to one zero byte. Waits while the socket is full.
 *
 * @param socket the Unix socket to send on.
 * @param fds the descriptors (1..253), numbers or socket objects; the
 *   sender keeps its own copies (close them if you hand them over).
 * @param data the message bytes (default: one zero byte).
 * @returns bytes of `data` sent (a stream may take fewer: the descriptors
 *   travel with the first byte).
 * @throws {RangeError} for no descriptors or more than 253 (`SCM_MAX_FD`), before the call.
 * @throws {SocketError} e.g. `EBADF` (a descriptor not open), `EPIPE`.
 * @throws {Deno.errors.NotCapable} without a plain `--allow-ffi`.
 * @category Messages
 * @example
 * ```ts
 * import { receiveFds, sendFds } from "../mod.ts";
 * import { AF_UNIX, close, SOCK_STREAM, socketpair } from "../ffi/mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * await sendFds(sv[0], [0]); // our stdin
 * const { fds } = await receiveFds(sv[1]);
 * fds.length; // 1: a new descriptor for the same stdin
 * for (const fd of [...fds, sv[0], sv[1]]) close(fd);
 * ```
 */
export async function sendFds(
  socket: MessageTarget,
  fds: readonly FdLike[],
  data?: Uint8Array,
): Promise<number> {
  if (!Array.isArray(fds)) throw new TypeError(`fds must be an Array, got ${describe(fds)}`);
  const count = fds.length;
  if (count === 0) throw new RangeError("fds must hold at least one descriptor");
  if (count > SCM_MAX_FD) {
    throw new RangeError(
      `fds holds ${count} descriptors; Linux takes at most ${SCM_MAX_FD} (SCM_MAX_FD) per message`,
    );
  }
  const numbers: number[] = [];
  for (let i = 0; i < count; i++) {
    const item: unknown = fds[i];
    numbers.push(
      typeof item === "number" ? checkFd(item, `fds[${i}]`) : checkFd(
        typeof item === "object" && item !== null ? (item as { fd: unknown }).fd : item,
        `fds[${i}].fd`,
      ),
    );
  }
  const payload = data ?? new Uint8Array(1);
  requirePointerAccess("sendFds");
  const control = encodeControlMessages([{ kind: "rights", fds: numbers }]);
  for (;;) {
    const fd = fdOf(socket, "socket");
    try {
      return sendmsg(fd, { iov: [payload], control }, MSG_DONTWAIT | MSG_NOSIGNAL);
    } catch (error) {
      if (!(error instanceof SocketError) || error.errno !== EAGAIN) throw error;
    }
    await ready(socket, POLLOUT);
  }
}

/**
 * Options of {@linkcode receiveFds}.
 *
 * @category Messages
 * @example
 * ```ts
 * import type { ReceiveFdsOptions } from "../mod.ts";
 * const options: ReceiveFdsOptions = { maxFds: 4, size: 1024 };
 * ```
 */
export interface ReceiveFdsOptions {
  /** Most descriptors expected (1..253, default 253): sizes the control buffer. */
  maxFds?: number;
  /** Most message bytes to receive (default 4096). */
  size?: number;
}

/**
 * What {@linkcode receiveFds} resolves to.
 *
 * @category Messages
 * @example
 * ```ts
 * import type { ReceivedFds } from "../mod.ts";
 * const nothing: ReceivedFds = {
 *   data: new Uint8Array(0), fds: [], truncated: false, controlTruncated: false, discarded: 0,
 * };
 * ```
 */
export interface ReceivedFds {
  /** The message bytes (empty at end of stream). */
  data: Uint8Array<ArrayBuffer>;
  /** The descriptors received, close-on-exec; the caller owns them. */
  fds: number[];
  /** Whether the message was longer than `size` (a datagram or seqpacket cut: `MSG_TRUNC`). */
  truncated: boolean;
  /**
   * Whether the control data was cut (`MSG_CTRUNC`: more descriptors than
   * `maxFds`) or malformed. Then every descriptor that arrived was closed
   * and `fds` is empty.
   */
  controlTruncated: boolean;
  /** How many received descriptors were closed because of `controlTruncated`. */
  discarded: number;
  /** Other control messages that came with it (e.g. credentials with `SO_PASSCRED`). */
  others?: ControlMessage[];
}

/**
 * Receives one message and the descriptors that came with it
 * (`recvmsg` with `MSG_CMSG_CLOEXEC`). Waits until a message arrives.
 *
 * @param socket the Unix socket to receive on.
 * @param options `maxFds` and `size`.
 * @returns the bytes, the descriptors, and what was cut.
 * @throws {SocketError} e.g. `ECONNRESET`.
 * @throws {Deno.errors.NotCapable} without a plain `--allow-ffi`.
 * @category Messages
 * @example
 * ```ts
 * import { receiveFds, sendFds } from "../mod.ts";
 * import { AF_UNIX, close, SOCK_SEQPACKET, socketpair } from "../ffi/mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
 * await sendFds(sv[0], [0, 1, 2], new TextEncoder().encode("stdio"));
 * const got = await receiveFds(sv[1], { maxFds: 1 }); // room for one only
 * got.controlTruncated; // true: the kernel cut the rest, and the one that came was closed
 * got.fds.length; // 0
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export async function receiveFds(
  socket: MessageTarget,
  options: ReceiveFdsOptions = {},
): Promise<ReceivedFds> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  const { maxFds = SCM_MAX_FD, size = 4096 } = options;
  const most = checkInteger(maxFds, "maxFds", 1, SCM_MAX_FD);
  const bytes = checkInteger(size, "size", 1, 1 << 26);
  requirePointerAccess("receiveFds");
  // Room for exactly maxFds descriptors (with SO_PASSCRED on, use ffi's recvmsg
  // with room for the ucred too).
  const control = new Uint8Array(CMSG_SPACE(4 * most));
  const buffer = new Uint8Array(bytes);
  for (;;) {
    const fd = fdOf(socket, "socket");
    let result;
    try {
      result = recvmsg(fd, { iov: [buffer], control }, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } catch (error) {
      if (!(error instanceof SocketError) || error.errno !== EAGAIN) throw error;
      await ready(socket, POLLIN);
      continue;
    }
    const decoded = decodeControlMessages(control, result.controllen);
    const fds = descriptorsOf(decoded.messages);
    const controlTruncated = (result.flags & MSG_CTRUNC) !== 0 || decoded.malformed;
    if (controlTruncated) { for (const received of fds) lib().close(received); }
    const others = decoded.messages.filter((m) => m.kind !== "rights");
    return {
      data: buffer.slice(0, Math.min(result.bytes, bytes)),
      fds: controlTruncated ? [] : fds,
      truncated: (result.flags & MSG_TRUNC) !== 0,
      controlTruncated,
      discarded: controlTruncated ? fds.length : 0,
      ...(others.length > 0 ? { others } : {}),
    };
  }
}

/**
 * Makes socket objects of received descriptors (`adoptSocket` on each,
 * which asks the kernel what each one is). If one is not a socket (a pipe,
 * a file), every descriptor not yet adopted is closed, those adopted are
 * closed too, and the error is thrown: nothing leaks.
 *
 * @param fds descriptors from {@linkcode receiveFds}.
 * @returns the socket objects, in order.
 * @throws {TypeError | SocketError} when a descriptor is not a socket this module can adopt
 *   (`ENOTSOCK` for a pipe or a file).
 * @category Messages
 * @example
 * ```ts
 * import { adoptReceived, listen, receiveFds, sendFds } from "../mod.ts";
 * import { AF_UNIX, close, SOCK_STREAM, socketpair } from "../ffi/mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * await sendFds(sv[0], [listener]);
 * const [twin] = adoptReceived((await receiveFds(sv[1])).fds);
 * twin.close(); // the same listening socket, through another descriptor
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function adoptReceived(fds: readonly number[]): AdoptedSocket[] {
  if (!Array.isArray(fds)) throw new TypeError(`fds must be an Array, got ${describe(fds)}`);
  const list = [...fds];
  const adopted: AdoptedSocket[] = [];
  for (let i = 0; i < list.length; i++) {
    try {
      adopted.push(adoptSocket(list[i]));
    } catch (error) {
      for (const socket of adopted) socket.close();
      for (let j = i; j < list.length; j++) {
        if (Number.isInteger(list[j]) && list[j] >= 0) lib().close(list[j]);
      }
      throw error;
    }
  }
  return adopted;
}

/**
 * The credentials of a Unix socket's peer (`SO_PEERCRED`): the process
 * that connected (or called `socketpair`), as the kernel recorded it then.
 *
 * @category Messages
 * @example
 * ```ts
 * import type { UnixCredentials } from "../mod.ts";
 * const me: UnixCredentials = { pid: Deno.pid, uid: 0, gid: 0 };
 * ```
 */
export interface UnixCredentials {
  /** Process id. */
  pid: number;
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
}

/**
 * Reads `SO_PEERCRED` of a connected Unix socket.
 *
 * @param conn a Unix stream or seqpacket connection (object or descriptor).
 * @returns `{ pid, uid, gid }` of the peer.
 * @throws {SocketError} e.g. `ENOTSOCK`; a socket never connected reports pid 0.
 * @category Messages
 * @example
 * ```ts
 * import { peerCredentials } from "../mod.ts";
 * import { AF_UNIX, close, SOCK_STREAM, socketpair } from "../ffi/mod.ts";
 * const sv = new Int32Array(2);
 * socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 * peerCredentials(sv[0]).pid === Deno.pid; // true: we made both ends
 * close(sv[0]);
 * close(sv[1]);
 * ```
 */
export function peerCredentials(conn: MessageTarget): UnixCredentials {
  const fd = fdOf(conn, "conn");
  const bytes = new Uint8Array(ucred.size);
  const len = new Uint32Array([ucred.size]);
  getsockopt(fd, SOL_SOCKET, SO_PEERCRED, bytes, len);
  if (len[0] < ucred.size) throw new RangeError(`SO_PEERCRED gave ${len[0]} bytes`);
  const { pid, uid, gid } = ucred.decode(bytes);
  return { pid, uid, gid };
}
