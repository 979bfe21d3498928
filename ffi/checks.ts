/**
 * Argument checks run before anything reaches libc. A wrong type is a
 * `TypeError`, a value out of range a `RangeError`; both name the argument.
 * libc is never called with a length larger than the buffer it describes.
 *
 * @module
 */

// Built-ins captured at load time, so later monkey-patching of prototypes
// cannot change what the checks measure. A Uint8Array's own `byteLength`
// property can be redefined by user code; the TypedArray getter cannot lie.
const typedArrayPrototype: object = Object.getPrototypeOf(Uint8Array.prototype);
const intrinsicGetter = (key: PropertyKey): (this: unknown) => unknown => {
  const get = Object.getOwnPropertyDescriptor(typedArrayPrototype, key)?.get;
  if (get === undefined) throw new Error(`TypedArray.prototype has no ${String(key)} getter`);
  return get;
};
const getByteLength = intrinsicGetter("byteLength");
const getTypedArrayName = intrinsicGetter(Symbol.toStringTag);
const getBuffer = intrinsicGetter("buffer");
const getByteOffset = intrinsicGetter("byteOffset");
const apply = Reflect.apply;
const isInteger = Number.isInteger;
const isArray = Array.isArray;
const getPrototypeOf = Object.getPrototypeOf;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const U8 = Uint8Array;

/**
 * The true byte length of a genuine `Uint8Array` (0 when detached or out of
 * bounds), read through the built-in getter so that a redefined
 * `byteLength` property cannot make libc write past the buffer.
 *
 * @param value the argument.
 * @param name its name, for the message.
 * @returns the length in bytes.
 * @throws {TypeError} when `value` is not a real `Uint8Array` (a Proxy, a
 *   DataView, an object with a Uint8Array prototype...).
 * @example
 * ```ts
 * import { byteLengthOf } from "./checks.ts";
 * byteLengthOf(new Uint8Array(8), "buf"); // 8
 * ```
 */
export function byteLengthOf(value: unknown, name: string): number {
  // [[TypedArrayName]] exists only on real typed arrays.
  if (apply(getTypedArrayName, value, []) !== "Uint8Array") {
    throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  }
  return apply(getByteLength, value, []) as number;
}

/**
 * A plain `Uint8Array` over exactly the bytes of `value`, made through the
 * intrinsic getters: whatever `byteLength`, `length`, `byteOffset`,
 * `buffer` or `subarray` the caller's object redefines, the result has none
 * of it. For code that must hand a view to something that reads those
 * properties (`Deno.UnsafePointer.of` reads `length`) or index it safely.
 *
 * @param value the argument.
 * @param name its name, for the message.
 * @returns the plain view (sharing `value`'s memory).
 * @throws {TypeError} when `value` is not a real `Uint8Array`.
 * @example
 * ```ts
 * import { plainView } from "./checks.ts";
 * plainView(new Uint8Array(8).subarray(2), "buf").byteOffset; // 2
 * ```
 */
export function plainView(value: unknown, name: string): Uint8Array {
  const length = byteLengthOf(value, name);
  if (length === 0) return new Uint8Array(0); // also a detached or out-of-bounds view
  return new U8(
    apply(getBuffer, value, []) as ArrayBufferLike,
    apply(getByteOffset, value, []) as number,
    length,
  );
}

/**
 * Largest count Linux moves in one read/write (`MAX_RW_COUNT`), so an `i32` result is lossless.
 *
 * @example
 * ```ts
 * import { MAX_IO_COUNT } from "./checks.ts";
 * const data = new Uint8Array(1 << 20);
 * const count = Math.min(data.byteLength, MAX_IO_COUNT); // what one write() may move
 * ```
 */
export const MAX_IO_COUNT = 0x7ffff000;

/**
 * Checks that `value` is an integer in `min..max`. Only a primitive number
 * passes: nothing is coerced, so no `valueOf` or `Symbol.toPrimitive` of the
 * caller's runs. `-0` is an integer like `0` and comes back as `0`, because
 * Deno's FFI refuses `-0` for its integer types with a message that names
 * no argument.
 *
 * Callers must pass on the returned value, not `value`: it is the one that
 * was checked (and normalised).
 *
 * @param value the argument.
 * @param name its name, for the message.
 * @param min smallest allowed value.
 * @param max largest allowed value.
 * @returns `value`, typed as a number (`0` for `-0`).
 * @throws {TypeError} when `value` is not a number.
 * @throws {RangeError} when it is not an integer in range.
 * @example
 * ```ts
 * import { checkInteger } from "./checks.ts";
 * checkInteger(80, "port", 0, 65535); // 80
 * Object.is(checkInteger(-0, "port", 0, 65535), 0); // true
 * ```
 */
