/**
 * Byte-order and address-text conversions (`htons`, `inet_aton`, `inet_pton`,
 * `inet_ntop` ...) in pure TypeScript, behaving exactly as glibc does, plus
 * {@linkcode libcConvert}: the same functions calling libc, against which the
 * pure ones are tested and benchmarked.
 *
 * The pure functions never call libc, so they need no `--allow-ffi` (the one
 * exception is the message of the {@linkcode SocketError} thrown for an
 * unsupported address family, which asks libc for `strerror` text when it
 * can and falls back to `errno 97` when it cannot).
 *
 * Strings reach C as NUL-terminated UTF-8. C therefore stops at the first
 * NUL, and the pure parsers do the same: everything from an embedded `"\0"`
 * on is ignored, exactly as C would ignore it. Any non-ASCII character is, in
 * UTF-8, a run of bytes >= 0x80, which glibc never takes for a digit, a dot or
 * white space; the pure parsers treat it the same way.
 *
 * `s_addr` values (what {@linkcode inet_addr} and {@linkcode inet_aton}
 * return, what {@linkcode inet_ntoa} takes) are the four network-order bytes of
 * a `struct in_addr` read as a host-order unsigned 32-bit number, as in C: on
 * a little-endian host `"127.0.0.1"` is `0x0100007f`.
 *
 * @module
 */

import { checkBytes, checkInt, checkInteger, describe } from "./checks.ts";
import { AF_INET, AF_INET6, EAFNOSUPPORT, INADDR_NONE, INET6_ADDRSTRLEN } from "./constants.ts";
import { errno, libc } from "./libc.ts";
import { SocketError } from "./errors.ts";

/** True on a little-endian host (computed once; a big-endian host gets identity byte swaps). */
const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const swap16 = (n: number): number => ((n & 0xff) << 8) | (n >>> 8);
const swap32 = (n: number): number =>
  (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;

// ---------------------------------------------------------------------------
// Byte order
// ---------------------------------------------------------------------------

/**
 * Host to network byte order, 16 bits (a port number).
 *
 * @param hostshort an integer in `0..65535`.
 * @returns the value with its two bytes in network (big-endian) order, as a
 *   host number: `htons(0x1234)` is `0x3412` on a little-endian host.
 * @throws {TypeError} when `hostshort` is not a number.
 * @throws {RangeError} when it is not an integer in `0..65535` (NaN, negative,
 *   fractional, too large): nothing is silently truncated.
 * @example
 * ```ts
 * import { htons } from "@bsd-sockets/ffi/ffi";
 * htons(80); // 20480 (0x5000) on x86_64
 * ```
 * @category Conversion
 */
export function htons(hostshort: number): number {
  checkInteger(hostshort, "hostshort", 0, 0xffff);
  return LITTLE_ENDIAN ? swap16(hostshort) : hostshort;
}

/**
 * Network to host byte order, 16 bits.
 *
 * @param netshort an integer in `0..65535`.
 * @returns the value read back in host order (`ntohs(htons(x)) === x`).
 * @throws {TypeError} when `netshort` is not a number.
 * @throws {RangeError} when it is not an integer in `0..65535`.
 * @example
 * ```ts
 * import { ntohs } from "@bsd-sockets/ffi/ffi";
 * ntohs(0x5000); // 80 on x86_64
 * ```
 * @category Conversion
 */
export function ntohs(netshort: number): number {
  checkInteger(netshort, "netshort", 0, 0xffff);
  return LITTLE_ENDIAN ? swap16(netshort) : netshort;
}

/**
 * Host to network byte order, 32 bits (an IPv4 address).
 *
 * @param hostlong an integer in `0..4294967295`.
 * @returns the value with its four bytes in network order, as an unsigned host
 *   number: `htonl(0x7f000001)` is `0x0100007f` on a little-endian host.
 * @throws {TypeError} when `hostlong` is not a number.
 * @throws {RangeError} when it is not an integer in `0..4294967295`.
 * @example
 * ```ts
 * import { htonl } from "@bsd-sockets/ffi/ffi";
 * htonl(0x7f000001); // 0x0100007f on x86_64
 * ```
 * @category Conversion
 */
export function htonl(hostlong: number): number {
  checkInteger(hostlong, "hostlong", 0, 0xffffffff);
  return LITTLE_ENDIAN ? swap32(hostlong) : hostlong;
}

/**
 * Network to host byte order, 32 bits.
 *
 * @param netlong an integer in `0..4294967295`.
 * @returns the value in host order, unsigned (`ntohl(htonl(x)) === x`).
 * @throws {TypeError} when `netlong` is not a number.
 * @throws {RangeError} when it is not an integer in `0..4294967295`.
 * @example
 * ```ts
 * import { ntohl } from "@bsd-sockets/ffi/ffi";
 * ntohl(0x0100007f); // 0x7f000001 on x86_64
 * ```
 * @category Conversion
 */
export function ntohl(netlong: number): number {
  checkInteger(netlong, "netlong", 0, 0xffffffff);
  return LITTLE_ENDIAN ? swap32(netlong) : netlong;
}

// ---------------------------------------------------------------------------
// IPv4 numbers-and-dots (inet_aton, inet_addr, inet_ntoa)
// ---------------------------------------------------------------------------

function checkString(value: unknown, name: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  }
  return value;
}

