/**
 * Network interface names and indexes through libc: `if_nameindex` (the
 * whole list), `if_indextoname`, and `if_nametoindex` (from `resolve.ts`).
 * The list is walked by address with libc's memcpy and strlen, bounded, so
 * `--allow-ffi=<libc path>` is enough.
 *
 * @module
 */

import { checkInteger } from "./checks.ts";
import { ENODEV, ENXIO, IF_NAMESIZE } from "./constants.ts";
import { errno, libc } from "./libc.ts";
import { SocketError } from "./errors.ts";
import { if_nametoindex } from "./resolve.ts";

export { if_nametoindex };

/**
 * One network interface of {@linkcode if_nameindex}: its index and its name.
 *
 * @category Lookups
 * @example
 * ```ts
 * import { if_nameindex, type NetworkInterface } from "./interfaces.ts";
 * const lo: NetworkInterface | undefined = if_nameindex().find((i) => i.name === "lo");
 * lo?.index; // 1 on most Linux systems
 * ```
 */
export interface NetworkInterface {
  /** The interface index (`if_index`), at least 1. */
  index: number;
  /** The interface name (`if_name`), at most `IF_NAMESIZE - 1` (15) bytes. */
  name: string;
}

// struct if_nameindex { unsigned int if_index; char *if_name; } on LP64.
const ENTRY_SIZE = 16;
const NAME_AT = 8;
// More interfaces than a host has; a corrupt list must not loop forever.
const MAX_INTERFACES = 65536;
const decoder = new TextDecoder();

/**
 * `if_nameindex(3)`: every network interface, with its index, in the order
 * libc lists them. The list is copied out and freed by `if_freenameindex`.
 *
 * @category Lookups
 * @returns the interfaces.
 * @throws {SocketError} when libc cannot list them (`if_nameindex` returned NULL).
 * @example
 * ```ts
 * import { if_nameindex } from "./interfaces.ts";
 * for (const { index, name } of if_nameindex()) console.log(index, name); // 1 lo ...
 * ```
 */
export function if_nameindex(): NetworkInterface[] {
  const c = libc();
  const head = BigInt(c.if_nameindex_address());
  if (head === 0n) throw new SocketError(errno(), "if_nameindex");
  const out: NetworkInterface[] = [];
  const entryBytes = new Uint8Array(ENTRY_SIZE);
  const entry = new DataView(entryBytes.buffer);
  try {
    for (let n = 0; n < MAX_INTERFACES; n++) {
      c.memcpy_from_address(entryBytes, head + BigInt(n * ENTRY_SIZE), ENTRY_SIZE);
      const index = entry.getUint32(0, true);
      const nameAt = entry.getBigUint64(NAME_AT, true);
      if (index === 0 && nameAt === 0n) break; // the terminating entry
      let name = "";
      if (nameAt !== 0n) {
        const bytes = new Uint8Array(Math.min(c.strlen_address(nameAt), IF_NAMESIZE - 1));
        if (bytes.byteLength > 0) c.memcpy_from_address(bytes, nameAt, bytes.byteLength);
        name = decoder.decode(bytes);
      }
      out.push({ index, name });
    }
  } finally {
    c.if_freenameindex_address(head);
  }
  return out;
}

/**
 * `if_indextoname(3)`: the name of the interface with this index.
 *
 * @category Lookups
 * @param index an interface index (a 32-bit unsigned integer).
 * @returns the name, or null when there is no such interface (`ENXIO`).
 * @throws {RangeError | TypeError} when `index` is not a 32-bit unsigned integer.
 * @throws {SocketError} for any other failure.
 * @example
 * ```ts
 * import { if_indextoname, if_nametoindex } from "./interfaces.ts";
 * if_indextoname(if_nametoindex("lo")); // "lo"
 * if_indextoname(0); // null: no interface has index 0
 * ```
 */
export function if_indextoname(index: number): string | null {
  const checked = checkInteger(index, "index", 0, 0xffffffff);
  const buffer = new Uint8Array(IF_NAMESIZE);
  const result = libc().if_indextoname(checked, buffer);
  if (result === null) {
    const code = errno();
    if (code === ENXIO || code === ENODEV) return null;
    throw new SocketError(code, "if_indextoname");
  }
  const nul = buffer.indexOf(0);
  return decoder.decode(nul === -1 ? buffer : buffer.subarray(0, nul));
}
