/**
 * A chat over IPv4 multicast: every instance joins the group, sends each
 * line of standard input to it, and prints what the group says (its own
 * lines included, through multicast loopback).
 *
 *   deno task multicast-chat -- [--group 239.255.42.99] [--port 4242]
 *                               [--interface 127.0.0.1] [--name NAME]
 *
 * The interface defaults to 127.0.0.1, and outgoing multicast is pinned to
 * it (`IP_MULTICAST_IF`) with TTL 0: the chat never leaves the machine.
 * Run it in two terminals and type. End of input leaves the group.
 * Needs `--allow-ffi --allow-net=0.0.0.0:<port>,<group>:<port>`;
 * `--allow-env=USER` lets the name default to the user's.
 *
 * @module
 */

// node:util, not the import map's name: a file run by URL has no deno.json.
import { parseArgs } from "node:util";
import { listenDatagram } from "../mod.ts";

const script = import.meta.filename ?? import.meta.url;
const USAGE = `usage: deno task multicast-chat -- [options]
       deno run --allow-ffi --allow-net=0.0.0.0:PORT,GROUP:PORT [--allow-env=USER] ${script} [options]

Joins an IPv4 multicast group on one interface, sends each line of standard
input to the group and prints what the group says (its own lines too).
Outgoing multicast stays on the interface with TTL 0. End of input leaves.

options:
  -g, --group GROUP          multicast group (default 239.255.42.99)
  -p, --port PORT            port of the group (default 4242)
  -i, --interface ADDRESS    interface address to join on (default 127.0.0.1)
  -n, --name NAME            name before each line (default $USER, else pid<N>)
  -h, --help                 print this and exit

permissions: --allow-ffi (or --allow-ffi=<path of libc.so.6>, e.g.
  /usr/lib/${Deno.build.arch}-linux-gnu/libc.so.6)
  --allow-net=0.0.0.0:PORT,GROUP:PORT (default 0.0.0.0:4242,239.255.42.99:4242)
  --allow-env=USER only for the default name`;

function fail(message: string): never {
  console.error(`multicast-chat: ${message}\nrun with --help for usage`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    // `deno task multicast-chat -- --port 4242` hands the "--" on in Deno
    // 2.9; parseArgs would end the options there.
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    options: {
      group: { type: "string", short: "g", default: "239.255.42.99" },
      port: { type: "string", short: "p", default: "4242" },
      interface: { type: "string", short: "i", default: "127.0.0.1" },
      name: { type: "string", short: "n" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (error) {
  fail((error as Error).message);
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

let name = values.name;
// Ask first: without --allow-env, Deno.env.get would prompt on a terminal.
if (
  name === undefined &&
  Deno.permissions.querySync({ name: "env", variable: "USER" }).state === "granted"
) {
  name = Deno.env.get("USER");
}
name ??= `pid${Deno.pid}`;
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