/** C's `isspace` in the "C" locale: space, \t, \n, \v, \f, \r. */
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** Value of a hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Largest value of the last part, by the number of parts before it. */
const LAST_PART_MAX = [0xffffffff, 0xffffff, 0xffff, 0xff];

/**
 * glibc's `inet_aton_end`: the address in host order (0..2**32-1), or -1.
 * Mirrors strtoul(cp, &end, 0) for each part, including its handling of a
 * "0x" not followed by a hex digit (the number is "0", the "x" is left over).
 */
function parseAton(cp: string): number {
  // C sees the string up to its first NUL.
  const nul = cp.indexOf("\0");
  const end = nul === -1 ? cp.length : nul;
  let i = 0;
  let c = end > 0 ? cp.charCodeAt(0) : 0;
  let parts = 0;
  let high = 0; // the dotted parts already read, in place
  let val = 0;
  for (;;) {
    if (c < 0x30 || c > 0x39) return -1;
    // strtoul, base 0: values above 2**32-1 are clamped (all are invalid).
    val = 0;
    if (c === 0x30) {
      const x = i + 1 < end ? cp.charCodeAt(i + 1) | 0x20 : 0;
      if (x === 0x78 && i + 2 < end && hexValue(cp.charCodeAt(i + 2)) >= 0) {
        i += 2;
        let d: number;
        while (i < end && (d = hexValue(cp.charCodeAt(i))) >= 0) {
          val = val * 16 + d;
          if (val > 0xffffffff) val = 0x100000000;
          i++;
        }
      } else {
        i++;
        let o: number;
        while (i < end && (o = cp.charCodeAt(i) - 0x30) >= 0 && o <= 7) {
          val = val * 8 + o;
          if (val > 0xffffffff) val = 0x100000000;
          i++;
        }
      }
    } else {
      let d: number;
      while (i < end && (d = cp.charCodeAt(i) - 0x30) >= 0 && d <= 9) {
        val = val * 10 + d;
        if (val > 0xffffffff) val = 0x100000000;
        i++;
      }
    }
    c = i < end ? cp.charCodeAt(i) : 0;
    if (c !== 0x2e) break;
    // a.b.c.d / a.b.c / a.b: at most three dotted parts, each a byte.
    if (parts > 2 || val > 0xff) return -1;
    high |= val << (24 - 8 * parts);
    parts++;
    i++;
    c = i < end ? cp.charCodeAt(i) : 0;
  }
  // Trailing characters: only white space (and whatever follows it).
  if (c !== 0 && !isSpace(c)) return -1;
  if (val > LAST_PART_MAX[parts]) return -1;
  return (high | val) >>> 0;
}

/**
 * Parses an IPv4 address in any numbers-and-dots form, as glibc's
 * `inet_aton` does.
 *
 * Accepted: `a.b.c.d`; `a.b.c` (the last part fills 16 bits, `"1.2.300"` is
 * 1.2.1.44); `a.b` (last part 24 bits); `a` (one 32-bit number). Each part is
 * decimal, octal with a leading `0` (`"010"` is 8) or hexadecimal with `0x`
 * / `0X`; a part before a dot must fit in a byte. After the address, the
 * first character must be the end of the string or ASCII white space, and
 * everything after that white space is ignored (`"1.2.3.4 junk"` is valid).
 * Leading white space is not allowed. Text after an embedded `"\0"` is
 * ignored, as C never sees it.
 *
 * @param cp the text.
 * @returns the `s_addr` value (network-order bytes read as a host-order
 *   unsigned number; `0x0100007f` for `"127.0.0.1"` on a little-endian host),
 *   or `null` when `cp` is not a valid address.
 * @throws {TypeError} when `cp` is not a string.
 * @example
 * ```ts
 * import { inet_aton, ntohl } from "@bsd-sockets/ffi/ffi";
 * const s = inet_aton("0x7f.1"); // 127.0.0.1
 * if (s !== null) console.log(ntohl(s).toString(16)); // "7f000001"
 * inet_aton("1.2.3.256"); // null
 * ```
 * @category Conversion
 */
