/**
 * Sends a message (or standard input) to an echo server and prints the echo.
 *
 *   deno task echo-client -- [--hostname 127.0.0.1] [--port 8080] [message...]
 *
 * Without a message it sends standard input, half-closes the connection
 * (`closeWrite`) and prints everything the server sends back until it closes.
 * Needs `--allow-ffi` and `--allow-net=<hostname>:<port>`; `--help` needs nothing.
 *
 * @module
 */

// node:util, not the import map's name: a file run by URL has no deno.json.
import { parseArgs } from "node:util";
import { connect } from "../mod.ts";

const script = import.meta.filename ?? import.meta.url;
const USAGE = `usage: deno task echo-client -- [options] [message...]
       deno run --allow-ffi --allow-net=HOST:PORT ${script} [options] [message...]

Sends the message (or standard input, then a half-close) to a TCP echo
server and prints what comes back.

options:
  -H, --hostname HOST  server address (default 127.0.0.1)
  -p, --port PORT      server port (default 8080)
  -h, --help           print this and exit

permissions: --allow-ffi (or --allow-ffi=<path of libc.so.6>, e.g.
  /usr/lib/${Deno.build.arch}-linux-gnu/libc.so.6, for a numeric HOST)
  --allow-net=HOST:PORT (default 127.0.0.1:8080)`;

function fail(message: string): never {
  console.error(`echo-client: ${message}\nrun with --help for usage`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    // `deno task echo-client -- --port 8080` hands the "--" on in Deno 2.9;
    // parseArgs would end the options there and send the flags as text.
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    allowPositionals: true,
    options: {
      hostname: { type: "string", short: "H", default: "127.0.0.1" },
      port: { type: "string", short: "p", default: "8080" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (error) {
  fail((error as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const conn = await connect({ hostname: values.hostname, port: Number(values.port) });
const sending = (async () => {
  if (positionals.length > 0) {
    await conn.writeAll(new TextEncoder().encode(positionals.join(" ") + "\n"));
  } else {
    for await (const chunk of Deno.stdin.readable) await conn.writeAll(chunk);
  }
  await conn.closeWrite();
})();
const buf = new Uint8Array(64 * 1024);
for (;;) {
  const n = await conn.read(buf);
  if (n === null) break;
  await Deno.stdout.write(buf.subarray(0, n));
}
await sending;
conn.close();
