/**
 * errno → the error class a Deno user expects. Where Deno has a class for
 * the condition (`ConnectionRefused`, `ConnectionReset`, `AddrInUse`, ...),
 * the error is an instance of it and also `instanceof SocketError`, with
 * `errno`, `code` and `syscall`; otherwise it is a plain `SocketError`.
 *
 * @module
 */

import {
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  ECONNABORTED,
  ECONNREFUSED,
  ECONNRESET,
  EHOSTUNREACH,
  ENETUNREACH,
  ENOENT,
  ENOTCONN,
  EPERM,
  EPIPE,
  ETIMEDOUT,
} from "../ffi/constants.ts";
import { brandSocketError, SocketError } from "../ffi/errors.ts";

const DENO_CLASSES: Map<number, new (message: string) => Error> = new Map<
  number,
  new (message: string) => Error
>([
  [ECONNREFUSED, Deno.errors.ConnectionRefused],
  [ECONNRESET, Deno.errors.ConnectionReset],
  [ECONNABORTED, Deno.errors.ConnectionAborted],
  [ENOTCONN, Deno.errors.NotConnected],
  [EADDRINUSE, Deno.errors.AddrInUse],
  [EADDRNOTAVAIL, Deno.errors.AddrNotAvailable],
  [EPIPE, Deno.errors.BrokenPipe],
  [ETIMEDOUT, Deno.errors.TimedOut],
  [EACCES, Deno.errors.PermissionDenied],
  [EPERM, Deno.errors.PermissionDenied],
  [ENETUNREACH, Deno.errors.NetworkUnreachable],
  [EHOSTUNREACH, Deno.errors.NetworkUnreachable],
  // A Unix socket path that does not exist (connect, or bind in a missing directory).
  [ENOENT, Deno.errors.NotFound],
]);

/**
 * The error for a failed call, as Deno's class where one matches.
 *
 * @param errnoValue the errno.
 * @param syscall the failing call.
 * @param detail optional context (an address).
 * @returns the error, `instanceof SocketError` in every case.
 */
export function netError(errnoValue: number, syscall: string, detail?: string): Error {
  const DenoClass = DENO_CLASSES.get(errnoValue);
  return DenoClass
    ? brandSocketError(DenoClass, errnoValue, syscall, detail)
    : new SocketError(errnoValue, syscall, detail);
}

/**
 * The error for an operation on a closed object, as Deno gives it
 * (`"Listener has been closed"` for a listener, as Deno's tests compare).
 *
 * @param what the object, e.g. `"Conn"`.
 * @returns a `Deno.errors.BadResource`.
 */
export function closedError(what: string): Error {
  return new Deno.errors.BadResource(
    what.endsWith("Listener") ? `${what} has been closed` : `${what} is closed`,
  );
}

/**
 * The error for an operation that was pending when its own object was
 * closed: Deno cancels it with `Interrupted`.
 *
 * @returns a `Deno.errors.Interrupted`.
 */
export function interruptedError(): Error {
  return new Deno.errors.Interrupted("operation canceled");
}

/**
 * The error for a second concurrent operation of a kind that cannot overlap.
 *
 * @param what e.g. `"read"`.
 * @returns a `Deno.errors.Busy`.
 */
export function busyError(what: string): Error {
  // Deno's own words for a second accept, which its tests compare.
  if (what === "accept") return new Deno.errors.Busy("Another accept task is ongoing");
  return new Deno.errors.Busy(`another ${what} is already pending on this resource`);
}