export function inet_aton(cp: string): number | null {
  checkString(cp, "cp");
  const host = parseAton(cp);
  if (host < 0) return null;
  return LITTLE_ENDIAN ? swap32(host) : host;
}

/**
 * Parses an IPv4 address as glibc's `inet_addr` does: the forms of
 * {@linkcode inet_aton}, with `INADDR_NONE` (0xffffffff) for invalid text.
 *
 * Pitfall: `"255.255.255.255"` (and `"4294967295"`, `"0xffffffff"` ...) is a
 * valid address whose value is also `INADDR_NONE`, so the broadcast address
 * cannot be told from an error. Prefer {@linkcode inet_aton} (which returns
 * `null` on error) or {@linkcode inet_pton} (strict dotted quad).
 *
 * @param cp the text.
 * @returns the `s_addr` value (network-order bytes as a host-order unsigned
 *   number), or `INADDR_NONE` (4294967295) when `cp` is invalid.
 * @throws {TypeError} when `cp` is not a string.
 * @example
 * ```ts
 * import { inet_addr } from "@bsd-sockets/ffi/ffi";
 * inet_addr("127.0.0.1"); // 0x0100007f on x86_64
 * inet_addr("nonsense"); // 0xffffffff
 * inet_addr("255.255.255.255"); // 0xffffffff too: use inet_aton instead
 * ```
 * @category Conversion
 */
export function inet_addr(cp: string): number {
  checkString(cp, "cp");
  const host = parseAton(cp);
  if (host < 0) return INADDR_NONE;
  return LITTLE_ENDIAN ? swap32(host) : host;
}

/**
 * Formats an `s_addr` as a dotted quad, as glibc's `inet_ntoa` does (but
 * into a new string, not a shared static buffer).
 *
 * @param s_addr the address as {@linkcode inet_aton} returns it (network-order
 *   bytes read as a host-order unsigned 32-bit number).
 * @returns e.g. `"127.0.0.1"`.
 * @throws {TypeError} when `s_addr` is not a number.
 * @throws {RangeError} when it is not an integer in `0..4294967295`.
 * @example
 * ```ts
 * import { htonl, inet_ntoa } from "@bsd-sockets/ffi/ffi";
 * inet_ntoa(htonl(0x7f000001)); // "127.0.0.1"
 * ```
 * @category Conversion
 */
export function inet_ntoa(s_addr: number): string {
  checkInteger(s_addr, "s_addr", 0, 0xffffffff);
  if (LITTLE_ENDIAN) {
    return `${s_addr & 0xff}.${(s_addr >>> 8) & 0xff}.${(s_addr >>> 16) & 0xff}.${s_addr >>> 24}`;
  }
  return `${s_addr >>> 24}.${(s_addr >>> 16) & 0xff}.${(s_addr >>> 8) & 0xff}.${s_addr & 0xff}`;
}

// ---------------------------------------------------------------------------
// inet_pton / inet_ntop
// ---------------------------------------------------------------------------

/**
 * glibc's `inet_pton4` over `src[start..end)`: strict `d.d.d.d`, each part
 * 0..255 in decimal without leading zeros. Writes 4 bytes at `dst[at]`.
 */
function pton4(src: string, start: number, end: number, dst: Uint8Array, at: number): boolean {
  let sawDigit = false;
  let octets = 0;
  let cur = 0;
  for (let i = start; i < end; i++) {
    const ch = src.charCodeAt(i);
    if (ch >= 0x30 && ch <= 0x39) {
      if (sawDigit && cur === 0) return false; // leading zero
      cur = cur * 10 + (ch - 0x30);
      if (cur > 255) return false;
      if (!sawDigit) {
        if (++octets > 4) return false;
        sawDigit = true;
      }
    } else if (ch === 0x2e && sawDigit) {
      if (octets === 4) return false;
      dst[at++] = cur;
      cur = 0;
      sawDigit = false;
    } else {
      return false;
    }
  }
  if (octets < 4) return false;
  dst[at] = cur; // (on failure the caller discards what was written)
  return true;
}

