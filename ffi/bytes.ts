/**
 * The byte functions of the sockets tutorial (`bzero`, `bcopy`, `bcmp`,
 * `memset`, `memcpy`, `memmove`, `memcmp`) over `Uint8Array`s, calling glibc.
 *
 * Every argument is checked before libc is called, so no call can touch a
 * byte outside the views it is given:
 *
 * - a buffer that is not a genuine `Uint8Array` (a `Uint16Array`, a
 *   `DataView`, an `ArrayBuffer`, a Proxy, an object merely inheriting from
 *   `Uint8Array.prototype`) is a `TypeError`. Views of `SharedArrayBuffer`s
 *   and resizable `ArrayBuffer`s are accepted.
 * - the length `n` is required and must be a number (`TypeError` otherwise:
 *   strings, bigints, `null`, `undefined` and objects are never coerced); it
 *   must be an integer in `0..byteLength` of every buffer it describes
 *   (`RangeError` for negative, fractional, `NaN`, infinite or too long
 *   values). A detached buffer has `byteLength` 0.
 * - lengths are measured with the built-in `TypedArray.prototype.byteLength`
 *   getter captured when this module loads, so an own or inherited
 *   `byteLength` property that lies cannot widen the range libc is given.
 * - a length of 0 returns at once without calling libc (Deno passes NULL for
 *   empty views, and C's `memcpy(NULL, NULL, 0)` is undefined behaviour).
 *
 * Overlap: {@linkcode bcopy} and {@linkcode memmove} copy overlapping views
 * correctly. {@linkcode memcpy}, whose overlap is undefined behaviour in C,
 * throws a `RangeError` instead of calling libc when the two ranges overlap;
 * overlap is decided by comparing the views' real memory addresses, so it is
 * caught even for two distinct `SharedArrayBuffer` objects over the same
 * memory (e.g. one obtained through `structuredClone` or `postMessage`).
 *
 * Calling these needs `--allow-ffi`.
 *
 * @module
 */

import { byteLengthOf, describe, plainView } from "./checks.ts";
import { libc } from "./libc.ts";

const isInteger = Number.isInteger;
const pointerOf = Deno.UnsafePointer.of;
const pointerValue = Deno.UnsafePointer.value;
const viewLength = byteLengthOf;

/**
 * Checks the required length `n` itself. Called before any buffer is
 * measured: `n` is never coerced, so no caller code can run in between
 * and change what was measured.
 */
function countOf(n: unknown): number {
  if (n === undefined) {
    throw new TypeError("n (the number of bytes) is required");
  }
  if (typeof n !== "number") {
    throw new TypeError(`n must be a number, got ${describe(n)}`);
  }
  if (!isInteger(n) || n < 0) {
    throw new RangeError(`n must be a non-negative integer, got ${n}`);
  }
  return n + 0; // folds -0 into 0
}

/** Measures `view` (its true length) and checks that `count` bytes fit in it. */
function fits(count: number, name: string, view: unknown): void {
  const byteLength = viewLength(view, name);
  if (count > byteLength) {
    throw new RangeError(`n (${count}) is larger than ${name}.byteLength (${byteLength})`);
  }
}

/** The address of a non-empty view's first byte. */
function address(view: Uint8Array): number {
  // Deno.UnsafePointer.of reads `length`, which the caller's view may redefine.
  const pointer = pointerOf(plainView(view, "view"));
  if (pointer === null) throw new Error("no address for a non-empty view");
  return Number(pointerValue(pointer));
}

/**
 * Sets the first `n` bytes of `s` to zero (BSD `bzero`).
 *
 * @param s the bytes to clear.
 * @param n how many bytes, an integer in `0..s.byteLength`.
 * @throws {TypeError} when `s` is not a `Uint8Array` or `n` is missing or not a number.
 * @throws {RangeError} when `n` is negative, not an integer, or larger than `s.byteLength`.
 * @example
 * ```ts
 * import { bzero } from "./bytes.ts";
 * const addr = new Uint8Array([1, 2, 3, 4]);
 * bzero(addr, 2); // addr is now [0, 0, 3, 4]
 * ```
 */
