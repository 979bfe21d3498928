/**
 * A TLS client on a connection made by this module: sends `GET / HTTP/1.0`
 * and prints the response.
 *
 *   deno run -A examples/tls_client.ts --hostname H --port P [--ca FILE] [--servername NAME]
 *
 * The TCP connection is this module's (so it could be bound to a device or
 * carry any socket option first); TLS runs on it through `node:tls`, the
 * bridge for the sockets `Deno.startTls` cannot take.
 *
 * Minimal flags: --allow-ffi --allow-net (and --allow-read for --ca).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, connectTls } from "../mod.ts";

const USAGE =
  `usage: deno run -A examples/tls_client.ts --hostname H --port P [--ca FILE] [--servername NAME]

Connects with bsd-sockets, starts TLS, sends "GET / HTTP/1.0" and prints the response.
  --hostname H        server address or name (default 127.0.0.1)
  --port P            port (default 443)
  --ca FILE           trust this CA certificate (PEM) instead of the root store
  --servername NAME   name to verify and send as SNI (default: --hostname, or localhost for an IP)
  --alpn PROTO        offer this ALPN protocol`;

const argv = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
const { values } = parseArgs({
  args: argv,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "443" },
    ca: { type: "string" },
    servername: { type: "string" },
    alpn: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const hostname = values.hostname;
// SNI carries names, not addresses: an IP host verifies as localhost unless told.
const isIp = /^[\d.]+$/.test(hostname) || hostname.includes(":");
const servername = values.servername ?? (isIp ? "localhost" : hostname);

const conn = await connect({ hostname, port: Number(values.port) });
using tls = await connectTls(conn, {
  servername,
  ca: values.ca ? Deno.readTextFileSync(values.ca) : undefined,
  alpnProtocols: values.alpn ? [values.alpn] : undefined,
});
console.error(`connected to ${hostname}:${values.port} with ${tls.socket.getProtocol()}`);
await tls.write(new TextEncoder().encode(`GET / HTTP/1.0\r\nHost: ${servername}\r\n\r\n`));
// HTTP/1.0: the server closes after its answer, so read to the end.
await tls.readable.pipeTo(Deno.stdout.writable, { preventClose: true });