/** Where inet_pton parses before copying out a valid result. */
const ptonScratch = new Uint8Array(16);

/** glibc's `inet_pton6` over `src[0..end)`, into `dst` (16 bytes, zeroed). */
function pton6(src: string, end: number, dst: Uint8Array): boolean {
  let i = 0;
  if (end === 0) return false;
  // Leading "::" requires some special handling.
  if (src.charCodeAt(0) === 0x3a) {
    i = 1;
    if (i === end || src.charCodeAt(i) !== 0x3a) return false;
  }
  let tp = 0;
  let colonp = -1;
  let curtok = i;
  let digits = 0;
  let val = 0;
  while (i < end) {
    const ch = src.charCodeAt(i++);
    const d = hexValue(ch);
    if (d >= 0) {
      if (digits === 4) return false;
      val = (val << 4) | d;
      digits++;
      continue;
    }
    if (ch === 0x3a) {
      curtok = i;
      if (digits === 0) {
        if (colonp !== -1) return false;
        colonp = tp;
        continue;
      } else if (i === end) {
        return false;
      }
      if (tp + 2 > 16) return false;
      dst[tp++] = val >>> 8;
      dst[tp++] = val & 0xff;
      digits = 0;
      val = 0;
      continue;
    }
    if (ch === 0x2e && tp + 4 <= 16 && pton4(src, curtok, end, dst, tp)) {
      tp += 4;
      digits = 0;
      break;
    }
    return false;
  }
  if (digits > 0) {
    if (tp + 2 > 16) return false;
    dst[tp++] = val >>> 8;
    dst[tp++] = val & 0xff;
  }
  if (colonp !== -1) {
    // Replace "::" with zeros; "::" may not stand for a zero-width field.
    if (tp === 16) return false;
    const n = tp - colonp;
    dst.copyWithin(16 - n, colonp, tp);
    dst.fill(0, colonp, 16 - n);
    tp = 16;
  }
  return tp === 16;
}

/**
 * Parses an address in its standard text form, as glibc's `inet_pton` does.
 *
 * `AF_INET`: exactly four decimal parts `0..255`, no leading zeros, nothing
 * else (`"01.2.3.4"`, `"1.2.3"`, `"1.2.3.4 "` are invalid). `AF_INET6`: up to
 * eight groups of 1 to 4 hex digits (either case), one `::`, optionally a
 * dotted quad in the last 32 bits (`"::ffff:1.2.3.4"`); no zone (`"%eth0"`),
 * no brackets, no white space. Text after an embedded `"\0"` is ignored.
 *
 * @param af `AF_INET` or `AF_INET6`.
 * @param src the text.
 * @returns the address in network order (4 bytes for `AF_INET`, 16 for
 *   `AF_INET6`), or `null` when `src` is not a valid address of that family.
 * @throws {TypeError} when `af` is not a number or `src` not a string.
 * @throws {RangeError} when `af` is not a 32-bit integer.
 * @throws {SocketError} `EAFNOSUPPORT` for any other family (glibc returns -1).
 * @example
 * ```ts
 * import { AF_INET6, inet_pton } from "@bsd-sockets/ffi/ffi";
 * inet_pton(AF_INET6, "::1"); // Uint8Array(16) [0, ..., 0, 1]
 * inet_pton(AF_INET6, "fe80::1%eth0"); // null
 * ```
 * @category Conversion
 */
export function inet_pton(af: number, src: string): Uint8Array | null {
  checkInt(af, "af");
  checkString(src, "src");
  const nul = src.indexOf("\0");
  const end = nul === -1 ? src.length : nul;
  // Parse into a scratch buffer and allocate only for a valid address: a
  // typed array costs hundreds of nanoseconds in Deno, more than the parse.
  if (af === AF_INET) return pton4(src, 0, end, ptonScratch, 0) ? ptonScratch.slice(0, 4) : null;
  if (af === AF_INET6) {
    ptonScratch.fill(0);
    return pton6(src, end, ptonScratch) ? ptonScratch.slice() : null;
  }
  throw new SocketError(EAFNOSUPPORT, "inet_pton", `address family ${af}`);
}

function ntop4(src: Uint8Array, at: number): string {
  return `${src[at]}.${src[at + 1]}.${src[at + 2]}.${src[at + 3]}`;
}

