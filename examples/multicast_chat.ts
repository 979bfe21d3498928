/**
 * A chat over IPv4 multicast: every instance joins the group, sends each
 * line of standard input to it, and prints what the group says (its own
 * lines included, through multicast loopback).
 *
 *   deno task multicast-chat [--group 239.255.42.99] [--port 4242]
 *                            [--interface 127.0.0.1] [--name NAME]
 *
 * The interface defaults to 127.0.0.1, and outgoing multicast is pinned to
 * it (`IP_MULTICAST_IF`) with TTL 0: the chat never leaves the machine.
 * Run it in two terminals and type. End of input leaves the group.
 *
 * @module
 */

import { parseArgs } from "@cli";
import { listenDatagram } from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    group: { type: "string", short: "g", default: "239.255.42.99" },
    port: { type: "string", short: "p", default: "4242" },
    interface: { type: "string", short: "i", default: "127.0.0.1" },
    name: { type: "string", short: "n" },
  },
});

let name = values.name;
if (name === undefined) {
  try {
    name = Deno.env.get("USER") ?? `pid${Deno.pid}`;
  } catch {
    name = `pid${Deno.pid}`;
  }
}
const port = Number(values.port);
const conn = listenDatagram({
  transport: "udp",
  hostname: "0.0.0.0",
  port,
  reuseAddress: true,
  reusePort: true,
  loopback: true,
});
conn.setMulticastInterface(values.interface);
const membership = await conn.joinMulticastV4(values.group, values.interface);
await membership.setTTL(0);
console.log(
  `joined ${values.group} on ${values.interface}, port ${port}, as ${name} (from port ${conn.addr.port})`,
);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const printing = (async () => {
  for await (const [data, from] of conn) {
    console.log(`[${from.hostname}:${from.port}] ${decoder.decode(data)}`);
  }
})();

const destination = { transport: "udp" as const, hostname: values.group, port };
let pending = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  pending += chunk;
  let newline;
  while ((newline = pending.indexOf("\n")) !== -1) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    if (line.length > 0) await conn.send(encoder.encode(`${name}: ${line}`), destination);
  }
}
if (pending.length > 0) await conn.send(encoder.encode(`${name}: ${pending}`), destination);
// Give our last lines a moment to loop back, then leave.
await new Promise((resolve) => setTimeout(resolve, 200));
await membership.leave();
conn.close();
await printing;
console.log("left the group");
