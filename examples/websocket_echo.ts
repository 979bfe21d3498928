/**
 * A WebSocket echo server (`npm:ws` on `node:http`) on a listener made by
 * this module: every text and binary message comes back as it was sent.
 *
 *   deno run -A examples/websocket_echo.ts --hostname H --port P [--via handover|stream]
 *
 * Minimal flags: --allow-ffi --allow-net (and --allow-read --allow-env for npm:ws).
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
// A full specifier, not the import map's "ws": the example runs by URL too.
// deno-lint-ignore no-import-prefix
import { WebSocketServer } from "npm:ws@8";
import { listen, serveHttp } from "../mod.ts";

const USAGE =
  `usage: deno run -A examples/websocket_echo.ts --hostname H --port P [--via handover|stream]

Echoes WebSocket text and binary messages on a listener made by bsd-sockets.
  --hostname H    address to bind (default 127.0.0.1)
  --port P        port (default 8081; 0 picks a free one)
  --via ROUTE     handover (the descriptor goes to node:http, default) or stream (the adapter)`;

const argv = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
const { values } = parseArgs({
  args: argv,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8081" },
    via: { type: "string", default: "handover" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const via = values.via;
if (via !== "handover" && via !== "stream") {
  console.error(`--via must be handover or stream, got ${via}`);
  Deno.exit(2);
}

const listener = listen({ hostname: values.hostname, port: Number(values.port) });
const addr = listener.addr;
const served = serveHttp(listener, (_req, res) => {
  res.writeHead(426, { "content-type": "text/plain" });
  res.end("WebSocket only\n");
}, { via });
const wss = new WebSocketServer({ server: served.server });
// The part of ws's WebSocket used here (the package ships no types).
interface EchoSocket {
  on(event: "message", listener: (data: Uint8Array, isBinary: boolean) => void): void;
  on(event: "error", listener: () => void): void;
  send(data: Uint8Array, options: { binary: boolean }): void;
  terminate(): void;
}
wss.on("connection", (ws: EchoSocket) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => ws.terminate());
});
await served.listening;
console.log(`websocket echo listening on ${addr.hostname}:${addr.port} (${via})`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const ws of wss.clients as Set<EchoSocket>) ws.terminate();
    served.close().then(() => Deno.exit(0));
  });
}