/** glibc's `inet_ntop6`. */
function ntop6(src: Uint8Array): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = (src[2 * i] << 8) | src[2 * i + 1];
  // The longest run of zero words (the first one on ties), if 2 or longer.
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;

  let out = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    // An encapsulated IPv4 address: ::a.b.c.d (IPv4-compatible, exactly six
    // leading zero words) or ::ffff:a.b.c.d (IPv4-mapped).
    if (
      i === 6 && bestBase === 0 &&
      (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))
    ) {
      return out + ntop4(src, 12);
    }
    out += words[i].toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ":";
  return out;
}

/**
 * Formats an address in its standard text form, exactly as glibc's
 * `inet_ntop` does.
 *
 * `AF_INET`: `"a.b.c.d"`. `AF_INET6`: lowercase hex groups without leading
 * zeros; the longest run of two or more zero groups (the first on ties)
 * becomes `"::"`; a single zero group stays `"0"`. The last 32 bits are
 * printed as a dotted quad when the first 96 bits are `::ffff:0:0/96`
 * (IPv4-mapped, `"::ffff:1.2.3.4"`, including `"::ffff:0.0.0.0"`) or when
 * exactly the first six groups are zero (IPv4-compatible: `"::1.2.3.4"`,
 * `"::1.0.0.0"`, but `"::1"` and `"::"` since then more than six groups are
 * zero).
 *
 * @param af `AF_INET` or `AF_INET6`.
 * @param src the address in network order; only its first 4 (`AF_INET`) or
 *   16 (`AF_INET6`) bytes are read.
 * @returns the text.
 * @throws {TypeError} when `af` is not a number or `src` is not a Uint8Array.
 * @throws {RangeError} when `af` is not a 32-bit integer, or `src` is shorter
 *   than the address.
 * @throws {SocketError} `EAFNOSUPPORT` for any other family.
 * @example
 * ```ts
 * import { AF_INET, AF_INET6, inet_ntop } from "@bsd-sockets/ffi/ffi";
 * inet_ntop(AF_INET, new Uint8Array([127, 0, 0, 1])); // "127.0.0.1"
 * const a = new Uint8Array(16);
 * a[10] = a[11] = 0xff;
 * a.set([192, 0, 2, 1], 12);
 * inet_ntop(AF_INET6, a); // "::ffff:192.0.2.1"
 * ```
 * @category Conversion
 */
export function inet_ntop(af: number, src: Uint8Array): string {
  const need = checkNtopArguments(af, src);
  if (need === 4) return ntop4(src, 0);
  if (need === 16) return ntop6(src);
  throw new SocketError(EAFNOSUPPORT, "inet_ntop", `address family ${af}`);
}

/**
 * Checks inet_ntop's arguments.
 * @returns the address size: 4, 16, or 0 for a family inet_ntop does not know.
 */
function checkNtopArguments(af: number, src: Uint8Array): number {
  checkInt(af, "af");
  checkBytes(src, "src");
  const need = af === AF_INET ? 4 : af === AF_INET6 ? 16 : 0;
  // The true length, not a `length` property user code may have redefined:
  // libc reads `need` bytes from the buffer.
  const length = apply(typedArrayLength, src, []) as number;
  if (length < need) {
    throw new RangeError(
      `src must hold at least ${need} bytes for address family ${af}, got ${length}`,
    );
  }
  return need;
}

const apply = Reflect.apply;
const typedArrayLength: () => number = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  "length",
)!.get!;

// ---------------------------------------------------------------------------
// The libc-backed twins
// ---------------------------------------------------------------------------

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);
const sAddrCell = new Uint8Array(4);
const sAddrView = new DataView(sAddrCell.buffer);
const ntopOut = new Uint8Array(INET6_ADDRSTRLEN);
const ptonOut = new Uint8Array(16);

/** `text` as a NUL-terminated UTF-8 string in a reused buffer. */
function cStringOf(text: string): Uint8Array {
  if (scratch.length < text.length * 3 + 1) scratch = new Uint8Array(text.length * 3 + 1);
  const { written } = encoder.encodeInto(text, scratch);
  scratch[written] = 0;
  return scratch;
}

function libcHtons(hostshort: number): number {
  return libc().htons(checkInteger(hostshort, "hostshort", 0, 0xffff));
}

function libcNtohs(netshort: number): number {
  return libc().ntohs(checkInteger(netshort, "netshort", 0, 0xffff));
}