export function bzero(s: Uint8Array, n: number): void {
  const count = countOf(n);
  fits(count, "s", s);
  if (count === 0) return;
  libc().bzero(s, BigInt(count));
}

/**
 * Copies the first `n` bytes of `src` to `dest` (BSD `bcopy`: the source
 * comes first). Overlapping views are copied correctly, as by `memmove`.
 *
 * @param src the bytes to copy.
 * @param dest where to copy them.
 * @param n how many bytes, an integer no larger than either `byteLength`.
 * @throws {TypeError} when a buffer is not a `Uint8Array` or `n` is missing or not a number.
 * @throws {RangeError} when `n` is negative, not an integer, or larger than a `byteLength`.
 * @example
 * ```ts
 * import { bcopy } from "./bytes.ts";
 * const from = new Uint8Array([127, 0, 0, 1]);
 * const to = new Uint8Array(4);
 * bcopy(from, to, 4); // to is now [127, 0, 0, 1]
 * ```
 */
export function bcopy(src: Uint8Array, dest: Uint8Array, n: number): void {
  const count = countOf(n);
  fits(count, "src", src);
  fits(count, "dest", dest);
  if (count === 0) return;
  libc().bcopy(src, dest, BigInt(count));
}

/**
 * Compares the first `n` bytes of `a` and `b` (BSD `bcmp`).
 *
 * @param a the first bytes.
 * @param b the second bytes.
 * @param n how many bytes, an integer no larger than either `byteLength`.
 * @returns 0 when the bytes are equal, a non-zero number otherwise (0 when `n` is 0).
 * @throws {TypeError} when a buffer is not a `Uint8Array` or `n` is missing or not a number.
 * @throws {RangeError} when `n` is negative, not an integer, or larger than a `byteLength`.
 * @example
 * ```ts
 * import { bcmp } from "./bytes.ts";
 * bcmp(new Uint8Array([1, 2]), new Uint8Array([1, 2]), 2); // 0
 * bcmp(new Uint8Array([1, 2]), new Uint8Array([1, 3]), 2) !== 0; // true
 * ```
 */
export function bcmp(a: Uint8Array, b: Uint8Array, n: number): number {
  const count = countOf(n);
  fits(count, "a", a);
  fits(count, "b", b);
  if (count === 0) return 0;
  return libc().bcmp(a, b, BigInt(count));
}

/**
 * Fills the first `n` bytes of `s` with the byte `c` (C `memset`).
 *
 * `c` must be an integer in `-128..255`: `0..255` is the byte itself and
 * `-128..-1` is read as a C `signed char` (so `-1` fills with `0xff`). Any
 * other value is a `RangeError` rather than being silently truncated as C
 * would.
 *
 * @param s the bytes to fill.
 * @param c the byte value, an integer in `-128..255`.
 * @param n how many bytes, an integer in `0..s.byteLength`.
 * @returns `s` itself (where C returns the `dest` pointer).
 * @throws {TypeError} when `s` is not a `Uint8Array`, or `c` or `n` is missing or not a number.
 * @throws {RangeError} when `c` is out of range, or `n` is negative, not an integer, or larger than `s.byteLength`.
 * @example
 * ```ts
 * import { memset } from "./bytes.ts";
 * const zero = memset(new Uint8Array(8), 0, 8); // [0, 0, 0, 0, 0, 0, 0, 0]
 * memset(zero, 0xff, 2); // [255, 255, 0, 0, 0, 0, 0, 0]
 * ```
 */
export function memset(s: Uint8Array, c: number, n: number): Uint8Array {
  if (typeof c !== "number") {
    throw new TypeError(`c must be a number, got ${describe(c)}`);
  }
  if (!isInteger(c) || c < -128 || c > 255) {
    throw new RangeError(`c must be an integer in -128..255, got ${c}`);
  }
  const count = countOf(n);
  fits(count, "s", s);
  if (count === 0) return s;
  libc().memset(s, c & 0xff, BigInt(count));
  return s;
}