export function checkInteger(
  value: unknown,
  name: string,
  min: number,
  max: number,
): number {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  }
  if (!isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be an integer in ${min}..${max}, got ${value}`,
    );
  }
  return value + 0; // -0 + 0 is +0
}

/**
 * Checks a C `int` argument (flags, levels, option names, protocols).
 *
 * @param value the argument.
 * @param name its name.
 * @returns the value.
 * @throws {TypeError | RangeError} when it is not a 32-bit signed integer.
 * @example
 * ```ts
 * import { checkInt } from "./checks.ts";
 * checkInt(0, "flags"); // 0
 * ```
 */
export function checkInt(value: unknown, name: string): number {
  return checkInteger(value, name, -0x80000000, 0x7fffffff);
}

/**
 * Checks a file descriptor: an integer in `0..2**31-1`. (Whether it is open
 * is for the kernel to say, as `EBADF`.)
 *
 * @param fd the descriptor.
 * @param name the argument name.
 * @returns the descriptor.
 * @throws {TypeError | RangeError} when it is not a possible descriptor.
 * @example
 * ```ts
 * import { checkFd } from "./checks.ts";
 * checkFd(3); // 3
 * ```
 */
export function checkFd(fd: unknown, name = "fd"): number {
  return checkInteger(fd, name, 0, 0x7fffffff);
}

/**
 * Checks that `buffer` is a `Uint8Array` (any backing store, shared or not).
 *
 * @param buffer the argument.
 * @param name its name.
 * @returns the buffer.
 * @throws {TypeError} for anything else.
 * @example
 * ```ts
 * import { checkBytes } from "./checks.ts";
 * checkBytes(new Uint8Array(4), "buf");
 * ```
 */
export function checkBytes(buffer: unknown, name: string): Uint8Array {
  byteLengthOf(buffer, name);
  return buffer as Uint8Array;
}

/**
 * Checks a length argument against the buffers it describes: an integer,
 * not negative, and no larger than any buffer's `byteLength` (a detached
 * buffer has `byteLength` 0). `n` must be a primitive number: it is never
 * coerced, so no code of the caller's runs between measuring the buffers
 * and calling libc. `-0` comes back as `0`.
 *
 * @param n the length (defaults to the smallest buffer's length when undefined).
 * @param name the argument name.
 * @param buffers the buffers the length applies to, as `[name, buffer]`.
 * @returns the checked length: hand this value to libc, not `n`.
 * @throws {TypeError} when `n` is not a number or a buffer not a `Uint8Array`.
 * @throws {RangeError} when `n` is negative, fractional, NaN, or too long.
 * @example
 * ```ts
 * import { checkLength } from "./checks.ts";
 * checkLength(4, "n", ["buf", new Uint8Array(8)]); // 4
 * ```
 */
export function checkLength(
  n: unknown,
  name: string,
  ...buffers: [string, Uint8Array][]
): number {
  if (buffers.length === 1) return checkLength1(n, name, buffers[0][0], buffers[0][1]);
  let limit = Number.MAX_SAFE_INTEGER;
  const lengths: number[] = [];
  for (const [bufferName, b] of buffers) {
    const length = byteLengthOf(b, bufferName);
    lengths.push(length);
    if (length < limit) limit = length;
  }
  if (n === undefined) return limit;
  checkCount(n, name);
  for (let i = 0; i < buffers.length; i++) {
    if ((n as number) > lengths[i]) {
      throw new RangeError(
        `${name} (${n}) is larger than ${buffers[i][0]}.byteLength (${lengths[i]})`,
      );
    }
  }
  return (n as number) + 0;
}

/**
 * {@linkcode checkLength} for one buffer, without the rest-argument arrays:
 * the I/O wrappers call it on every read and write.
 *
 * @param n the length (defaults to `buffer`'s length when undefined).
 * @param name the argument name.
 * @param bufferName the buffer's argument name.
 * @param buffer the buffer the length applies to.
 * @returns the checked length: hand this value to libc, not `n`.
 * @throws {TypeError} when `n` is not a number or `buffer` not a `Uint8Array`.
 * @throws {RangeError} when `n` is negative, fractional, NaN, or too long.
 * @example
 * ```ts
 * import { checkLength1 } from "./checks.ts";
 * checkLength1(undefined, "n", "buf", new Uint8Array(8)); // 8
 * ```
 */
export function checkLength1(
  n: unknown,
  name: string,
  bufferName: string,
  buffer: unknown,
): number {
  const length = byteLengthOf(buffer, bufferName);
  if (n === undefined) return length;
  checkCount(n, name);
  if ((n as number) > length) {
    throw new RangeError(`${name} (${n}) is larger than ${bufferName}.byteLength (${length})`);
  }
  return (n as number) + 0;
}

function checkCount(n: unknown, name: string): void {
  if (typeof n !== "number") {
    throw new TypeError(`${name} must be a number, got ${describe(n)}`);
  }
  if (!isInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  }
}

/**
 * Checks an in/out `socklen_t *` argument and the buffer it describes:
 * `len` is a `Uint32Array` of at least one element whose first element, the
 * capacity handed to the kernel, is no larger than `buffer.byteLength`.
 *
 * `len[0]` is read exactly once. The cell may live in a `SharedArrayBuffer`
 * that another thread writes at any moment, so a value read for the check
 * and read again for the kernel could differ: the kernel would then be told
 * the buffer is larger than it is. The one value read is checked and copied
 * into a private cell, and the kernel is given that cell, never `len`.
 *
 * @param buffer the struct buffer (may be null together with `len`).
 * @param len the length cell.
 * @param what the call, for messages.
 * @param bufferName the buffer argument's name, for messages.
 * @param lenName the cell argument's name, for messages.
 * @returns a private cell holding the checked capacity, to hand to the
 *   kernel instead of `len` (copy its value back to `len` after the call,
 *   before any other call of this function reuses it), or null when both
 *   are null.
 * @throws {TypeError | RangeError} when they do not match.
 * @example
 * ```ts
 * import { checkLengthCell } from "./checks.ts";
 * const len = new Uint32Array([16]);
 * const cell = checkLengthCell(new Uint8Array(16), len, "accept")!;
 * cell !== len; // true: the kernel gets a copy
 * cell[0]; // 16
 * ```
 */
export function checkLengthCell(
  buffer: Uint8Array | null,
  len: Uint32Array | null,
  what: string,
  bufferName = "addr",
  lenName = "addrlen",
): Uint32Array | null {
  if (buffer === null && len === null) return null;
  if (buffer === null || len === null) {
    throw new TypeError(`${what}: ${bufferName} and ${lenName} must both be given or both be null`);
  }
  const capacity = byteLengthOf(buffer, `${what}: ${bufferName}`);
  if (
    apply(getTypedArrayName, len, []) !== "Uint32Array" ||
    (apply(getByteLength, len, []) as number) < 4
  ) {
    throw new TypeError(`${what}: ${lenName} must be a Uint32Array of at least one element`);
  }
  const requested = len[0]; // the only read of the caller's cell
  if (requested > capacity) {
    throw new RangeError(
      `${what}: ${lenName} (${requested}) is larger than ${bufferName}.byteLength (${capacity})`,
    );
  }
  privateCell[0] = requested;
  return privateCell;
}

// One cell for every call: each is used between its check and the
// synchronous libc call right after it, with no caller code in between.
const privateCell = new Uint32Array(1);

/**
 * Checks an `int[count]` out-argument (`socketpair`'s `sv`, `pipe2`'s `fds`):
 * a genuine `Int32Array` whose true byte length (read through the built-in
 * getter, not a redefinable `length`) holds `count` elements.
 *
 * @param value the argument.
 * @param name its name, for the message.
 * @param count how many `int`s the kernel writes.
 * @returns the array.
 * @throws {TypeError} for anything else.
 * @example
 * ```ts
 * import { checkInt32Array } from "./checks.ts";
 * checkInt32Array(new Int32Array(2), "sv", 2);
 * ```
 */
export function checkInt32Array(value: unknown, name: string, count: number): Int32Array {
  if (
    apply(getTypedArrayName, value, []) !== "Int32Array" ||
    (apply(getByteLength, value, []) as number) < count * 4
  ) {
    throw new TypeError(
      `${name} must be an Int32Array of at least ${count} elements, got ${describe(value)}`,
    );
  }
  return value as Int32Array;
}

/**
 * A short description of a value's type, for error messages. It reads only
 * internal slots and data properties, never a getter or a Proxy's `get`
 * trap: those are the caller's code, and an error path must not run it (nor
 * let it replace the TypeError being built with an error of its own).
 *
 * @param value anything.
 * @returns e.g. `"string"`, `"null"`, `"Array"`, `"Uint16Array"`, `"object"`.
 * @example
 * ```ts
 * import { describe } from "./checks.ts";
 * describe([]); // "Array"
 * describe(new DataView(new ArrayBuffer(1))); // "DataView"
 * ```
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const typed = apply(getTypedArrayName, value, []);
  if (typed !== undefined) return typed as string;
  try {
    if (isArray(value)) return "Array";
    const proto = getPrototypeOf(value);
    if (proto === null) return "object";
    const ctor = getOwnPropertyDescriptor(proto, "constructor")?.value;
    if (typeof ctor !== "function") return "object";
    const name = getOwnPropertyDescriptor(ctor, "name")?.value;
    return typeof name === "string" && name !== "" ? name : "object";
  } catch {
    return "object"; // a revoked Proxy, or a trap that threw
  }
}
