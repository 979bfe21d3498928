/**
 * `ping`, over this module's raw sockets: ICMP (or ICMPv6) echo requests,
 * one line per reply with its round-trip time, statistics at the end.
 *
 *   deno task ping -- [-c count] [-i interval] [-s size] [-W timeout] [-t ttl] [-4|-6]
 *                     [--mode raw|dgram|auto] host
 *
 * As root (CAP_NET_RAW) it uses a raw socket; without it, an unprivileged
 * ICMP ping socket where the sysctl net.ipv4.ping_group_range allows it
 * (`--mode` forces one). Exit status: 0 when a reply came, 1 when none,
 * 2 on errors — as iputils' ping. Needs `--allow-ffi
 * --allow-net=0.0.0.0:0,<address>` (`[::]:0` for IPv6); without CAP_NET_RAW,
 * `--allow-read=/proc/sys/net/ipv4/ping_group_range --allow-sys=gid` spare a
 * prompt when the refusal is explained.
 *
 * @module
 */

// node:util, not the import map's name: a file run by URL has no deno.json.
import { parseArgs } from "node:util";
import { openRawSocket, type RawMode, type RawSocket } from "../mod.ts";
import { AF_INET, AF_INET6, IPPROTO_ICMP, IPPROTO_ICMPV6, SOCK_RAW } from "../ffi/mod.ts";
import {
  buildIcmpEcho,
  buildIcmpv6Echo,
  parseIcmp,
  parseIcmpv6,
  parseIPv4Packet,
} from "../net/packets.ts";
import { resolveHost } from "./resolve_host.ts";

const script = import.meta.filename ?? import.meta.url;
const USAGE = `usage: deno task ping -- [options] host
       deno run --allow-ffi --allow-net=0.0.0.0:0,ADDRESS ${script} [options] host

Sends ICMP (ICMPv6) echo requests to host and prints each reply with its
round-trip time, then statistics. Uses a raw socket with CAP_NET_RAW (root),
else an unprivileged ICMP ping socket where net.ipv4.ping_group_range allows.
Exit status: 0 when a reply came, 1 when none, 2 on errors.

options:
  -c, --count N       requests to send (default 4)
  -i, --interval SECS time between requests (default 1, at least 0.002)
  -s, --size BYTES    payload size (default 56)
  -W, --timeout SECS  how long to wait for the last replies (default 2)
  -t, --ttl TTL       IP TTL / hop limit (default: the system's)
  -4, --ipv4          IPv4 only (default: the first address of host)
  -6, --ipv6          IPv6 only
  --mode MODE         raw, dgram (ping socket) or auto (default auto)
  -h, --help          print this and exit

permissions: --allow-ffi (--allow-ffi=<path of libc.so.6>, e.g.
  /usr/lib/${Deno.build.arch}-linux-gnu/libc.so.6, is enough for a numeric host;
  a name needs the plain flag)
  --allow-net=0.0.0.0:0,ADDRESS (IPv6: --allow-net=[::]:0,[ADDRESS])
  without CAP_NET_RAW, --allow-read=/proc/sys/net/ipv4/ping_group_range and
  --allow-sys=gid keep Deno from prompting while the refusal is explained`;