function libcHtonl(hostlong: number): number {
  return libc().htonl(checkInteger(hostlong, "hostlong", 0, 0xffffffff));
}

function libcNtohl(netlong: number): number {
  return libc().ntohl(checkInteger(netlong, "netlong", 0, 0xffffffff));
}

function libcInetAddr(cp: string): number {
  return libc().inet_addr(cStringOf(checkString(cp, "cp")));
}

function libcInetAton(cp: string): number | null {
  const ok = libc().inet_aton(cStringOf(checkString(cp, "cp")), sAddrCell);
  return ok === 0 ? null : sAddrView.getUint32(0, LITTLE_ENDIAN);
}

function libcInetNtoa(s_addr: number): string {
  const p = libc().inet_ntoa(checkInteger(s_addr, "s_addr", 0, 0xffffffff));
  // The result lives in a static buffer that the next call overwrites.
  return Deno.UnsafePointerView.getCString(p!);
}

function libcInetPton(af: number, src: string): Uint8Array | null {
  checkInt(af, "af");
  checkString(src, "src");
  const r = libc().inet_pton(af, cStringOf(src), ptonOut);
  if (r === -1) throw new SocketError(errno(), "inet_pton", `address family ${af}`);
  if (r === 0) return null;
  return ptonOut.slice(0, af === AF_INET ? 4 : 16);
}

function libcInetNtop(af: number, src: Uint8Array): string {
  checkNtopArguments(af, src);
  const p = libc().inet_ntop(af, src, ntopOut, ntopOut.length);
  if (p === null) throw new SocketError(errno(), "inet_ntop", `address family ${af}`);
  let n = 0;
  while (ntopOut[n] !== 0) n++;
  return String.fromCharCode.apply(null, ntopOut.subarray(0, n) as unknown as number[]);
}

/**
 * The shape of {@linkcode libcConvert}: the conversion functions of this module.
 *
 * @example
 * ```ts
 * import * as pure from "@bsd-sockets/ffi/ffi";
 * import { AF_INET, type ConvertFunctions } from "@bsd-sockets/ffi/ffi";
 * const impl: ConvertFunctions = pure; // or libcConvert, glibc's versions
 * impl.inet_ntop(AF_INET, new Uint8Array([10, 0, 0, 1])); // "10.0.0.1"
 * ```
 * @category Conversion
 */
export interface ConvertFunctions {
  /** See {@linkcode htons}. */
  htons(hostshort: number): number;
  /** See {@linkcode ntohs}. */
  ntohs(netshort: number): number;
  /** See {@linkcode htonl}. */
  htonl(hostlong: number): number;
  /** See {@linkcode ntohl}. */
  ntohl(netlong: number): number;
  /** See {@linkcode inet_addr}. */
  inet_addr(cp: string): number;
  /** See {@linkcode inet_aton}. */
  inet_aton(cp: string): number | null;
  /** See {@linkcode inet_ntoa}. */
  inet_ntoa(s_addr: number): string;
  /** See {@linkcode inet_pton}. */
  inet_pton(af: number, src: string): Uint8Array | null;
  /** See {@linkcode inet_ntop}. */
  inet_ntop(af: number, src: Uint8Array): string;
}

/**
 * The same conversions done by calling glibc (needs `--allow-ffi`): the
 * reference the pure functions are tested and benchmarked against.
 *
 * Arguments are checked exactly as the pure functions check them (same
 * TypeError/RangeError), strings are passed as NUL-terminated UTF-8 (so C
 * stops at an embedded NUL), `inet_ntoa`'s static buffer is copied out at
 * once, and a -1/NULL from `inet_pton`/`inet_ntop` becomes a
 * {@linkcode SocketError} carrying errno (`EAFNOSUPPORT`).
 *
 * @example
 * ```ts
 * import { inet_aton, libcConvert } from "@bsd-sockets/ffi/ffi";
 * // needs --allow-ffi
 * console.log(libcConvert.inet_aton("10.1") === inet_aton("10.1")); // true
 * ```
 * @category Conversion
 */
export const libcConvert: Readonly<ConvertFunctions> = Object.freeze({
  htons: libcHtons,
  ntohs: libcNtohs,
  htonl: libcHtonl,
  ntohl: libcNtohl,
  inet_addr: libcInetAddr,
  inet_aton: libcInetAton,
  inet_ntoa: libcInetNtoa,
  inet_pton: libcInetPton,
  inet_ntop: libcInetNtop,
});
