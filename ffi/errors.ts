/**
 * errno → {@linkcode SocketError}: the one error class of the FFI layer.
 *
 * @module
 */

import { checkInt } from "./checks.ts";
import { ERRNO } from "./constants.ts";
import { cString, errno, libc } from "./libc.ts";

const BRAND: unique symbol = Symbol.for("bsd-sockets.SocketError");

const NAMES: Map<number, string> = new Map(
  Object.entries(ERRNO).map(([name, value]) => [value, name]),
);
const messages: Map<number, string> = new Map();

/**
 * The errno name for a number, e.g. `111` → `"ECONNREFUSED"`.
 *
 * @param value an errno value.
 * @returns the name, or `"E<number>"` for a value the table lacks.
 * @example
 * ```ts
 * import { errnoName } from "./errors.ts";
 * errnoName(111); // "ECONNREFUSED"
 * ```
 */
export function errnoName(value: number): string {
  const name = NAMES.get(value);
  if (name !== undefined) return name;
  // Never coerce a non-number into the name: its toString could throw or lie.
  if (typeof value !== "number") throw new TypeError(`errno must be a number, got ${typeof value}`);
  return `E${value}`;
}

/**
 * The `strerror` text for an errno value (cached: messages never change).
 *
 * @param value an errno value (an `int`; `-0` is `0`).
 * @returns e.g. `"Connection refused"`.
 * @throws {TypeError | RangeError} when `value` is not a 32-bit integer.
 * @example
 * ```ts
 * import { strerror } from "./errors.ts";
 * strerror(111); // "Connection refused" (needs --allow-ffi)
 * ```
 */
export function strerror(value: number): string {
  // Checked here, not by Deno's FFI: its message for -0, 1.5 or "5" names no argument.
  const e = checkInt(value, "errno");
  let text = messages.get(e);
  if (text === undefined) {
    text = cString(libc().strerror(e)) ?? `Unknown error ${e}`;
    messages.set(e, text);
  }
  return text;
}

/**
 * A failed libc call: carries the errno number, its name and the call.
 *
 * @example
 * ```ts
 * import { SocketError } from "./errors.ts";
 * import * as ffi from "./mod.ts";
 * try {
 *   ffi.close(-1);
 * } catch (e) {
 *   if (e instanceof SocketError) console.log(e.code, e.syscall); // EBADF close
 * }
 * ```
 */
export class SocketError extends Error {
  /**
   * `instanceof SocketError` is also true for the errors the ergonomic layer
   * raises as Deno's own classes (`Deno.errors.ConnectionRefused`, ...) with
   * the same `errno`, `code` and `syscall` fields: see {@linkcode brandSocketError}.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== SocketError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null &&
      (value as { [BRAND]?: boolean })[BRAND] === true;
  }

  /** The errno value, e.g. `111`. */
  readonly errno: number;
  /** The errno name, e.g. `"ECONNREFUSED"`. */
  readonly code: string;
  /** The libc function that failed, e.g. `"connect"`. */
  readonly syscall: string;

  /**
   * Creates the error for a failed call; the message comes from `strerror`.
   *
   * @param errnoValue the errno of the failure.
   * @param syscall the name of the failing libc call.
   * @param detail optional context appended to the message (an address, a path).
   * @param options standard error options (`cause`).
   */
  constructor(
    errnoValue: number,
    syscall: string,
    detail?: string,
    options?: ErrorOptions,
  ) {
    const code = errnoName(errnoValue);
    super(
      // Deno's own errors end their text in "(os error N)", which code written
      // for Deno (and Deno's tests) match on: ours carry it too, after the code.
      `${syscall}: ${safeStrerror(errnoValue)} (${code}) (os error ${
        errnoValue === 0 ? 0 : errnoValue
      })${detail ? `: ${detail}` : ""}`,
      options,
    );
    this.name = "SocketError";
    (this as { [BRAND]?: boolean })[BRAND] = true;
    this.errno = errnoValue === 0 ? 0 : errnoValue; // never -0
    this.code = code;
    this.syscall = syscall;
  }
}

function safeStrerror(value: number): string {
  try {
    return strerror(value);
  } catch {
    return `errno ${value}`;
  }
}

/**
 * Builds a {@linkcode SocketError} from the current errno. Call it right
 * after the failing libc call.
 *
 * @param syscall the name of the call that returned -1.
 * @param detail optional context for the message.
 * @returns the error (not thrown, so callers can decide).
 * @example
 * ```ts
 * import { lastError } from "./errors.ts";
 * import { libc } from "./libc.ts";
 * if (libc().close(-1) === -1) console.log(lastError("close").code); // "EBADF"
 * ```
 */
export function lastError(syscall: string, detail?: string): SocketError {
  return new SocketError(errno(), syscall, detail);
}

/**
 * The fields every socket error carries, whatever its class.
 *
 * @example
 * ```ts
 * import { brandSocketError, type SocketErrorFields } from "./errors.ts";
 * function describe(e: SocketErrorFields): string {
 *   return `${e.syscall}: ${e.code} (${e.errno})`;
 * }
 * describe(brandSocketError(Deno.errors.ConnectionReset, 104, "recv")); // "recv: ECONNRESET (104)"
 * ```
 */
export interface SocketErrorFields {
  /** The errno value. */
  readonly errno: number;
  /** The errno name. */
  readonly code: string;
  /** The failing call. */
  readonly syscall: string;
}

/**
 * Builds an error of another class (such as `Deno.errors.ConnectionReset`)
 * that also carries `errno`, `code` and `syscall` and is `instanceof SocketError`.
 *
 * @param ErrorClass the class to instantiate (its constructor takes a message).
 * @param errnoValue the errno.
 * @param syscall the failing call.
 * @param detail optional context.
 * @returns the branded error.
 * @example
 * ```ts
 * import { brandSocketError, SocketError } from "./errors.ts";
 * const e = brandSocketError(Deno.errors.ConnectionRefused, 111, "connect");
 * e instanceof SocketError; // true
 * e instanceof Deno.errors.ConnectionRefused; // true
 * ```
 */
export function brandSocketError<E extends Error>(
  ErrorClass: new (message: string) => E,
  errnoValue: number,
  syscall: string,
  detail?: string,
): E & SocketErrorFields {
  const template = new SocketError(errnoValue, syscall, detail);
  const error = new ErrorClass(template.message) as E & SocketErrorFields;
  Object.defineProperties(error, {
    [BRAND]: { value: true },
    errno: { value: errnoValue, enumerable: true },
    code: { value: template.code, enumerable: true },
    syscall: { value: syscall, enumerable: true },
  });
  return error;
}
