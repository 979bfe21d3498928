// Node's `net` echo server, a reference point for bench/echo_bench.ts.
//   node bench/node_echo.mjs --port P [--hostname 127.0.0.1]
// The idiomatic form: Nagle off, and the socket piped into itself, which
// writes every chunk back and pauses reading while the peer is not draining.

import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", short: "p" },
    hostname: { type: "string", short: "H", default: "127.0.0.1" },
  },
});
const port = Number(values.port ?? process.env.PORT ?? 8080);

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.listen(port, values.hostname, () => {
  const { address, port } = server.address();
  console.log(`node echo server listening on ${address}:${port}`);
});
