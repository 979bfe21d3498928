/**
 * A UDP echo server, and a client for it.
 *
 *   deno task udp-echo -- [--hostname 127.0.0.1] [--port 9000]                 # server
 *   deno task udp-echo -- --client [--hostname 127.0.0.1] --port 9000 [message...]
 *
 * The server sends every datagram back to its sender. The client uses a
 * connected UDP socket: it sends each message (or each line of standard
 * input) and prints the echo, or a timeout after `--timeout` seconds.
 * The server needs `--allow-ffi --allow-net=<hostname>` (it answers every
 * port of its peers), the client `--allow-ffi --allow-net=<hostname>:<port>`.
 *
 * @module
 */

// node:util, not the import map's name: a file run by URL has no deno.json.
import { parseArgs } from "node:util";
import { connectDatagram, listenDatagram } from "../mod.ts";

const script = import.meta.filename ?? import.meta.url;
const USAGE = `usage: deno task udp-echo -- [options]                             (server)
       deno task udp-echo -- --client [options] [message...]          (client)
       deno run --allow-ffi --allow-net=HOST ${script} [options]
       deno run --allow-ffi --allow-net=HOST:PORT ${script} --client [options] [message...]

The server sends every datagram back to its sender. The client sends the
message (or each line of standard input) on a connected UDP socket and
prints each echo.

options:
  -H, --hostname HOST  address to listen on, or of the server (default 127.0.0.1)
  -p, --port PORT      port to listen on, or of the server (default 9000)
  -c, --client         be the client
  -t, --timeout SECS   client: how long to wait for each echo (default 2)
  -h, --help           print this and exit

permissions: --allow-ffi (or --allow-ffi=<path of libc.so.6>, e.g.
  /usr/lib/${Deno.build.arch}-linux-gnu/libc.so.6, for a numeric HOST)
  server: --allow-net=HOST (it answers its peers on their own ports; a plain
  --allow-net when HOST is not loopback); client: --allow-net=HOST:PORT
  (default 127.0.0.1:9000)`;

function fail(message: string): never {
  console.error(`udp-echo: ${message}\nrun with --help for usage`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    // `deno task udp-echo -- --port 9000` hands the "--" on in Deno 2.9;
    // parseArgs would end the options there.
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    allowPositionals: true,
    options: {
      hostname: { type: "string", short: "H", default: "127.0.0.1" },
      port: { type: "string", short: "p", default: "9000" },
      client: { type: "boolean", short: "c", default: false },
      timeout: { type: "string", short: "t", default: "2" },
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
const port = Number(values.port);

if (!values.client) {
  const server = listenDatagram({ transport: "udp", hostname: values.hostname, port });
  console.log(`udp echo server listening on ${server.addr.hostname}:${server.addr.port}`);
  Deno.addSignalListener("SIGINT", () => {
    server.close();
  });
  for await (const [data, from] of server) {
    await server.send(data, from);
  }
} else {
  const conn = await connectDatagram({ transport: "udp", hostname: values.hostname, port });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const timeout = Number(values.timeout) * 1000;
  let failures = 0;

  const roundTrip = async (text: string) => {
    await conn.send(encoder.encode(text));
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const reply = await Promise.race([
        conn.receive(),
        new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeout)),
      ]);
      if (reply === null) {
        failures++;
        console.error(`no echo within ${values.timeout} s`);
      } else {
        console.log(decoder.decode(reply[0]));
      }
    } catch (error) {
      failures++;
      console.error(`udp-echo: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  };

  if (positionals.length > 0) {
    await roundTrip(positionals.join(" "));
  } else {
    let pending = "";
    for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf("\n")) !== -1) {
        await roundTrip(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
    if (pending.length > 0) await roundTrip(pending);
  }
  conn.close();
  Deno.exit(failures === 0 ? 0 : 1);
}
