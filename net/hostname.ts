/**
 * Host names checked the way Deno 2.9 checks them before any permission
 * query or lookup (`Host::parse_for_query` in Deno's permissions crate), so
 * a string Deno refuses is refused here too, with Deno's words, as a
 * `TypeError` (Deno throws `URIError`; this module promises `TypeError`).
 *
 * What Deno accepts and how it names it in a permission message:
 * - `[v6]` (an optional `%zone` dropped): an IPv6 address; anything else in
 *   brackets, an IPv4 address included, is refused;
 * - a strict IPv4 (four decimal octets, no leading zeros) or IPv6 address,
 *   an optional `%zone` dropped; an IPv4-mapped IPv6 address names its IPv4;
 *   one trailing dot after an address is refused;
 * - a subnet (`10.0.0.0/8`);
 * - otherwise a domain name: labels of `A-Z a-z 0-9 - _ #`, each 1..255
 *   bytes, one trailing dot allowed and dropped, compared in lower case.
 *   Numeric spellings libc also reads as IPv4 (`127.1`, `0x7f000001`,
 *   `0177.0.0.1`, `2130706433`, `0`) are names here, as in Deno: the
 *   address they resolve to is checked after resolution.
 *
 * @module
 */

/** A host as Deno's permission checks see it. */
export type ParsedHost =
  | { kind: "ip"; family: 4 | 6; bytes: Uint8Array; display: string }
  | { kind: "subnet"; display: string }
  | { kind: "name"; display: string };

/**
 * Throws unless Deno would accept `hostname` for `Deno.connect`/`Deno.listen`.
 *
 * @param hostname the value given as `hostname`.
 * @returns `hostname`, unchanged.
 * @throws {TypeError} for a non-string, or with Deno's message for what Deno refuses.
 * @example
 * ```ts
 * import { validateHostname } from "./hostname.ts";
 * validateHostname("localhost"); // "localhost"
 * try {
 *   validateHostname("[127.0.0.1]");
 * } catch (e) {
 *   console.log((e as TypeError).message); // invalid IPv6 address: '[127.0.0.1]'
 * }
 * ```
 */
export function validateHostname(hostname: unknown): string {
  if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
  parseHost(hostname);
  return hostname;
}

/**
 * Parses a host the way Deno's permission checks do.
 *
 * @param hostname the host as written.
 * @returns what it is, and how Deno names it in messages (`display`).
 * @throws {TypeError} with Deno's message for what Deno refuses.
 * @example
 * ```ts
 * import { parseHost } from "./hostname.ts";
 * parseHost("LOCALHOST.").display; // "localhost"
 * parseHost("0:0:0:0:0:0:0:1").display; // "::1"
 * parseHost("::ffff:127.0.0.1").display; // "127.0.0.1"
 * ```
 */
export function parseHost(hostname: string): ParsedHost {
  const s = hostname;
  if (s.startsWith("[") && s.endsWith("]") && s.length >= 2) {
    const v6 = parseIpv6(stripZone(s.slice(1, -1)));
    if (v6 === null) throw new TypeError(`invalid IPv6 address: '${s}'`);
    return ipHost(6, v6);
  }
  const hasDot = s.endsWith(".");
  const bare = hasDot ? s.slice(0, -1) : s;
  const text = stripZone(bare);
  const v4 = parseIpv4(text);
  const v6 = v4 === null ? parseIpv6(text) : null;
  if (v4 !== null || v6 !== null) {
    if (hasDot) throw new TypeError(`invalid host: '${bare}'`);
    return v4 !== null ? ipHost(4, v4) : ipHost(6, v6!);
  }
  const subnet = parseSubnet(s);
  if (subnet !== null) return { kind: "subnet", display: subnet };
  return { kind: "name", display: parseDomain(s) };
}

