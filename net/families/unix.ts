/**
 * The Unix address family (`AF_UNIX`): `struct sockaddr_un` written and read
 * at the offsets the `ffi/structs.ts` layout declares, Linux abstract names,
 * and the one place a path is both encoded and checked against Deno's
 * permissions, so the path checked is always the path the kernel sees.
 *
 * @module
 */

import { AF_UNIX } from "../../ffi/constants.ts";
import { sockaddr_un, SUN_PATH_SIZE } from "../../ffi/structs.ts";
import { checkUnixPath } from "../permissions.ts";
import { writeFamily } from "./family.ts";

const PATH_AT = sockaddr_un.field("sun_path").offset;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a Unix socket path as `struct sockaddr_un`. A path starting with
 * `"\0"` is a Linux abstract name (no file; the length counts exactly).
 *
 * @param path the path.
 * @returns the bytes, exactly as long as the kernel should read.
 * @throws {TypeError} for a non-string or empty path, or a NUL inside a file path.
 * @throws {RangeError} when the path does not fit `sun_path` (108 bytes).
 */
export function encodeUnix(path: string): Uint8Array {
  if (typeof path !== "string") throw new TypeError("path must be a string");
  if (path.length === 0) throw new TypeError("path must not be empty");
  const abstract = path[0] === "\0";
  if (!abstract && path.includes("\0")) throw new TypeError("path must not contain NUL bytes");
  const pathBytes = encoder.encode(path);
  // A file path needs room for its terminating NUL; an abstract name does not.
  const room = abstract ? SUN_PATH_SIZE : SUN_PATH_SIZE - 1;
  if (pathBytes.byteLength > room) {
    throw new RangeError(
      `Unix socket path is ${pathBytes.byteLength} bytes, longer than the ${room} that sun_path holds`,
    );
  }
  const bytes = new Uint8Array(PATH_AT + pathBytes.byteLength + (abstract ? 0 : 1));
  writeFamily(bytes, AF_UNIX);
  bytes.set(pathBytes, PATH_AT);
  return bytes;
}

/**
 * Encodes `path` and checks it against Deno's permissions: the one step
 * every bind, connect and send to a Unix path takes.
 *
 * @param path the path (read once by the caller: the path checked is the path used).
 * @param access `"readwrite"` to bind or connect, `"write"` to send a datagram (as Deno checks).
 * @returns the `sockaddr_un` bytes.
 * @throws {TypeError | RangeError} for a bad path, before any permission query.
 * @throws {Deno.errors.NotCapable} without the permissions.
 */
export function unixAddress(path: string, access: "readwrite" | "write" = "readwrite"): Uint8Array {
  const bytes = encodeUnix(path);
  checkUnixPath(path, access);
  return bytes;
}

/**
 * Reads the path of a `sockaddr_un` of `length` bytes.
 *
 * @param bytes the buffer.
 * @param length the length the kernel reported.
 * @returns the path: `""` for an unnamed socket, a leading `"\0"` for an abstract name.
 */
export function decodeUnix(bytes: Uint8Array, length: number): string {
  let end = length;
  if (length > PATH_AT && bytes[PATH_AT] !== 0) {
    // A file path: stop at its NUL terminator.
    const nul = bytes.subarray(PATH_AT, length).indexOf(0);
    if (nul !== -1) end = PATH_AT + nul;
  }
  return end > PATH_AT ? decoder.decode(bytes.subarray(PATH_AT, end)) : "";
}
