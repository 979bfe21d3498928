/**
 * An echo server over this module: every byte a client sends comes back.
 *
 *   deno task echo-server [--port 8080] [--hostname 0.0.0.0] [--workers N]
 *
 * The port also comes from `PORT`. With `--workers N`, N Workers each open
 * their own listener on the same port with `SO_REUSEPORT`, and the kernel
 * spreads connections across them (one reactor per Worker, one per core).
 *
 * @module
 */

import { parseArgs } from "@cli";
import { type Conn, listen } from "../mod.ts";

// One buffer for every connection of this thread: a connection holds no
// buffer while it waits (waitReadable), so 10,000 idle clients cost sockets,
// not 10,000 buffers. JavaScript runs one connection at a time, and bytes
// the kernel does not take at once are copied out before anything awaits.
const shared = new Uint8Array(64 * 1024);

/** Echoes one connection until the peer closes it. */
async function echo(conn: Conn): Promise<void> {
  try {
    for (;;) {
      // Resolves at once unless a read already found the socket empty. The
      // await also lets the other connections resumed with this one run
      // first, so the rest of a large message has usually arrived by the
      // time this connection reads again.
      await conn.waitReadable();
      const n = conn.tryRead(shared);
      if (n === null) break;
      if (n === 0) continue;
      const sent = conn.tryWrite(shared.subarray(0, n));
      if (sent < n) await conn.writeAll(shared.slice(sent, n));
    }
  } catch {
    // A peer that resets mid-stream ends only its own connection.
  } finally {
    conn.close();
  }
}

/** Serves on one listener until it is closed. */
export async function serve(
  hostname: string,
  port: number,
  reusePort: boolean,
  quiet = false,
): Promise<void> {
  const listener = listen({ hostname, port, reusePort });
  if (!quiet) {
    console.log(`echo server listening on ${listener.addr.hostname}:${listener.addr.port}`);
  }
  for await (const conn of listener) {
    conn.setNoDelay(true);
    echo(conn);
  }
}

if (import.meta.main) {
  const workerData = (globalThis as { name?: string }).name;
  if (workerData?.startsWith("echo-worker:")) {
    const [, hostname, port] = workerData.split(":");
    await serve(hostname, Number(port), true, true);
  } else {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        port: { type: "string", short: "p" },
        hostname: { type: "string", short: "H", default: "0.0.0.0" },
        workers: { type: "string", short: "w", default: "1" },
      },
    });
    const port = Number(values.port ?? Deno.env.get("PORT") ?? 8080);
    const workers = Number(values.workers);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`bad port ${values.port}`);
    }
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`bad --workers ${values.workers}`);
    }
    if (workers === 1) {
      await serve(values.hostname!, port, false);
    } else {
      for (let i = 0; i < workers; i++) {
        new Worker(import.meta.url, {
          type: "module",
          name: `echo-worker:${values.hostname}:${port}`,
        });
      }
      console.log(
        `echo server listening on ${values.hostname}:${port} with ${workers} workers (SO_REUSEPORT)`,
      );
    }
  }
}
