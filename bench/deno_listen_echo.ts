/**
 * `Deno.listen` echo server, the baseline of bench/echo_bench.ts: the same
 * read/write loop as examples/echo_server.ts (64 KiB buffer, Nagle off), but
 * over Deno's built-in TCP instead of this module's FFI sockets.
 *
 *   deno run --allow-net bench/deno_listen_echo.ts --port P [--hostname 127.0.0.1]
 *
 * @module
 */

import { parseArgs } from "@cli";

const BUFFER_SIZE = 64 * 1024;

async function echo(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(BUFFER_SIZE);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // A peer that resets mid-stream ends only its own connection.
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", short: "p" },
      hostname: { type: "string", short: "H", default: "127.0.0.1" },
    },
  });
  const port = Number(values.port ?? 8080);
  const listener = Deno.listen({ hostname: values.hostname, port });
  const addr = listener.addr as Deno.NetAddr;
  console.log(`Deno.listen echo server listening on ${addr.hostname}:${addr.port}`);
  for await (const conn of listener) {
    conn.setNoDelay(true);
    echo(conn);
  }
}
