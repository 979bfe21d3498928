/**
 * An HTTPS server with `node:https` on a listener made by this module, with
 * keep-alive: `GET /` answers 200.
 *
 *   deno run -A examples/https_server.ts --hostname 127.0.0.1 --port 8443 \
 *     --cert cert.pem --key key.pem [--via handover|stream] [--reuse-port]
 *
 * The listener is this module's (so it can take options Deno's has not:
 * SO_REUSEPORT across Workers, a bound device...). `--via handover` (the
 * default) hands its descriptor to Node, which serves at native speed;
 * `--via stream` keeps it and feeds Node each connection through the
 * stream adapter.
 *
 * Minimal flags: --allow-ffi --allow-net --allow-read (cert and key).
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { listen, serveHttps } from "../mod.ts";

const USAGE =
  `usage: deno run -A examples/https_server.ts --hostname H --port P --cert CERT --key KEY
                 [--via handover|stream] [--reuse-port]

Serves HTTPS on a listener made by bsd-sockets; GET / answers 200 (keep-alive).
  --hostname H    address to bind (default 127.0.0.1)
  --port P        port (default 8443; 0 picks a free one)
  --cert CERT     certificate chain, PEM
  --key KEY       private key, PEM
  --via ROUTE     handover (the descriptor goes to node:https, default) or stream (the adapter)
  --reuse-port    set SO_REUSEPORT on the listener`;

// Deno 2.9's `deno task x -- args` passes the "--" on: skip it.
const argv = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
const { values } = parseArgs({
  args: argv,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8443" },
    cert: { type: "string" },
    key: { type: "string" },
    via: { type: "string", default: "handover" },
    "reuse-port": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!values.cert || !values.key) {
  console.error(`--cert and --key are required\n\n${USAGE}`);
  Deno.exit(2);
}
const via = values.via;
if (via !== "handover" && via !== "stream") {
  console.error(`--via must be handover or stream, got ${via}`);
  Deno.exit(2);
}
const port = Number(values.port);

const listener = listen({ hostname: values.hostname, port, reusePort: values["reuse-port"] });
const addr = listener.addr;
const served = serveHttps(listener, {
  cert: Deno.readTextFileSync(values.cert),
  key: Deno.readTextFileSync(values.key),
  via,
}, (req, res) => {
  if (req.method === "GET" && (req.url === "/" || req.url?.startsWith("/?"))) {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(`hello over TLS from bsd-sockets (${via})\n`);
  } else {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("not found\n");
  }
});
await served.listening;
console.log(`https server listening on ${addr.hostname}:${addr.port} (${via})`);

// Ctrl-C or SIGTERM: stop accepting, let open requests finish.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => served.close().then(() => Deno.exit(0)));
}
