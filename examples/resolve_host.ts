/**
 * Host resolution shared by the ping and traceroute examples: a numeric
 * address as given, anything else through libc's `getaddrinfo`.
 *
 *   deno task resolve-host -- [-4|-6] host...
 *
 * Run by itself it prints the address each host resolves to. A name needs
 * `--allow-ffi`; a numeric address needs no permission.
 *
 * @module
 */

// node:util, not the import map's name: a file run by URL has no deno.json.
import { parseArgs } from "node:util";
import { AF_INET, AF_INET6, getaddrinfo, inet_ntop, inet_pton, SOCK_RAW } from "../ffi/mod.ts";

/** A resolved target: family and the address as text. */
export interface ResolvedHost {
  /** `AF_INET` or `AF_INET6`. */
  family: number;
  /** The numeric address. */
  address: string;
}

/**
 * Resolves `host` to one address, of `family` when it is not 0.
 *
 * @param host a name or numeric address.
 * @param family `AF_INET`, `AF_INET6`, or 0 for either.
 * @param socktype the socket type to ask the resolver for.
 * @returns the first matching address.
 * @throws {Error} when nothing matches.
 */
export async function resolveHost(
  host: string,
  family: number,
  socktype: number,
): Promise<ResolvedHost> {
  for (const candidate of [AF_INET, AF_INET6]) {
    if ((family === 0 || family === candidate) && inet_pton(candidate, host)) {
      return { family: candidate, address: host };
    }
  }
  const entries = await getaddrinfo(host, null, { family, socktype });
  const entry = entries.find((e) => e.family === AF_INET || e.family === AF_INET6);
  if (!entry) throw new Error(`no address for ${host}`);
  const bytes = entry.family === AF_INET
    ? entry.address.subarray(4, 8)
    : entry.address.subarray(8, 24);
  return { family: entry.family, address: inet_ntop(entry.family, bytes) };
}

if (import.meta.main) {
  const script = import.meta.filename ?? import.meta.url;
  const USAGE = `usage: deno task resolve-host -- [options] host...
       deno run --allow-ffi ${script} [options] host...

Prints "host family address" for each host: a numeric address as given,
a name resolved through libc's getaddrinfo, as ping and traceroute do.

options:
  -4, --ipv4          IPv4 only (default: the first address of either family)
  -6, --ipv6          IPv6 only
  -h, --help          print this and exit

permissions: --allow-ffi for a name (the plain flag: the lookup reads
  libc's result through pointers); a numeric address needs none`;

  let parsed;
  try {
    parsed = parseArgs({
      // `deno task resolve-host -- -4 host` hands the "--" on in Deno 2.9;
      // parseArgs would end the options there.
      args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
      allowPositionals: true,
      options: {
        ipv4: { type: "boolean", short: "4", default: false },
        ipv6: { type: "boolean", short: "6", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`resolve-host: ${(error as Error).message}\nrun with --help for usage`);
    Deno.exit(2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (positionals.length === 0) {
    console.error("resolve-host: at least one host expected\nrun with --help for usage");
    Deno.exit(2);
  }
  const family = values.ipv6 ? AF_INET6 : values.ipv4 ? AF_INET : 0;
  let failed = false;
  for (const host of positionals) {
    try {
      const found = await resolveHost(host, family, SOCK_RAW);
      console.log(`${host} ${found.family === AF_INET6 ? "IPv6" : "IPv4"} ${found.address}`);
    } catch (error) {
      failed = true;
      console.error(`resolve-host: ${host}: ${(error as Error).message}`);
    }
  }
  Deno.exit(failed ? 1 : 0);
}
