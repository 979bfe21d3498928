/**
 * `traceroute`, over this module: UDP probes with a rising TTL (hop limit),
 * and a raw ICMP (ICMPv6) socket reading the time-exceeded and
 * port-unreachable answers, matched to probes by the UDP header they embed.
 *
 *   deno task traceroute -- [-m max_hops] [-q probes] [-w wait] [-p port] [-4|-6] host
 *
 * Needs CAP_NET_RAW (root) for the raw socket: ICMP errors about UDP
 * datagrams never reach an unprivileged ping socket. Against 127.0.0.1 it
 * finishes at hop 1 (the host answers "port unreachable" itself). Needs
 * `--allow-ffi --allow-net=0.0.0.0:0,<address>` (`[::]:0` for IPv6).
 *
 * @module
 */

// node:util, not the import map's name: a file run by URL has no deno.json.
import { parseArgs } from "node:util";
import { type DatagramConn, listenDatagram, openRawSocket, type RawSocket } from "../mod.ts";
import { AF_INET, AF_INET6, IPPROTO_ICMP, IPPROTO_ICMPV6, SOCK_DGRAM } from "../ffi/mod.ts";
import { parseIcmp, parseIcmpv6, parseIPv4Packet } from "../net/packets.ts";
import { resolveHost } from "./resolve_host.ts";

const script = import.meta.filename ?? import.meta.url;
const USAGE = `usage: deno task traceroute -- [options] host
       deno run --allow-ffi --allow-net=0.0.0.0:0,ADDRESS ${script} [options] host

Sends UDP probes with a rising TTL (hop limit) and prints, per hop, who
answered and how fast, until host itself answers "port unreachable". Reads
the answers on a raw ICMP socket, so it needs CAP_NET_RAW (root).
Exit status: 0 when host was reached, 1 when not, 2 on errors.

options:
  -m, --max-hops N    highest TTL (default 30, 1..255)
  -q, --queries N     probes per hop (default 3, 1..10)
  -w, --wait SECS     how long to wait for each answer (default 1)
  -p, --port PORT     first destination port, one more per probe (default 33434)
  -4, --ipv4          IPv4 only (default: the first address of host)
  -6, --ipv6          IPv6 only
  -h, --help          print this and exit

permissions: --allow-ffi (--allow-ffi=<path of libc.so.6>, e.g.
  /usr/lib/${Deno.build.arch}-linux-gnu/libc.so.6, is enough for a numeric host;
  a name needs the plain flag)
  --allow-net=0.0.0.0:0,ADDRESS (IPv6: --allow-net=[::]:0,[ADDRESS])`;

function fail(message: string): never {
  console.error(`traceroute: ${message}`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    // `deno task traceroute -- -q 1 host` hands the "--" on in Deno 2.9;
    // parseArgs would end the options there.
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    allowPositionals: true,
    options: {
      "max-hops": { type: "string", short: "m", default: "30" },
      queries: { type: "string", short: "q", default: "3" },
      wait: { type: "string", short: "w", default: "1" },
      port: { type: "string", short: "p", default: "33434" },
      ipv4: { type: "boolean", short: "4", default: false },
      ipv6: { type: "boolean", short: "6", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (error) {
  fail(`${(error as Error).message}\nrun with --help for usage`);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (positionals.length !== 1) fail(`one host expected\nrun with --help for usage`);
const maxHops = Number(values["max-hops"]);
const queries = Number(values.queries);
const wait = Number(values.wait);
const basePort = Number(values.port);
if (!Number.isInteger(maxHops) || maxHops < 1 || maxHops > 255) fail("bad -m (1..255)");
if (!Number.isInteger(queries) || queries < 1 || queries > 10) fail("bad -q (1..10)");
if (!(wait > 0)) fail("bad -w");
if (!Number.isInteger(basePort) || basePort < 1 || basePort + maxHops * queries > 65535) {
  fail("bad -p");
}

const host = positionals[0];
let target: { family: number; address: string };
try {
  target = await resolveHost(host, values.ipv6 ? AF_INET6 : values.ipv4 ? AF_INET : 0, SOCK_DGRAM);
} catch (error) {
  fail(`${host}: ${(error as Error).message}`);
}
const v6 = target.family === AF_INET6;

let icmp: RawSocket;
try {
  icmp = openRawSocket({
    family: v6 ? "ipv6" : "ipv4",
    protocol: v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
    mode: "raw",
  });
} catch (error) {
  fail(`${(error as Error).message}\n(traceroute reads ICMP errors, which only a raw socket sees)`);
}
// Only time exceeded and destination unreachable.
icmp.setIcmpFilter(v6 ? [1, 3] : [3, 11]);
const udp: DatagramConn<Deno.NetAddr> = listenDatagram({
  transport: "udp",
  hostname: v6 ? "::" : "0.0.0.0",
  port: 0,
  ipv6Only: v6 ? true : undefined,
});
const localPort = udp.addr.port;

interface Answer {
  from: string;
  reached: boolean;
  description: string;
  at: number;
}
const waiting = new Map<number, (answer: Answer) => void>();

const reading = (async () => {
  for (;;) {
    let data: Uint8Array;
    let from: string;
    try {
      [data, { hostname: from }] = await icmp.receive();
    } catch (error) {
      if (icmp.closed) return;
      throw error;
    }
    const at = performance.now();
    const message = v6
      ? parseIcmpv6(data)
      : parseIcmp(icmp.headerIncluded ? parseIPv4Packet(data).payload : data);
    if (message.kind !== "time-exceeded" && message.kind !== "destination-unreachable") continue;
    const udpHeader = message.original?.udp;
    if (!udpHeader || udpHeader.sourcePort !== localPort) continue;
    const settle = waiting.get(udpHeader.destinationPort);
    if (!settle) continue;
    waiting.delete(udpHeader.destinationPort);
    settle({
      from,
      reached: message.kind === "destination-unreachable",
      description: message.description,
      at,
    });
  }
})();

function probe(ttl: number, port: number): Promise<Answer | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(port);
      resolve(null);
    }, wait * 1000);
    waiting.set(port, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    udp.setTTL(ttl);
    udp.send(new Uint8Array(32), { transport: "udp", hostname: target.address, port }).catch(
      () => {
        // ICMP errors reported on the UDP socket itself; the raw socket has them too.
      },
    );
  });
}

console.log(
  `traceroute to ${host} (${target.address}), ${maxHops} hops max, 32 byte packets`,
);
let port = basePort;
let done = false;
for (let ttl = 1; ttl <= maxHops && !done; ttl++) {
  let line = `${String(ttl).padStart(2)} `;
  let lastFrom = "";
  for (let q = 0; q < queries; q++) {
    const sentAt = performance.now();
    const answer = await probe(ttl, port++);
    if (answer === null) {
      line += " *";
      continue;
    }
    if (answer.from !== lastFrom) {
      line += ` ${answer.from}`;
      lastFrom = answer.from;
    }
    line += `  ${(answer.at - sentAt).toFixed(3)} ms`;
    if (answer.reached) {
      done = true;
      if (answer.description !== "port unreachable") line += ` !(${answer.description})`;
    }
  }
  console.log(line);
}
icmp.close();
udp.close();
await reading;
Deno.exit(done ? 0 : 1);