/**
 * Copies the first `n` bytes of `src` to `dest` (C `memcpy`: the destination
 * comes first).
 *
 * In C, `memcpy` between overlapping ranges is undefined behaviour; here it
 * is a `RangeError` and nothing is copied. Use {@linkcode memmove} (or
 * {@linkcode bcopy}) when the ranges may overlap. Overlap is judged on the
 * real addresses of the `n`-byte ranges, whatever buffer objects they come
 * from; adjacent ranges do not overlap.
 *
 * @param dest where to copy the bytes.
 * @param src the bytes to copy.
 * @param n how many bytes, an integer no larger than either `byteLength`.
 * @returns `dest` itself (where C returns the `dest` pointer).
 * @throws {TypeError} when a buffer is not a `Uint8Array` or `n` is missing or not a number.
 * @throws {RangeError} when `n` is negative, not an integer, or larger than a `byteLength`,
 * or when the two `n`-byte ranges overlap.
 * @example
 * ```ts
 * import { memcpy } from "./bytes.ts";
 * const packet = new Uint8Array(6);
 * memcpy(packet.subarray(2), new Uint8Array([0x1f, 0x90]), 2); // packet is [0, 0, 31, 144, 0, 0]
 * ```
 */
export function memcpy(dest: Uint8Array, src: Uint8Array, n: number): Uint8Array {
  const count = countOf(n);
  fits(count, "dest", dest);
  fits(count, "src", src);
  if (count === 0) return dest;
  const symbols = libc(); // first, so a missing --allow-ffi gets the friendly message
  const d = address(dest);
  const s = address(src);
  if (d < s + count && s < d + count) {
    throw new RangeError(
      `memcpy: dest and src overlap (${count} bytes ${d - s} apart), ` +
        "which is undefined behaviour in C; use memmove or bcopy",
    );
  }
  symbols.memcpy(dest, src, BigInt(count));
  return dest;
}

/**
 * Copies the first `n` bytes of `src` to `dest` (C `memmove`: the
 * destination comes first); overlapping views are copied correctly, as if
 * through a temporary buffer.
 *
 * @param dest where to copy the bytes.
 * @param src the bytes to copy.
 * @param n how many bytes, an integer no larger than either `byteLength`.
 * @returns `dest` itself (where C returns the `dest` pointer).
 * @throws {TypeError} when a buffer is not a `Uint8Array` or `n` is missing or not a number.
 * @throws {RangeError} when `n` is negative, not an integer, or larger than a `byteLength`.
 * @example
 * ```ts
 * import { memmove } from "./bytes.ts";
 * const buf = new Uint8Array([1, 2, 3, 4, 5]);
 * memmove(buf.subarray(1), buf, 4); // buf is now [1, 1, 2, 3, 4]
 * ```
 */
export function memmove(dest: Uint8Array, src: Uint8Array, n: number): Uint8Array {
  const count = countOf(n);
  fits(count, "dest", dest);
  fits(count, "src", src);
  if (count === 0) return dest;
  libc().memmove(dest, src, BigInt(count));
  return dest;
}

/**
 * Compares the first `n` bytes of `a` and `b` as unsigned bytes (C `memcmp`).
 *
 * The result is exactly what libc returns: only its sign is meaningful (glibc
 * may return the difference of the first differing bytes, or any other
 * number of the same sign).
 *
 * @param a the first bytes.
 * @param b the second bytes.
 * @param n how many bytes, an integer no larger than either `byteLength`.
 * @returns a negative number, 0 or a positive number as `a` sorts before, equal to or after `b` (0 when `n` is 0).
 * @throws {TypeError} when a buffer is not a `Uint8Array` or `n` is missing or not a number.
 * @throws {RangeError} when `n` is negative, not an integer, or larger than a `byteLength`.
 * @example
 * ```ts
 * import { memcmp } from "./bytes.ts";
 * memcmp(new Uint8Array([1, 200]), new Uint8Array([1, 7]), 2) > 0; // true
 * ```
 */
export function memcmp(a: Uint8Array, b: Uint8Array, n: number): number {
  const count = countOf(n);
  fits(count, "a", a);
  fits(count, "b", b);
  if (count === 0) return 0;
  return libc().memcmp(a, b, BigInt(count));
}
