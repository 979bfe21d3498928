/**
 * Where a socket address keeps its family (`sa_family_t`), in one place:
 * offset and width come from the declared `sockaddr_storage` layout (Linux:
 * 2 bytes at offset 0, host order; BSD would declare a length byte and a
 * 1-byte family there), so no family file writes those bytes by hand.
 *
 * @module
 */

import { sockaddr_storage } from "../../ffi/structs.ts";

const FIELD = sockaddr_storage.field("ss_family");
const AT = FIELD.offset;
const WIDE = FIELD.size === 2;
// Host order, as the kernel writes it.
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** How many bytes a socket address needs before its family can be read. */
export const FAMILY_END: number = AT + FIELD.size;

/**
 * The family of a socket address.
 *
 * @param bytes the address.
 * @param length how many bytes the kernel reported (default: all of `bytes`).
 * @returns the `AF_*` value, or -1 when `length` is too short to hold one.
 */
export function familyOf(bytes: Uint8Array, length: number = bytes.length): number {
  if (length < FAMILY_END) return -1;
  if (!WIDE) return bytes[AT];
  return LITTLE ? bytes[AT] | (bytes[AT + 1] << 8) : (bytes[AT] << 8) | bytes[AT + 1];
}

/**
 * Writes a family into a socket address.
 *
 * @param to the address.
 * @param family the `AF_*` value.
 */
export function writeFamily(to: Uint8Array, family: number): void {
  if (!WIDE) {
    to[AT] = family;
    return;
  }
  to[AT + (LITTLE ? 0 : 1)] = family & 0xff;
  to[AT + (LITTLE ? 1 : 0)] = family >> 8;
}