function fail(message: string): never {
  console.error(`ping: ${message}`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    // `deno task ping -- -c 2 host` hands the "--" on in Deno 2.9; parseArgs
    // would end the options there.
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    allowPositionals: true,
    options: {
      count: { type: "string", short: "c", default: "4" },
      interval: { type: "string", short: "i", default: "1" },
      size: { type: "string", short: "s", default: "56" },
      timeout: { type: "string", short: "W", default: "2" },
      ttl: { type: "string", short: "t" },
      ipv4: { type: "boolean", short: "4", default: false },
      ipv6: { type: "boolean", short: "6", default: false },
      mode: { type: "string", default: "auto" },
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
const count = Number(values.count);
const interval = Number(values.interval);
const size = Number(values.size);
const timeout = Number(values.timeout);
if (!Number.isInteger(count) || count < 1) fail(`bad count ${values.count}`);
if (!(interval >= 0.002)) fail(`bad interval ${values.interval} (at least 0.002 s)`);
if (!Number.isInteger(size) || size < 0 || size > 65507 - 8) fail(`bad size ${values.size}`);
if (!(timeout > 0)) fail(`bad timeout ${values.timeout}`);
const mode = values.mode as RawMode;
if (mode !== "raw" && mode !== "dgram" && mode !== "auto") fail(`bad mode ${values.mode}`);

const host = positionals[0];
let target: { family: number; address: string };
try {
  target = await resolveHost(host, values.ipv6 ? AF_INET6 : values.ipv4 ? AF_INET : 0, SOCK_RAW);
} catch (error) {
  fail(`${host}: ${(error as Error).message}`);
}
const v6 = target.family === AF_INET6;

let sock: RawSocket;
try {
  sock = openRawSocket({
    family: v6 ? "ipv6" : "ipv4",
    protocol: v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
    mode,
  });
} catch (error) {
  fail((error as Error).message);
}
if (sock.mode === "raw") {
  // Echo replies and the errors about our requests; not the requests we send to ourselves.
  sock.setIcmpFilter(v6 ? [129, 1, 2, 3] : [0, 3, 11]);
}
if (values.ttl !== undefined) sock.setTTL(Number(values.ttl));
const identifier = sock.identifier ?? (Deno.pid & 0xffff);
const payload = new Uint8Array(size);
for (let i = 0; i < size; i++) payload[i] = i & 0xff;

console.log(
  `PING ${host} (${target.address}) ${size}(${size + (v6 ? 48 : 28)}) bytes of data ` +
    `(${sock.mode === "raw" ? "raw socket" : "ICMP ping socket"}).`,
);

const sent = new Map<number, number>();
const rtts: number[] = [];
let transmitted = 0;
let errors = 0;
const started = performance.now();
let lastSend = started;
let allAnswered: (() => void) | undefined;

function outstanding(): number {
  return transmitted - rtts.length - errors;
}

const receiving = (async () => {
  const buf = new Uint8Array(65536);
  for (;;) {
    let data: Uint8Array;
    let from: string;
    try {
      const [d, addr] = await sock.receive(buf);
      data = d;
      from = addr.hostname;
    } catch (error) {
      if (sock.closed) return;
      throw error;
    }
    const now = performance.now();
    let ttl: number | undefined;
    let icmpBytes = data;
    if (sock.headerIncluded) {
      const packet = parseIPv4Packet(data);
      ttl = packet.header.ttl;
      icmpBytes = packet.payload;
    }
    const message = v6 ? parseIcmpv6(icmpBytes) : parseIcmp(icmpBytes);
    if (message.kind === "echo-reply") {
      if (message.identifier !== identifier) continue;
      const at = sent.get(message.sequence);
      if (at === undefined) continue;
      sent.delete(message.sequence);
      const rtt = now - at;
      rtts.push(rtt);
      console.log(
        `${icmpBytes.byteLength} bytes from ${from}: icmp_seq=${message.sequence}` +
          `${ttl === undefined ? "" : ` ttl=${ttl}`} time=${rtt.toFixed(3)} ms`,
      );
    } else if (message.kind === "destination-unreachable" || message.kind === "time-exceeded") {
      // An error about one of our requests: its original ICMP header is embedded.
      const original = message.original?.payload;
      if (!original || original.byteLength < 8) continue;
      const id = (original[4] << 8) | original[5];
      const seq = (original[6] << 8) | original[7];
      if (id !== identifier || !sent.has(seq)) continue;
      sent.delete(seq);
      errors++;
      console.log(`From ${from} icmp_seq=${seq} ${message.description}`);
    }
    if (transmitted === count && outstanding() === 0) allAnswered?.();
  }
})();

for (let seq = 1; seq <= count; seq++) {
  const message = v6
    ? buildIcmpv6Echo({ identifier, sequence: seq, payload })
    : buildIcmpEcho({ identifier, sequence: seq, payload });
  lastSend = performance.now();
  sent.set(seq, lastSend);
  try {
    await sock.send(message, target.address);
    transmitted++;
  } catch (error) {
    sent.delete(seq);
    console.error(`ping: sendto: ${(error as Error).message}`);
    transmitted++;
    errors++;
  }
  if (seq < count) await new Promise((r) => setTimeout(r, interval * 1000));
}
if (outstanding() > 0) {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeout * 1000);
    allAnswered = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}
const elapsed = Math.round(lastSend - started);
sock.close();
await receiving;

const received = rtts.length;
const loss = transmitted === 0 ? 0 : Math.round(((transmitted - received) / transmitted) * 100);
console.log(`\n--- ${host} ping statistics ---`);
console.log(
  `${transmitted} packets transmitted, ${received} received, ${
    errors ? `+${errors} errors, ` : ""
  }${loss}% packet loss, time ${elapsed}ms`,
);
if (received > 0) {
  const min = Math.min(...rtts);
  const max = Math.max(...rtts);
  const avg = rtts.reduce((a, b) => a + b, 0) / received;
  const mdev = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / received);
  console.log(
    `rtt min/avg/max/mdev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${
      mdev.toFixed(3)
    } ms`,
  );
}
Deno.exit(received > 0 ? 0 : 1);
