/**
 * Child of tests/arch_least_privilege_test.ts, run with nothing but
 * `--allow-ffi=<libc's path> --allow-net=127.0.0.1` (and, for the override
 * case, `--allow-env=BSD_SOCKETS_LIBC`): a listen/connect/write/read round
 * trip through mod.ts both ways, then a refused connect, whose error needs
 * errno and strerror (read without Deno.UnsafePointerView, which only a plain
 * `--allow-ffi` allows). Prints one JSON line.
 *
 * Run: deno run --allow-ffi=/usr/lib/x86_64-linux-gnu/libc.so.6 --allow-net=127.0.0.1
 *      tests/arch_least_privilege_child.ts
 *
 * @module
 */

import { connect, listen } from "../mod.ts";
import { libraryPath } from "../ffi/libc.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function readExactly(conn: { read(b: Uint8Array): Promise<number | null> }, n: number) {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) throw new Error(`end of stream after ${got} of ${n} bytes`);
    got += r;
  }
  return decoder.decode(buf);
}

const listener = listen({ hostname: "127.0.0.1", port: 0 });
const port = listener.addr.port;
const client = await connect({ hostname: "127.0.0.1", port });
const server = await listener.accept();
await client.write(encoder.encode("ping from the client"));
const atServer = await readExactly(server, 20);
await server.write(encoder.encode("pong from the server"));
const atClient = await readExactly(client, 20);
client.close();
server.close();
listener.close();

// The port was just released, so nothing listens there any more.
let refused: { name: string; message: string; code?: string } | null = null;
try {
  (await connect({ hostname: "127.0.0.1", port })).close();
} catch (e) {
  const error = e as Error & { code?: string };
  refused = { name: error.name, message: error.message, code: error.code };
}

console.log(JSON.stringify({ atServer, atClient, refused, libc: libraryPath() }));