function ipHost(family: 4 | 6, bytes: Uint8Array): ParsedHost {
  // Deno treats an IPv4-mapped IPv6 address as its IPv4 address.
  if (family === 6 && isV4Mapped(bytes)) {
    const v4 = bytes.slice(12);
    return { kind: "ip", family: 4, bytes: v4, display: formatIp(4, v4) };
  }
  return { kind: "ip", family, bytes, display: formatIp(family, bytes) };
}

function stripZone(text: string): string {
  const percent = text.indexOf("%");
  return percent === -1 ? text : text.slice(0, percent);
}

const encoder = new TextEncoder();
const LABEL_CHAR = /^[a-z0-9_#-]*$/;

/** The `fqdn` crate's rules as Deno configures it: returns the lower-case name without its dot. */
function parseDomain(s: string): string {
  const lower = s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  const body = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  if (body === "") throw new TypeError(`invalid empty host: '${s}'`);
  for (const label of body.split(".")) {
    if (label === "") throw new TypeError(`invalid host '${s}': empty label found in FQDN`);
    if (encoder.encode(label).byteLength > 255) {
      throw new TypeError(`invalid host '${s}': too long label found in FQDN`);
    }
    if (!LABEL_CHAR.test(label)) {
      throw new TypeError(`invalid host '${s}': invalid char found in FQDN`);
    }
  }
  return body;
}

/** `ipnet`'s `IpNet::from_str`: `<strict address>/<prefix>`, displayed as Rust displays it. */
function parseSubnet(s: string): string | null {
  const slash = s.indexOf("/");
  if (slash === -1) return null;
  const prefix = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return null;
  const length = Number(prefix);
  const v4 = parseIpv4(s.slice(0, slash));
  if (v4 !== null) return length <= 32 ? `${formatIp(4, v4)}/${length}` : null;
  const v6 = parseIpv6(s.slice(0, slash));
  if (v6 !== null) return length <= 128 ? `${formatIp(6, v6)}/${length}` : null;
  return null;
}

/**
 * Rust's strict IPv4 parser: four decimal octets, no leading zeros.
 *
 * @param text the text.
 * @returns the 4 bytes, or null.
 * @example
 * ```ts
 * import { parseIpv4 } from "./hostname.ts";
 * parseIpv4("127.0.0.1"); // Uint8Array [127, 0, 0, 1]
 * parseIpv4("127.1"); // null (libc's inet_aton reads it; Deno does not)
 * ```
 */
export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) return null;
    const value = Number(part);
    if (value > 255) return null;
    out[i] = value;
  }
  return out;
}

/**
 * Rust's IPv6 parser: hex groups of 1..4 digits, at most one `::`, an
 * optional strict IPv4 tail; no zone.
 *
 * @param text the text.
 * @returns the 16 bytes, or null.
 * @example
 * ```ts
 * import { parseIpv6 } from "./hostname.ts";
 * parseIpv6("::1")?.[15]; // 1
 * parseIpv6("fe80::1%1"); // null: strip the zone first
 * ```
 */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.length < 2) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (v4 === null) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  // An IPv4 tail may only end the address.
  if (halves.length === 2 && halves[0].includes(".")) return null;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const all = [...head, ...new Array(8 - total).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * An address as Rust (and so Deno's messages) writes it: dotted IPv4; IPv6
 * in lower-case hex with the longest run of two or more zero groups (the
 * first, on a tie) as `::`, an IPv4-mapped address as `::ffff:a.b.c.d`.
 *
 * @param family 4 or 6 (or `AF_INET`/`AF_INET6`).
 * @param bytes 4 or 16 bytes.
 * @returns the text, without brackets.
 * @example
 * ```ts
 * import { formatIp } from "./hostname.ts";
 * formatIp(4, new Uint8Array([127, 0, 0, 1])); // "127.0.0.1"
 * formatIp(6, new Uint8Array(16)); // "::"
 * ```
 */
export function formatIp(family: number, bytes: Uint8Array): string {
  if (bytes.length === 4 && family !== 6 && family !== 10) return bytes.join(".");
  if (isV4Mapped(bytes)) return `::ffff:${bytes.subarray(12).join(".")}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let bestStart = -1, bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (bestLength < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
